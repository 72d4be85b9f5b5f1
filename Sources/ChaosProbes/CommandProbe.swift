public import ChaosCore
import ChaosLinux

/// Runs an argv (never through a shell) per observation: the exit status and the start of standard
/// output. A command that times out is a `failure`; one that cannot start is `blind`.
public struct CommandProbe: ProbeRunner {
    public let spec: ProbeSpec

    public init(spec: ProbeSpec) { self.spec = spec }

    public func observe() async -> Observation {
        let watch = Stopwatch()
        let argv = spec.command ?? []
        let result: CommandResult
        do {
            result = try await CommandRunner.run(argv, timeout: spec.timeout.duration)
        } catch {
            if Task.isCancelled { return watch.cancelled(spec) }
            return watch.blind(spec, error.message)
        }
        if Task.isCancelled { return watch.cancelled(spec) }
        guard let status = result.status else {
            var o = watch.failure(spec, "timed out after \(spec.timeout)")
            o.body = BodyReader.text(Array(result.stdout.utf8))
            return o
        }
        var o = watch.observation(spec)
        o.exitCode = Int(status)
        o.body = BodyReader.text(Array(result.stdout.utf8))
        return o
    }
}
