import ChaosPOSIX

/// Wall-clock time in milliseconds since the epoch; injected so tests can move time.
public protocol WallClock: Sendable {
    func now() -> Int64
}

/// The system's real-time clock.
public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Int64 { Epoch.milliseconds() }
}
