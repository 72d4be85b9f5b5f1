import ChaosCore
import ChaosEngine
import ChaosRun
import Foundation

/// A one-off fault with `--observe URL`: the same run as `chaos run` (gate, fault, recovery,
/// verdict, stored), built from the command line instead of a file.
struct ObservedOneOff {
    let one: OneOff
    let probe: ProbeSpec

    func run() async throws(ChaosError) -> Int32 {
        let services = try RunServices.required()
        var expect = ExpectSpec()
        expect.recoverWithin = one.safety.observe.recoverWithin
        let experiment = Experiment(name: "oneoff-\(one.spec.type.rawValue.replacingOccurrences(of: ".", with: "-"))", description: nil,
                                    target: one.target, fault: one.spec, probes: [probe], expect: expect, stopWhen: [], schedule: nil,
                                    safety: SafetySpec(allowProtected: one.safety.force))
        let inventory = try Context(global: one.global).loadInventory(one.inventoryPath)
        let prepared = try await RunPreparation.prepare(experiment, file: nil, inventory: inventory, gate: .seconds(5), environment: .command(one.global, services: services))
        let record = await prepared.driver.run()
        await prepared.close()
        await RunServices.keep(record, storeDir: nil, settings: one.global.settings, services: services)
        RunSummary.print(record, format: one.global.output, services: services)
        return record.exitStatus
    }
}
