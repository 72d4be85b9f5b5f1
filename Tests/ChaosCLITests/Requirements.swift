import Foundation
import Testing

/// What an integration suite needs from the host: root with CHAOS_INTEGRATION=1, and the Debian tools
/// it runs. A missing tool skips the suite with the package to install (`scripts/test.sh` installs them
/// all as root), never fails it.
enum Requirements {
    /// Tools the suites run, and the Debian package of each.
    static let packages: [String: String] = [
        "/usr/sbin/nft": "nftables", "/usr/sbin/tc": "iproute2", "/usr/sbin/ip": "iproute2", "/usr/bin/ss": "iproute2",
        "/usr/sbin/iptables-legacy": "iptables", "/usr/sbin/ip6tables-legacy": "iptables", "/usr/bin/curl": "curl",
        "/usr/bin/python3": "python3", "/usr/bin/iperf3": "iperf3", "/usr/bin/ping": "iputils-ping", "/usr/bin/openssl": "openssl",
        "/usr/sbin/haproxy": "haproxy", "/usr/bin/redis-server": "redis-server", "/usr/bin/redis-sentinel": "redis-sentinel",
        "/usr/bin/chromium": "chromium", "/usr/bin/chromedriver": "chromium-driver", "/usr/bin/dot": "graphviz",
        "/usr/bin/fallocate": "util-linux", "/usr/bin/unshare": "util-linux", "/usr/bin/socat": "socat",
    ]

    /// The tools in `paths` that are not installed.
    static func missing(_ paths: [String]) -> [String] { paths.filter { !FileManager.default.isExecutableFile(atPath: $0) } }

    /// `.enabled` when running as root with CHAOS_INTEGRATION=1 and every tool is there; the skip says what is missing.
    static func integration(_ paths: String...) -> ConditionTrait {
        let absent = missing(paths)
        if !Harness.integration { return .enabled(if: false, "needs root and CHAOS_INTEGRATION=1") }
        let install = Set(absent.map { packages[$0] ?? $0 }).sorted().joined(separator: " ")
        return .enabled(if: absent.isEmpty, Comment(rawValue: "needs \(absent.joined(separator: ", ")): apt-get install \(install) (scripts/test.sh installs every package the tests use)"))
    }
}
