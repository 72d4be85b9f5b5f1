import ChaosCore
import Foundation
import Glibc
import SwiftASN1
import X509

/// Reading and writing PEM files: atomically, with exact modes, and never over an existing file unless asked.
///
/// A file is written to a temporary file in the same directory (`open(O_CREAT|O_EXCL)`, `fchmod`, `write`,
/// `fsync`), then put in place with `link` (which fails when the target exists: no clobbering, no race) or,
/// with `force`, with `rename` (which replaces it atomically); the directory is `fsync`ed last. A reader never
/// sees a half-written key, and a crash leaves either the old file or the new one.
public enum PKIFiles {
    /// Mode of certificate files.
    public static let certificateMode: mode_t = 0o644
    /// Mode of private key files.
    public static let privateKeyMode: mode_t = 0o600
    /// Mode of directories this module creates.
    public static let directoryMode: mode_t = 0o755

    /// `directory/name`.
    public static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The whole text of `path`.
    /// - Parameter hint: What to do when the file cannot be read.
    /// - Throws: `pki.io`.
    public static func readText(_ path: String, hint: String = "") throws(ChaosError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PKIError.io("read", path, errno: errno, hint: hint) }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw PKIError.io("read", path, errno: errno, hint: hint)
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            if out.count > 16 << 20 { throw PKIError.invalid(path, "is larger than 16 MiB; it is not a PEM file.") }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Every certificate in the PEM file at `path` (a single certificate or a bundle of several).
    /// - Throws: `pki.io` when it cannot be read, `pki.invalid` when it holds no certificate or a broken one.
    public static func readCertificates(_ path: String) throws(ChaosError) -> [Certificate] {
        try certificates(inPEM: try readText(path), source: path)
    }

    /// Every certificate in a PEM text; other PEM blocks (keys) are skipped.
    /// - Throws: `pki.invalid` when the text holds no certificate or a broken one.
    public static func certificates(inPEM text: String, source: String) throws(ChaosError) -> [Certificate] {
        let documents: [PEMDocument]
        do { documents = try PEMDocument.parseMultiple(pemString: text) } catch {
            throw PKIError.invalid(source, "is not a PEM file (\(error)). Give a file with '-----BEGIN CERTIFICATE-----' blocks.")
        }
        var out: [Certificate] = []
        for (i, doc) in documents.enumerated() where doc.discriminator == Certificate.defaultPEMDiscriminator {
            do { out.append(try Certificate(pemDocument: doc)) } catch {
                throw PKIError.invalid(source, "holds a broken certificate (block \(i + 1)): \(error).")
            }
        }
        if out.isEmpty {
            throw PKIError.invalid(source, "holds no certificate (no '-----BEGIN CERTIFICATE-----' block).")
        }
        return out
    }

    /// Writes a certificate and its key: both or neither when they do not exist yet.
    ///
    /// Both paths are checked before anything is written, and the key is written first, so a certificate is
    /// never left without its key.
    /// - Throws: `pki.exists` (with `existsHint`) when a file exists and `force` is false; `pki.io`.
    public static func writePair(certificatePEM: String, to certificatePath: String, privateKeyPEM: String, to keyPath: String,
                                 force: Bool, existsHint: String) throws(ChaosError) {
        if !force {
            for path in [certificatePath, keyPath] where exists(path) { throw PKIError.exists(path, hint: existsHint) }
        }
        try write(privateKeyPEM, to: keyPath, mode: privateKeyMode, force: force, existsHint: existsHint)
        try write(certificatePEM, to: certificatePath, mode: certificateMode, force: force, existsHint: existsHint)
    }

    /// Writes `text` to `path` atomically with exactly `mode`, creating missing directories (0755 less the umask).
    /// - Parameters:
    ///   - force: Replace an existing file (atomically); without it, an existing file is left alone.
    ///   - existsHint: What to do when the file exists.
    /// - Throws: `pki.exists` or `pki.io`.
    public static func write(_ text: String, to path: String, mode: mode_t, force: Bool, existsHint: String = "Pass --force to replace it.") throws(ChaosError) {
        let directory = parent(of: path)
        try makeDirectories(directory)
        let temp = join(directory, ".\(baseName(of: path)).tmp-\(getpid())-\(UInt32.random(in: .min ... .max))")
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw PKIError.io("create a file in", directory, errno: errno, hint: "Check that the directory is writable (run as root for /etc/chaos/pki), or choose another with --dir/--out.") }
        var placed = false
        defer { if !placed { unlink(temp) } }
        do {
            defer { close(fd) }
            // The mode given to open() is masked by the umask; set it exactly.
            guard fchmod(fd, mode) == 0 else { throw PKIError.io("set the mode of", temp, errno: errno) }
            let bytes = Array(text.utf8)
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress.map { $0 + offset }, bytes.count - offset) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw PKIError.io("write", temp, errno: errno)
                }
                offset += n
            }
            guard fsync(fd) == 0 else { throw PKIError.io("flush", temp, errno: errno) }
        }
        if force {
            guard rename(temp, path) == 0 else { throw PKIError.io("replace", path, errno: errno) }
        } else if link(temp, path) != 0 {
            let code = errno
            if code == EEXIST { throw PKIError.exists(path, hint: existsHint) }
            // Some file systems have no hard links; fall back to a check and a rename.
            guard code == EPERM || code == EOPNOTSUPP || code == EMLINK, !exists(path) else { throw PKIError.io("create", path, errno: code) }
            guard rename(temp, path) == 0 else { throw PKIError.io("create", path, errno: errno) }
        } else {
            unlink(temp)
        }
        placed = true
        syncDirectory(directory)
    }

    /// Whether something (even a dangling symbolic link) is at `path`.
    public static func exists(_ path: String) -> Bool {
        // attributesOfItem does not follow links (lstat), so a dangling link counts. (Not `stat()`
        // directly: in a module that imports Foundation, a clean build attributes `struct stat` to
        // CoreFoundation and MemberImportVisibility rejects it.)
        (try? FileManager.default.attributesOfItem(atPath: path)) != nil
    }

    /// The permission bits of `path`, or `nil` when it cannot be examined.
    public static func mode(of path: String) -> mode_t? {
        let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)).map { $0.hasPrefix("/") ? $0 : parent(of: path) + "/" + $0 } ?? path
        guard let n = (try? FileManager.default.attributesOfItem(atPath: target))?[.posixPermissions] as? NSNumber else { return nil }
        return mode_t(n.uint16Value) & 0o7777
    }

    /// Creates `directory` and its missing parents with mode 0755 (less the umask).
    static func makeDirectories(_ directory: String) throws(ChaosError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return }
            throw PKIError.io("use", directory, errno: ENOTDIR, hint: "It is a file; choose a directory with --dir/--out.")
        }
        let up = parent(of: directory)
        if up != directory { try makeDirectories(up) }
        if mkdir(directory, directoryMode) != 0 && errno != EEXIST {
            throw PKIError.io("create the directory", directory, errno: errno, hint: "Run as root for /etc/chaos/pki, or choose another with --dir/--out.")
        }
    }

    /// Flushes a directory's entries, so a rename or link survives a crash. Best effort.
    static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    static func parent(of path: String) -> String {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    static func baseName(of path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
