import AsyncHTTPClient
public import ChaosCore
import Foundation
import NIOCore
import NIOHTTP1

/// One HTTP request per observation: the status and the start of the body, or why there was no
/// answer (`failure`); a URL or request that cannot be made is `blind`.
public struct HTTPProbe: ProbeRunner {
    public let spec: ProbeSpec
    let client: HTTPClient

    init(spec: ProbeSpec, client: HTTPClient) {
        self.spec = spec
        self.client = client
    }

    public func observe() async -> Observation {
        let watch = Stopwatch()
        let request: HTTPClientRequest
        switch makeRequest() {
        case .success(let r): request = r
        case .failure(let e): return watch.blind(spec, e.message)
        }
        let client = self.client
        let timeout = spec.timeout
        do {
            let answer = try await Deadline.run(within: timeout.duration) {
                try await HTTPExchange.perform(client, request, timeout: timeout, limit: Observation.bodyLimit)
            }
            if Task.isCancelled { return watch.cancelled(spec) }
            guard let answer else { return watch.failure(spec, "timed out after \(timeout)") }
            var o = watch.observation(spec)
            o.status = answer.status
            o.body = BodyReader.text(answer.body)
            return o
        } catch {
            if Task.isCancelled { return watch.cancelled(spec) }
            switch NetworkTrouble.classify(error, timeout: timeout) {
            case .failure(let reason): return watch.failure(spec, reason)
            case .blind(let reason): return watch.blind(spec, reason)
            }
        }
    }

    /// The request of the spec, or why it cannot be made.
    func makeRequest() -> Result<HTTPClientRequest, ChaosError> {
        let url = spec.url ?? ""
        guard HTTPExchange.isHTTPURL(url) else {
            return .failure(ChaosError.usage("probe.url", "'\(url)' is not a valid http:// or https:// URL"))
        }
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: (spec.method ?? "GET").uppercased())
        for (name, value) in (spec.headers ?? [:]).sorted(by: { $0.key < $1.key }) {
            request.headers.add(name: name, value: value)
        }
        if let body = spec.body {
            request.body = .bytes(ByteBuffer(string: body))
        }
        return .success(request)
    }
}

/// One request and the start of its answer, shared by the HTTP and Prometheus probes.
enum HTTPExchange {
    struct Answer: Sendable {
        var status: Int
        var body: [UInt8]
    }

    /// Sends `request` and reads at most `limit` bytes of the body. The client's deadline covers the
    /// response head only; callers bound the whole exchange with ``Deadline``.
    static func perform(_ client: HTTPClient, _ request: HTTPClientRequest, timeout: ChaosDuration, limit: Int) async throws -> Answer {
        let response = try await client.execute(request, timeout: .milliseconds(timeout.milliseconds))
        let body = try await BodyReader.read(response.body, limit: limit)
        return Answer(status: Int(response.status.code), body: body)
    }

    /// Whether `text` is an absolute http(s) URL with a host.
    static func isHTTPURL(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty else { return false }
        return true
    }
}
