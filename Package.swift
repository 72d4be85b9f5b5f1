// swift-tools-version: 6.2
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "chaos",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "chaos", targets: ["chaos"]),
        .executable(name: "chaos-agent", targets: ["chaos-agent"]),
        .executable(name: "chaos-remote", targets: ["chaos-remote"]),
        .library(name: "ChaosCore", targets: ["ChaosCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // Values only: models, parsing, validation, selection math, policies. No I/O.
        .target(
            name: "ChaosCore",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: strictSettings
        ),
        // libsystemd (sd-bus, sd-daemon, sd-journal) as a system library.
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // Linux declarations Glibc's module map leaves out (fallocate, statfs).
        .systemLibrary(name: "CLinuxShims"),
        // POSIX primitives every layer may use, on nothing but the C library: durable writes, locked
        // appends, mkdir -p, errno text, the real-time clock, the open-files limit, exec.
        .target(name: "ChaosPOSIX", swiftSettings: strictSettings),
        // The host: /proc, signals, fallocate, processes, systemd (with ChaosPOSIX, the only code that makes syscalls).
        .target(
            name: "ChaosLinux",
            dependencies: [
                "ChaosCore", "ChaosPOSIX", "CSystemd", "CLinuxShims",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // One file per fault kind: plan (pure) -> inject -> verify -> revert through HostSystem.
        .target(
            name: "ChaosFaults",
            dependencies: ["ChaosCore"],
            swiftSettings: strictSettings
        ),
        // The durable ledger, the fault runner, recovery and the guardian.
        .target(
            name: "ChaosEngine",
            dependencies: ["ChaosCore", "ChaosFaults", "ChaosPOSIX"],
            swiftSettings: strictSettings
        ),
        // Certificates for mutual TLS between controller, operators and agents: a CA, and certificates it signs.
        .target(
            name: "ChaosPKI",
            dependencies: [
                "ChaosCore", "ChaosPOSIX",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strictSettings
        ),
        // Serving HTTPS to strangers, for the agent and the controller: capped connections, TLS handshakes
        // with a deadline, client certificates checked again with RFC 5280 rules.
        .target(
            name: "ChaosServing",
            dependencies: [
                "ChaosPKI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // The agent: API over mutual TLS, leases (dead-man's switch), local policy, recovery at start.
        .target(
            name: "ChaosAgent",
            dependencies: [
                "ChaosCore", "ChaosFaults", "ChaosLinux", "ChaosPOSIX", "ChaosEngine", "ChaosPKI", "ChaosServing",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The application layer: run driver, fault drivers, controller loop, victim picker, schedule loader;
        // plain settings and an injected clock. No ArgumentParser; probes and the store come through RunServices.
        .target(
            name: "ChaosRun",
            dependencies: ["ChaosCore", "ChaosFaults", "ChaosLinux", "ChaosEngine", .product(name: "Metrics", package: "swift-metrics"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ChaosCLI",
            dependencies: [
                "ChaosCore", "ChaosFaults", "ChaosLinux", "ChaosPOSIX", "ChaosEngine", "ChaosPKI", "ChaosRun",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // The client side of the agent API: HTTPS with the caller's certificate (mutual TLS).
        .target(
            name: "ChaosRemote",
            dependencies: [
                "ChaosCore", "ChaosPKI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // Probes observe (http, tcp, command, prometheus) and never judge: one file per kind.
        .target(
            name: "ChaosProbes",
            dependencies: [
                "ChaosCore", "ChaosLinux", "ChaosPOSIX",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // Runs, journals and verdicts in SQLite (GRDB), and the append-only JSONL verdict log.
        .target(
            name: "ChaosStore",
            dependencies: ["ChaosCore", "ChaosPOSIX", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strictSettings
        ),
        // The controllers' shared store on PostgreSQL (postgres-nio): leadership with epochs, fires
        // claimed in the transaction that checks it.
        .target(
            name: "ChaosStorePostgres",
            dependencies: ["ChaosCore", "ChaosStore", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        // The controller's HTTP face: JSON API, dashboard (swift-mustache), /metrics (Prometheus), webhooks.
        .target(
            name: "ChaosController",
            dependencies: [
                "ChaosCore", "ChaosPKI", "ChaosPOSIX", "ChaosReport", "ChaosServing",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: strictSettings
        ),
        // Renderers of runs and verdicts: text, Markdown, HTML (self-contained, SVG timeline), JUnit, JSON.
        .target(name: "ChaosReport", dependencies: ["ChaosCore"], swiftSettings: strictSettings),
        .executableTarget(name: "chaos", dependencies: ["ChaosCLI"], swiftSettings: strictSettings),
        // `chaos` with the agent client linked in; `chaos` execs it for commands that talk to agents
        // (--inventory, halt, resume), so one-off commands on this host do not load NIO and TLS.
        .executableTarget(name: "chaos-remote", dependencies: ["ChaosCLI", "ChaosRun", "ChaosCore", "ChaosRemote", "ChaosProbes", "ChaosStore", "ChaosStorePostgres", "ChaosReport", "ChaosController", "ChaosServing",
                                                              .product(name: "Logging", package: "swift-log")], swiftSettings: strictSettings),
        // The agent is its own executable: one-off commands should not load its server stack.
        .executableTarget(
            name: "chaos-agent",
            dependencies: [
                "ChaosAgent", "ChaosCore", "ChaosLinux", "ChaosPOSIX",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // A mutational fuzzer of every parser fed by strangers (bench/fuzz.sh, FuzzTests).
        .executableTarget(name: "chaos-fuzz", dependencies: ["ChaosCore", "ChaosAgent"], swiftSettings: strictSettings),
        // Fakes at the boundaries (FakeHost) and the fault contract, for tests only.
        .target(name: "ChaosTesting", dependencies: ["ChaosCore", "ChaosFaults"], swiftSettings: strictSettings),
        .testTarget(name: "ChaosCoreTests", dependencies: ["ChaosCore"], swiftSettings: strictSettings),
        .testTarget(name: "ChaosProbesTests", dependencies: ["ChaosProbes", "ChaosCore", "ChaosTesting"], swiftSettings: strictSettings),
        .testTarget(name: "ChaosStoreTests", dependencies: ["ChaosStore", "ChaosStorePostgres", "ChaosCore", "ChaosTesting"], swiftSettings: strictSettings),
        // Against a real PostgreSQL 15 the tests start in a temporary directory (Tests/.../PostgresLab).
        .testTarget(name: "ChaosStorePostgresTests", dependencies: ["ChaosStorePostgres", "ChaosStore", "ChaosCore", "ChaosTesting"], swiftSettings: strictSettings),
        // The controller and runs in process, on a fake clock, the real store and fake agents and probes.
        .testTarget(name: "ChaosRunTests", dependencies: ["ChaosRun", "ChaosCore", "ChaosEngine", "ChaosStore", "ChaosProbes"], swiftSettings: strictSettings),
        .testTarget(name: "ChaosControllerTests", dependencies: ["ChaosController", "ChaosCore", "ChaosPKI", .product(name: "Logging", package: "swift-log")], swiftSettings: strictSettings),
        .testTarget(name: "ChaosReportTests", dependencies: ["ChaosReport", "ChaosCore"], swiftSettings: strictSettings),
        .testTarget(name: "ChaosPKITests", dependencies: ["ChaosPKI", "ChaosCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "ChaosAgentTests",
            dependencies: ["ChaosAgent", "ChaosCore", "ChaosFaults", "ChaosEngine", "ChaosTesting", "ChaosPKI", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "ChaosFaultsTests", dependencies: ["ChaosCore", "ChaosFaults", "ChaosTesting"], swiftSettings: strictSettings),
        .testTarget(name: "ChaosEngineTests", dependencies: ["ChaosCore", "ChaosFaults", "ChaosEngine", "ChaosTesting"], swiftSettings: strictSettings),
        .testTarget(name: "ChaosPOSIXTests", dependencies: ["ChaosPOSIX"], swiftSettings: strictSettings),
        .testTarget(
            name: "ChaosLinuxTests",
            dependencies: ["ChaosCore", "ChaosFaults", "ChaosLinux", "ChaosTesting", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ChaosCLITests",
            // Depending on the executable makes `swift test` build the real `chaos` binary these tests run.
            dependencies: ["ChaosCLI", "ChaosCore", "ChaosRun", "ChaosFaults", "ChaosTesting", "ChaosLinux", "ChaosPKI", "ChaosAgent", "ChaosRemote", "ChaosProbes", "chaos", "chaos-agent", "chaos-remote", "chaos-fuzz",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "X509", package: "swift-certificates"), .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "SwiftASN1", package: "swift-asn1")],
            swiftSettings: strictSettings
        ),
    ]
)
