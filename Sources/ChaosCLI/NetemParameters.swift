import ChaosCore

/// Sets the percentage field of a netem kind.
enum NetemParameters {
    static func set(_ kind: FaultKind, _ percent: Double, on p: inout FaultParameters) {
        switch kind {
        case .networkCorrupt: p.corruptPercent = percent
        case .networkDuplicate: p.duplicatePercent = percent
        case .networkReorder: p.reorderPercent = percent
        default: p.lossPercent = percent
        }
    }
}
