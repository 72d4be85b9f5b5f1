extension FaultKind {
    public static let diskFill = FaultKind(declaring: "disk.fill")
}

extension ParameterKeys {
    public var path: ParameterKey<String> { .init("path") }
    public var percent: ParameterKey<Double> { .init("percent") }
    public var free: ParameterKey<ByteSize> { .init("free") }
    public var size: ParameterKey<ByteSize> { .init("size") }
}

extension FaultDescriptor {
    public static let diskFill = FaultDescriptor(
        .diskFill, summary: "fill the filesystem holding `path`", subject: .host, reversible: true, needs: [.fallocate],
        parameters: [
            FaultParameter("path", .absolutePath, required: true,
                           help: "A directory on the filesystem to fill; the fill file goes there (in the parent if it is a file).", example: "/var/lib/redis"),
            FaultParameter("percent", .percent(1...100), help: "Fill until the filesystem is this full (df's Use%).", example: "95"),
            FaultParameter("free", .size, help: "Fill until only this much is left.", example: "100MiB"),
            FaultParameter("size", .size, help: "Add exactly this much.", example: "1GiB"),
        ],
        rules: [.exactlyOne(["percent", "free", "size"], what: "how much to fill")],
        example: "{type: disk.fill, duration: 10m, with: {path: /var/lib/redis, free: 200MiB}}")
}
