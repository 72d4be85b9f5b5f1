extension FaultKind {
    public static let stressCPU = FaultKind(declaring: "stress.cpu")
    public static let stressMemory = FaultKind(declaring: "stress.memory")
}

extension ParameterKeys {
    public var workers: ParameterKey<Int> { .init("workers") }
    public var load: ParameterKey<Double> { .init("load") }
}

extension FaultDescriptor {
    public static let stressCPU = FaultDescriptor(
        .stressCPU, summary: "burn CPU", subject: .host, reversible: true, needs: [.helper],
        parameters: [
            FaultParameter("workers", .integer(1...1024), default: "one per online CPU", help: "Busy threads.", example: "4"),
            FaultParameter("load", .percent(1...100), default: "100", help: "Share of each worker's CPU time to burn.", example: "90%"),
        ],
        example: "{type: stress.cpu, duration: 5m, with: {workers: 4, load: 90%}}")

    public static let stressMemory = FaultDescriptor(
        .stressMemory, summary: "hold memory", subject: .host, reversible: true, needs: [.helper],
        parameters: [
            FaultParameter("size", .size, required: true,
                           help: "How much memory to hold (every page touched); refused above 90 % of MemAvailable.", example: "1GiB"),
        ],
        example: "{type: stress.memory, duration: 1m, with: {size: 1GiB}}")
}
