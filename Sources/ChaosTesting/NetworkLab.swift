import Foundation
import Glibc

/// Throwaway hosts for network tests: network namespaces joined by veth pairs or a bridge, with
/// addresses that exist only inside them. Nothing touches the machine's own interfaces. Every
/// namespace is named with a per-lab prefix and deleted by `destroy()` (also on a later run if a test
/// process died: `sweep()` removes labs whose owner pid is gone).
public final class NetworkLab: @unchecked Sendable {
    /// A command's outcome.
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public let prefix: String
    public private(set) var namespaces: [String] = []

    /// - Parameter name: a short tag for the namespace names (`chaos-<tag>-<random>-<host>`).
    public init(_ name: String) {
        NetworkLab.sweep()
        prefix = "cz\(getpid())-\(name.prefix(6))\(UInt16.random(in: 0...UInt16.max))"
    }

    /// The namespace name of `host` in this lab.
    public func ns(_ host: String) -> String { "\(prefix)-\(host)" }

    /// Creates hosts `a` and `b` joined by a veth pair, with `a` at `addressA` and `b` at `addressB`
    /// (CIDR, e.g. `10.77.0.1/24`), loopback up in both.
    public func pair(_ a: String, _ addressA: String, _ b: String, _ addressB: String) throws {
        for h in [a, b] { try addHost(h) }
        let va = "v\(UInt32.random(in: 0...0xFFFFFF))", vb = "v\(UInt32.random(in: 0...0xFFFFFF))"
        try ip(["link", "add", va, "netns", ns(a), "type", "veth", "peer", "name", vb, "netns", ns(b)])
        try ip(["-n", ns(a), "link", "set", va, "name", "eth0"])
        try ip(["-n", ns(b), "link", "set", vb, "name", "eth0"])
        try ip(["-n", ns(a), "addr", "add", addressA, "dev", "eth0"])
        try ip(["-n", ns(b), "addr", "add", addressB, "dev", "eth0"])
        try ip(["-n", ns(a), "link", "set", "eth0", "up"])
        try ip(["-n", ns(b), "link", "set", "eth0", "up"])
    }

    /// Creates hosts on one bridge (which lives in its own namespace `switch`), each with one address.
    public func bridge(_ hosts: [(name: String, address: String)]) throws {
        try addHost("switch")
        try ip(["-n", ns("switch"), "link", "add", "br0", "type", "bridge"])
        try ip(["-n", ns("switch"), "link", "set", "br0", "up"])
        for (i, h) in hosts.enumerated() {
            try addHost(h.name)
            let port = "p\(i)"
            try ip(["link", "add", "eth0", "netns", ns(h.name), "type", "veth", "peer", "name", port, "netns", ns("switch")])
            try ip(["-n", ns("switch"), "link", "set", port, "master", "br0"])
            try ip(["-n", ns("switch"), "link", "set", port, "up"])
            try ip(["-n", ns(h.name), "addr", "add", h.address, "dev", "eth0"])
            try ip(["-n", ns(h.name), "link", "set", "eth0", "up"])
        }
    }

    /// Adds an empty namespace with loopback up.
    public func addHost(_ host: String) throws {
        try ip(["netns", "add", ns(host)])
        namespaces.append(ns(host))
        try ip(["-n", ns(host), "link", "set", "lo", "up"])
        let owner = "/run/netns/.\(ns(host)).owner"
        try? "\(getpid())".write(toFile: owner, atomically: true, encoding: .utf8)
    }

    /// Runs argv inside `host`'s namespace (`ip netns exec`), waiting at most `timeout` seconds.
    @discardableResult
    public func run(_ host: String, _ argv: [String], env: [String: String] = [:], timeout: TimeInterval = 30) throws -> Result {
        try Self.exec(["/usr/sbin/ip", "netns", "exec", ns(host)] + argv, env: env, timeout: timeout)
    }

    /// Starts argv inside `host`'s namespace in the background; its output is appended to `log`, if given.
    public func start(_ host: String, _ argv: [String], env: [String: String] = [:], log: String? = nil) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", ns(host)] + argv
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        var output = FileHandle.nullDevice
        if let log {
            if !FileManager.default.fileExists(atPath: log) { FileManager.default.createFile(atPath: log, contents: nil) }
            if let h = FileHandle(forWritingAtPath: log) { h.seekToEndOfFile(); output = h }
        }
        p.standardOutput = output
        p.standardError = output
        try p.run()
        return p
    }

    /// Deletes every namespace of the lab (processes inside die with their last reference... so kill
    /// them first: every pid in each namespace is SIGKILLed).
    public func destroy() {
        for n in namespaces {
            if let r = try? Self.exec(["/usr/sbin/ip", "netns", "pids", n], timeout: 5) {
                for pid in r.stdout.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
            }
            _ = try? Self.exec(["/usr/sbin/ip", "netns", "del", n], timeout: 5)
            unlink("/run/netns/.\(n).owner")
        }
        namespaces = []
    }

    deinit { destroy() }

    /// Removes namespaces left by test processes that died before cleaning up.
    public static func sweep() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
        for name in names where name.hasPrefix(".cz") && name.hasSuffix(".owner") {
            let n = String(name.dropFirst().dropLast(6))
            guard let text = try? String(contentsOfFile: "/run/netns/\(name)", encoding: .utf8), let pid = Int32(text),
                  kill(pid, 0) != 0 else { continue }
            if let r = try? exec(["/usr/sbin/ip", "netns", "pids", n], timeout: 5) {
                for p in r.stdout.split(separator: "\n").compactMap({ Int32($0) }) { kill(p, SIGKILL) }
            }
            _ = try? exec(["/usr/sbin/ip", "netns", "del", n], timeout: 5)
            unlink("/run/netns/\(name)")
        }
    }

    private func ip(_ args: [String]) throws {
        let r = try Self.exec(["/usr/sbin/ip"] + args, timeout: 10)
        guard r.status == 0 else { throw LabError(description: "ip \(args.joined(separator: " ")): \(r.stderr)") }
    }

    public struct LabError: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Runs argv (no shell) and collects its output.
    public static func exec(_ argv: [String], env: [String: String] = [:], timeout: TimeInterval) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        if !env.isEmpty {
            var environment = ProcessInfo.processInfo.environment
            for (k, v) in env { environment[k] = v }
            p.environment = environment
        }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read while it runs so a chatty command cannot fill the pipe and stall.
        final class Box: @unchecked Sendable { var data = Data() }
        let outBox = Box(), errBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { outBox.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(2_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        _ = group.wait(timeout: .now() + 5)
        return Result(status: p.terminationStatus, stdout: String(decoding: outBox.data, as: UTF8.self), stderr: String(decoding: errBox.data, as: UTF8.self))
    }
}
