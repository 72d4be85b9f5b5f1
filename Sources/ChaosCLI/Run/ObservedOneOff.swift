import ChaosCore
import ChaosEngine
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
        let ctx = Context(global: one.global)
        let inventory = try ctx.loadInventory(one.inventoryPath)
        let (driver, fleet) = try await RunCommand.driver(experiment, inventory: inventory, ctx: ctx, global: one.global)
        let factory = services.probes()
        let runner: any ProbeRunner
        do { runner = try factory.runner(for: probe) } catch {
            await factory.shutdown(); await fleet?.close()
            throw error
        }
        let record = await RunDriver(experiment: experiment, file: nil, fault: driver, probes: [runner], output: one.global.output).run()
        await factory.shutdown()
        await fleet?.close()
        do { try services.store(RunServices.storeDirectory(nil, global: one.global)).save(record) } catch {
            Console.err("warning: the run could not be stored: \(error.message)")
        }
        RunSummary.print(record, format: one.global.output, services: services)
        return record.exitStatus
    }
}
