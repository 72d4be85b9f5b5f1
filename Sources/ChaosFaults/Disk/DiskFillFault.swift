public import ChaosCore

/// `disk.fill`: fills the filesystem holding `path` with one file the fault owns, until it is
/// `percent` full, has only `free` left, or `size` more is used.
///
/// - Commands: `open(O_CREAT|O_EXCL)` + `fallocate(2)` of `DIR/.chaos-fill-FAULTID` (written with zeros
///   where the filesystem has no fallocate). DIR is `path` if it is a directory, else its parent.
/// - Receipt: the fill file's path, its size, and the filesystem id.
/// - Revert: unlink the fill file; already gone counts as reverted.
/// - Claims: the filesystem, so two fills never stack on one filesystem.
/// - Sizes follow df: used / (used + available), so `percent: 95` makes `df` show 95 %.
/// - A fill to a level (`percent`, `free`) aims at the level, not at a size: if other writers took
///   space between the plan and the `fallocate` (Redis appending to its log while chaos fills its
///   disk to 100 %), the fill takes what is left instead of failing, up to three tries, and counts as
///   active while the disk is at least as full as planned.
public struct DiskFillFault: Fault {
    public let kind = FaultKind.diskFill
    public init() {}

    public struct Receipt: FaultReceipt {
        public var file: String
        public var bytes: Int64
        public var filesystem: UInt64
        /// df's Use% before and the one planned.
        public var percentBefore: Double
        public var percentPlanned: Double
        /// A fill to a level (percent or free space), not of a size.
        public var level: Bool?
        /// Space a retry must leave free (the fault ledger's reserve on its own filesystem).
        public var keepFree: Int64?
        public var actions: [String] {
            ["fallocate \(ByteSize(bytes: bytes)) at '\(file)' (disk \(Self.pct(percentBefore)) → \(Self.pct(percentPlanned)) used)", "on revert remove '\(file)'"]
        }
        public var claims: [ResourceClaim] { [.filesystem(filesystem), .path(file)] }
        static func pct(_ v: Double) -> String { "\((v * 10).rounded() / 10)%" }
    }

    public func gather(_ request: FaultRequest, on host: some HostSystem) async throws(ChaosError) -> FilesystemStats {
        let path = try Self.path(request)
        if let allowed = request.diskFill.paths {
            // Checked on the path with its links resolved: '/srv/../etc' or a link out of /srv is not /srv.
            guard let real = await host.canonicalPath(path) else {
                throw ChaosError("host.noSuchPath", "'\(path)' does not exist. Give an existing directory on the disk to fill.")
            }
            guard allowed.contains(where: { PathText.isInside(real, $0) }) else {
                throw ChaosError("policy.denied", "Refused by this host's policy: disk fills may only be made under \(allowed.map { "'\($0)'" }.joined(separator: ", ")) ('policy.diskFill.paths'), and '\(path)' is '\(real)'.")
            }
        }
        return try await host.filesystem(at: path)
    }

