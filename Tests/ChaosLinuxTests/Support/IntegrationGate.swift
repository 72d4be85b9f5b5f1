import Glibc
import Testing

/// Whether tests that change the real system may run here.
///
/// Real-system tests run only when the caller asks for them with `CHAOS_INTEGRATION=1` and runs as
/// root; each suite adds what else it needs (an executable, cgroups). Use the traits below:
///
/// ```swift
/// @Suite(.integration) struct NftTests { ... }
/// @Suite(.systemdUserManager) struct SystemdManagerTests { ... }
/// ```
enum IntegrationGate {
    /// `CHAOS_INTEGRATION=1` is set.
    static let requested: Bool = environment("CHAOS_INTEGRATION") == "1"

    /// The effective user is root.
    static let isRoot: Bool = geteuid() == 0

    /// Root, and `CHAOS_INTEGRATION=1`.
    static let integration: Bool = requested && isRoot

    /// `scripts/user-manager.sh` can run a systemd user manager here: integration is on, and systemd,
    /// unshare, mount, systemctl and busctl are installed, and a cgroup hierarchy is mounted.
    static let systemdUserManager: Bool = integration
        && (isExecutable("/lib/systemd/systemd") || isExecutable("/usr/lib/systemd/systemd"))
        && executableOnPath("unshare") && executableOnPath("mount")
        && executableOnPath("systemctl") && executableOnPath("busctl")
        && access("/sys/fs/cgroup", F_OK) == 0

    /// The value of an environment variable.
    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// Whether `path` exists and is executable by us.
    static func isExecutable(_ path: String) -> Bool {
        access(path, X_OK) == 0
    }

    /// Whether an executable called `name` is in one of the `PATH` directories (or the usual ones).
    static func executableOnPath(_ name: String) -> Bool {
        let path = environment("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        return path.split(separator: ":").contains { isExecutable("\($0)/\(name)") }
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs only as root with `CHAOS_INTEGRATION=1`.
    static var integration: Self {
        .enabled(if: IntegrationGate.integration, "needs root and CHAOS_INTEGRATION=1")
    }

    /// Runs only where `scripts/user-manager.sh` can start a systemd user manager.
    static var systemdUserManager: Self {
        .enabled(if: IntegrationGate.systemdUserManager,
                 "needs root, CHAOS_INTEGRATION=1, systemd, util-linux and cgroups")
    }
}
