package import ChaosCore
import ChaosPOSIX
package import Foundation

/// The JSON of the store and of the verdict log: sorted keys, one line (no pretty printing), slashes
/// unescaped, and non-finite numbers as strings so that a run with a NaN latency can still be saved.
package enum StoreJSON {
    package static func encode<T: Encodable>(_ value: T, what: String) throws(ChaosError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "+inf", negativeInfinity: "-inf", nan: "nan")
        do { return try encoder.encode(value) } catch {
            throw .internalError("store.encode", "Cannot encode \(what) as JSON: \(error). This is a bug in chaos; please report it.")
        }
    }

    /// Decodes `data`, or nil when it is not a `T`.
    package static func decode<T: Decodable>(_ type: T.Type, from data: Data) -> T? {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "+inf", negativeInfinity: "-inf", nan: "nan")
        return try? decoder.decode(type, from: data)
    }
}

/// Files and directories of the store.
enum StoreFiles {
    /// Creates `path` with mode 0700 (runs say what was attacked and how it went) and any missing
    /// parents with 0755, like `mkdir -p`. An existing directory is left as it is.
    /// - Throws: `store.io` naming the directory that could not be created.
    static func makeDirectory(_ path: String) throws(ChaosError) {
        do { try POSIXFiles.makeDirectories(path, mode: 0o700, parentMode: 0o755) } catch {
            let why = error.notADirectory ? "it exists and is not a directory" : error.reason
            throw ChaosError("store.io", "Cannot create the run store directory '\(error.path)': \(why). Check --store-dir and the permissions of its parent.")
        }
    }
}