    public func plan(_ request: FaultRequest, facts fs: FilesystemStats) throws(ChaosError) -> Receipt {
        let path = try Self.path(request)
        let p = request.spec.with
        let total = fs.used + fs.available
        var need: Int64
        if let percent = p.percent {
            need = Int64((Double(total) * percent / 100).rounded(.up)) - fs.used
        } else if let free = p.free {
            need = fs.available - free.bytes
        } else if let size = p.size {
            need = size.bytes
        } else {
            throw .usage("fault.badParameters", "disk.fill needs one of '--percent', '--free' or '--size'.")
        }
        var available = fs.available
        if fs.id == request.diskFill.ledgerFilesystem {
            // The ledger must be able to record this fault and its revert: it keeps its reserve.
            available -= request.diskFill.ledgerReserve
            guard available > 0 else {
                throw ChaosError("fault.tooLarge", "'\(path)' is on the filesystem of chaos's fault ledger, which keeps \(ByteSize(bytes: request.diskFill.ledgerReserve)) free so that every fault and its revert can be recorded, and only \(ByteSize(bytes: fs.available)) is available. Fill another filesystem, or move the state directory ('--state-dir', 'stateDir').")
            }
        }
        guard need > 0 else {
            throw ChaosError("fault.nothingToDo", "The filesystem holding '\(path)' is already \(Receipt.pct(fs.percentUsed)) used with \(ByteSize(bytes: fs.available)) available, so there is nothing to fill. Ask for a higher '--percent' or a smaller '--free'.")
        }
        if need > available && fs.id == request.diskFill.ledgerFilesystem && p.size == nil {
            // A level on the ledger's filesystem: as close as its reserve allows.
            need = available
        }
        guard need <= available else {
            let reserve = available < fs.available ? " (the fault ledger keeps \(ByteSize(bytes: fs.available - available)) of it free)" : ""
            throw ChaosError("fault.tooLarge", "Filling \(ByteSize(bytes: need)) does not fit: only \(ByteSize(bytes: fs.available)) is available on the filesystem holding '\(path)'\(reserve). Use '--percent 100' to fill it completely.")
        }
        var dir = path
        if !fs.isDirectory {
            dir = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
            if dir.isEmpty { dir = "/" }
        }
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        let file = (dir == "/" ? "" : dir) + "/.chaos-fill-\(request.faultID)"
        let after = Double(fs.used + need) * 100 / Double(max(total, 1))
        guard after <= request.diskFill.maxPercent + 0.05 else {
            throw ChaosError("policy.denied", "Refused by this host's policy: the fill would leave the filesystem holding '\(path)' \(Receipt.pct(after)) used, and this host allows at most \(Receipt.pct(request.diskFill.maxPercent)) ('policy.diskFill.maxPercent').")
        }
        return Receipt(file: file, bytes: need, filesystem: fs.id, percentBefore: fs.percentUsed, percentPlanned: after, level: p.size == nil,
                       keepFree: fs.id == request.diskFill.ledgerFilesystem ? request.diskFill.ledgerReserve : nil)
    }

    public func inject(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {
        var bytes = receipt.bytes
        for attempt in 1...3 {
            do {
                try await host.allocateFile(receipt.file, bytes: bytes)
                return
            } catch where receipt.level == true && attempt < 3 && error.code == "host.allocateFailed" {
                // Someone wrote meanwhile: aim at the planned level with what is left.
                let fs = try await host.filesystem(at: receipt.file.dropLastPathComponent)
                let total = fs.used + fs.available
                let need = Int64((Double(total) * receipt.percentPlanned / 100).rounded(.up)) - fs.used
                bytes = min(max(need, 0), fs.available - (receipt.keepFree ?? 0))
                guard bytes > 0 else {
                    throw ChaosError("fault.nothingToDo", "Others filled the disk holding '\(receipt.file)' to \(Receipt.pct(fs.percentUsed)) while chaos prepared; nothing was added.")
                }
            }
        }
    }

    public func verify(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) -> FaultState {
        guard let size = await host.fileSize(receipt.file) else { return .absent }
        if size >= receipt.bytes { return .active }
        if receipt.level == true, let fs = try? await host.filesystem(at: receipt.file.dropLastPathComponent), fs.percentUsed + 0.05 >= receipt.percentPlanned {
            return .active
        }
        return .drifted(reason: "fill file holds \(ByteSize(bytes: size)) of \(ByteSize(bytes: receipt.bytes))")
    }

    public func revert(_ receipt: Receipt, on host: some HostSystem) async throws(ChaosError) {
        try await host.removeFile(receipt.file)
    }

    static func path(_ request: FaultRequest) throws(ChaosError) -> String {
        guard let path = request.spec.with.path, path.hasPrefix("/") else {
            throw .usage("fault.badParameters", "disk.fill needs an absolute '--path', e.g. '--path /var/lib/redis'.")
        }
        return path
    }
}

private extension String {
    /// The directory holding a path (`/srv/redis/.chaos-fill-x` → `/srv/redis`).
    var dropLastPathComponent: String {
        guard let i = lastIndex(of: "/") else { return "." }
        return i == startIndex ? "/" : String(self[..<i])
    }
}
