extension FaultDescriptor {
    /// Every kind this build knows, in the order documentation lists them. A new kind adds its
    /// descriptor here (and its `Fault` to ChaosFaults' `FaultCatalog`; a test checks the two agree).
    public static let all: [FaultDescriptor] = [
        .processKill, .processPause, .processSignal, .systemdStop, .systemdKill, .diskFill, .stressCPU, .stressMemory,
        .networkBlackhole, .networkReject, .networkLoss, .networkDelay, .networkCorrupt, .networkDuplicate,
        .networkReorder, .networkBandwidth, .networkPartition, .networkDNS,
    ]

    static let byName: [String: FaultDescriptor] = Dictionary(uniqueKeysWithValues: all.map { ($0.kind.rawValue, $0) })
}
