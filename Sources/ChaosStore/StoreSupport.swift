import ChaosCore
import Foundation
import Glibc

/// The JSON of the store and of the verdict log: sorted keys, one line (no pretty printing), slashes
/// unescaped, and non-finite numbers as strings so that a run with a NaN latency can still be saved.
enum StoreJSON {
    static func encode<T: Encodable>(_ value: T, what: String) throws(ChaosError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "+inf", negativeInfinity: "-inf", nan: "nan")
        do { return try encoder.encode(value) } catch {
            throw .internalError("store.encode", "Cannot encode \(what) as JSON: \(error). This is a bug in chaos; please report it.")
        }
    }

    /// Decodes `data`, or nil when it is not a `T`.
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) -> T? {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "+inf", negativeInfinity: "-inf", nan: "nan")
        return try? decoder.decode(type, from: data)
    }
}

/// Files and directories of the store.
enum StoreFiles {
    /// Creates `path` with `mode` (0700: runs say what was attacked and how it went) and any missing
    /// parents with 0755, like `mkdir -p`. An existing directory is left as it is.
    /// - Throws: `store.io` naming the directory that could not be created.
    static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws(ChaosError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try makeDirectory(parent, mode: 0o755) }
        guard mkdir(path, mode) != 0 else { return }
        let code = errno
        if code == EEXIST, FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
        let why = code == EEXIST ? "it exists and is not a directory" : errnoText(code)
        throw ChaosError("store.io", "Cannot create the run store directory '\(path)': \(why). Check --store-dir and the permissions of its parent.")
    }

    /// `strerror(errno)`.
    static func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
}
