import ChaosCore

/// Sets the percentage field of a netem kind.
enum NetemParameters {
    static func set(_ kind: FaultKind, _ percent: Double, on p: inout FaultParameters) {
        switch kind.rawValue {
        case "network.loss": p.lossPercent = percent
        default: p.lossPercent = percent   // replaced by the kind's own field once the format has it
        }
    }
}
