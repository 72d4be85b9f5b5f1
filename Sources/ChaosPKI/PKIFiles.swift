import ChaosCore
import ChaosPOSIX
import Foundation
import SwiftASN1
import X509

/// Reading and writing PEM files: atomically, with exact modes, and never over an existing file unless asked.
///
/// A file is written with ``POSIXFiles/writeDurably(_:to:mode:replacing:)``: to a temporary file in the same
/// directory with its exact mode, `fsync`ed, then put in place with `link` (which fails when the target exists:
/// no clobbering, no race) or, with `force`, with `rename` (which replaces it atomically); the directory is
/// `fsync`ed last. A reader never sees a half-written key, and a crash leaves either the old file or the new one.
public enum PKIFiles {
    /// Mode of certificate files.
    public static let certificateMode: mode_t = 0o644
    /// Mode of private key files.
    public static let privateKeyMode: mode_t = 0o600
    /// Mode of directories this module creates.
    public static let directoryMode: mode_t = 0o755

    /// `directory/name`.
    public static func join(_ directory: String, _ name: String) -> String { POSIXPath.join(directory, name) }

    /// The whole text of `path`.
    /// - Parameter hint: What to do when the file cannot be read.
    /// - Throws: `pki.io`.
    public static func readText(_ path: String, hint: String = "") throws(ChaosError) -> String {
        let limit = 16 << 20
        let bytes: [UInt8]
        do { bytes = try POSIXFiles.read(path, limit: limit + 1) } catch { throw PKIError.io("read", path, errno: error.code, hint: hint) }
        if bytes.count > limit { throw PKIError.invalid(path, "is larger than 16 MiB; it is not a PEM file.") }
        return String(decoding: bytes, as: UTF8.self)
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
        let directory = POSIXPath.directory(of: path)
        try makeDirectories(directory)
        do { try POSIXFiles.writeDurably(Array(text.utf8), to: path, mode: mode, replacing: force) } catch {
            switch error.operation {
            case .createTemporary:
                throw PKIError.io("create a file in", directory, errno: error.code, hint: "Check that the directory is writable (run as root for /etc/chaos/pki), or choose another with --pki-dir/--out.")
            case .link where error.alreadyExists: throw PKIError.exists(path, hint: existsHint)
            default: throw PKIError.io(error.verb, error.path, errno: error.code)
            }
        }
    }

    /// Whether something (even a dangling symbolic link) is at `path`.
    public static func exists(_ path: String) -> Bool { POSIXFiles.exists(path) }

    /// The permission bits of `path`, or `nil` when it cannot be examined.
    public static func mode(of path: String) -> mode_t? {
        let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)).map { $0.hasPrefix("/") ? $0 : POSIXPath.join(POSIXPath.directory(of: path), $0) } ?? path
        guard let n = (try? FileManager.default.attributesOfItem(atPath: target))?[.posixPermissions] as? NSNumber else { return nil }
        return mode_t(n.uint16Value) & 0o7777
    }

    /// Creates `directory` and its missing parents with mode 0755 (less the umask).
    static func makeDirectories(_ directory: String) throws(ChaosError) {
        do { try POSIXFiles.makeDirectories(directory, mode: directoryMode) } catch {
            if error.notADirectory { throw PKIError.io("use", error.path, errno: error.code, hint: "It is a file; choose a directory with --pki-dir/--out.") }
            throw PKIError.io("create the directory", error.path, errno: error.code, hint: "Run as root for /etc/chaos/pki, or choose another with --pki-dir/--out.")
        }
    }
}
