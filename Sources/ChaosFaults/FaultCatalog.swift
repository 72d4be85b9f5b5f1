public import ChaosCore
import Foundation

/// Every fault chaos can inject on a host, by kind: the `Fault` of each ``FaultDescriptor``. Adding a
/// fault = its descriptor (ChaosCore), its file here and one line in `all`; a test checks both lists agree.
public enum FaultCatalog {
    /// The implemented faults.
    public static let all: [AnyFault] = [
        AnyFault(ProcessKillFault()),
        AnyFault(ProcessPauseFault()),
        AnyFault(ProcessSignalFault()),
        AnyFault(SystemdStopFault()),
        AnyFault(SystemdKillFault()),
        AnyFault(DiskFillFault()),
        AnyFault(StressFault(.stressCPU)),
        AnyFault(StressFault(.stressMemory)),
        AnyFault(NetworkFilterFault(.networkBlackhole)),
        AnyFault(NetworkFilterFault(.networkReject)),
        AnyFault(NetworkFilterFault(.networkLoss)),
        AnyFault(NetworkFilterFault(.networkDNS)),
        AnyFault(NetworkFilterFault(.networkPartition)),
        AnyFault(PacketFault(.networkDelay)),
        AnyFault(NetworkBandwidthFault()),
        AnyFault(PacketFault(.networkCorrupt)),
        AnyFault(PacketFault(.networkDuplicate)),
        AnyFault(PacketFault(.networkReorder)),
    ]

    /// The fault implementing `kind`.
    /// - Throws: `fault.unsupported` naming the kinds that are implemented.
    public static func fault(_ kind: FaultKind) throws(ChaosError) -> AnyFault {
        guard let f = all.first(where: { $0.kind == kind }) else {
            throw ChaosError("fault.unsupported", "Fault '\(kind)' is not implemented on this host yet. Implemented: \(all.map(\.kind.rawValue).joined(separator: ", ")).")
        }
        return f
    }
}

/// A planned fault with its receipt in stored form.
public struct PlannedFault: Hashable, Sendable, Codable {
    public var kind: FaultKind
    public var receipt: JSONValue
    public var actions: [String]
    public var claims: [ResourceClaim]
}

/// A ``Fault`` with its types erased, so the engine and the ledger can hold any kind.
public struct AnyFault: Sendable {
    public let kind: FaultKind
    public let isReversible: Bool
    private let _plan: @Sendable (FaultRequest, any HostSystem) async throws(ChaosError) -> PlannedFault
    private let _inject: @Sendable (JSONValue, any HostSystem) async throws(ChaosError) -> Void
    private let _verify: @Sendable (JSONValue, any HostSystem) async throws(ChaosError) -> FaultState
    private let _revert: @Sendable (JSONValue, any HostSystem) async throws(ChaosError) -> Void
    private let _actions: @Sendable (JSONValue) throws(ChaosError) -> [String]

    public init<F: Fault>(_ fault: F) {
        kind = fault.kind
        isReversible = fault.kind.isReversible
        _plan = { (request, host) throws(ChaosError) in
            let facts = try await fault.gather(request, on: host)
            let receipt = try fault.plan(request, facts: facts)
            return PlannedFault(kind: fault.kind, receipt: try ReceiptCoding.encode(receipt), actions: receipt.actions, claims: receipt.claims)
        }
        _inject = { (json, host) throws(ChaosError) in try await fault.inject(try ReceiptCoding.decode(F.Receipt.self, json), on: host) }
        _verify = { (json, host) throws(ChaosError) in try await fault.verify(try ReceiptCoding.decode(F.Receipt.self, json), on: host) }
        _revert = { (json, host) throws(ChaosError) in try await fault.revert(try ReceiptCoding.decode(F.Receipt.self, json), on: host) }
        _actions = { (json) throws(ChaosError) in try ReceiptCoding.decode(F.Receipt.self, json).actions }
    }

    /// Gathers facts and plans.
    public func plan(_ request: FaultRequest, on host: any HostSystem) async throws(ChaosError) -> PlannedFault { try await _plan(request, host) }
    public func inject(_ receipt: JSONValue, on host: any HostSystem) async throws(ChaosError) { try await _inject(receipt, host) }
    public func verify(_ receipt: JSONValue, on host: any HostSystem) async throws(ChaosError) -> FaultState { try await _verify(receipt, host) }
    public func revert(_ receipt: JSONValue, on host: any HostSystem) async throws(ChaosError) { try await _revert(receipt, host) }
    public func actions(_ receipt: JSONValue) throws(ChaosError) -> [String] { try _actions(receipt) }
}

/// Receipts to and from their stored JSON form.
enum ReceiptCoding {
    static func encode<R: Encodable>(_ r: R) throws(ChaosError) -> JSONValue {
        do { return try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(r)) } catch {
            throw .internalError("ledger.encode", "Could not encode a fault receipt: \(error). This is a bug in chaos; please report it.")
        }
    }
    static func decode<R: Decodable>(_ type: R.Type, _ json: JSONValue) throws(ChaosError) -> R {
        do { return try JSONDecoder().decode(R.self, from: JSONEncoder().encode(json)) } catch {
            throw .internalError("ledger.corrupt", "A stored fault receipt cannot be read: \(error). Inspect it with 'chaos status --output json'.")
        }
    }
}
