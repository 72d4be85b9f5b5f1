// chaos-fuzz: a mutational fuzzer for everything chaos parses from a stranger: experiment and
// inventory files (YAML or JSON), agent configurations, the agent API's JSON bodies, and the
// regular expressions of `match` selectors. It mutates a corpus (the repository's own examples and
// API bodies) with byte flips, splices and a dictionary of hostile tokens (huge numbers, aliases,
// deep brackets, control bytes, catastrophic patterns), runs each input in-process and checks:
//   - no crash: before each input it is written to WORK/current, so the driver (bench/fuzz.sh) can keep
//     the one that killed the process;
//   - no hang: an input that takes longer than --hang-ms is recorded (and a watchdog aborts at 10x);
//   - every diagnostic lies inside the text (line 1...lines+1, column >= 1), and no message carries a
//     raw control character.
// It prints one JSON line of figures and exits 0 when nothing was found, 1 otherwise.
import ChaosAgent
import ChaosCore
import Foundation
import Glibc
import Synchronization

struct Options {
    var inputs = 100_000
    var seconds: Double = 0
    var seed: UInt64 = UInt64.random(in: 0...UInt64.max)
    var corpus: [String] = []
    var work = NSTemporaryDirectory() + "chaos-fuzz"
    var hangMs = 1000.0
    var replay: String?

    static func parse(_ args: [String]) -> Options {
        var o = Options()
        var i = 0
        func value() -> String {
            i += 1
            guard i < args.count else { fail("\(args[i - 1]) needs a value") }
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--inputs": guard let n = Int(value()), n >= 0 else { fail("--inputs takes a whole number") }; o.inputs = n
            case "--seconds": guard let n = Double(value()), n >= 0 else { fail("--seconds takes a number") }; o.seconds = n
            case "--seed": guard let n = UInt64(value()) else { fail("--seed takes a whole number") }; o.seed = n
            case "--corpus": o.corpus.append(value())
            case "--work": o.work = value()
            case "--replay": o.replay = value()
            case "--hang-ms": guard let n = Double(value()), n > 0 else { fail("--hang-ms takes a number") }; o.hangMs = n
            case "-h", "--help":
                print("""
                usage: chaos-fuzz [--inputs N] [--seconds S] [--seed N] [--corpus DIR|FILE]... [--work DIR] [--hang-ms MS]
                       chaos-fuzz --replay FILE     (a saved input: its target on the first line, then the bytes)
                  Mutates the corpus (every .yaml/.yml/.json below each --corpus, plus built-in API bodies) and feeds
                  each input to the document reader, the agent API body reader, the JSON parser, the agent
                  configuration reader and the regex engine. Stops after N inputs or S seconds, whichever first.
                  Findings go to WORK/findings/ (replay one with --replay); the input being run is always in WORK/current.
                example: chaos-fuzz --inputs 1000000 --corpus experiments --corpus deploy --seed 7
                """)
                exit(0)
            default: fail("unknown option '\(args[i])'; see --help")
            }
            i += 1
        }
        return o
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("chaos-fuzz: \(message)\n".utf8))
    exit(64)
}

/// The parsers under test, each fed the same bytes.
enum Target: String, CaseIterable {
    case document, inject, json, agentConfig, regex

    /// Runs the parser; returns the problems found in its output (not in the input).
    func run(_ text: String) -> [String] {
        switch self {
        case .document:
            return check(ChaosDocument.load(text, file: "f.yaml").diagnostics, text)
        case .inject:
            return check(InjectRequest.read(text).diagnostics, text)
        case .json:
            do { _ = try DocumentNode.parseJSON(text) } catch { return checkLocation(error.location, error.message, text) }
            return []
        case .agentConfig:
            return check(AgentConfiguration.load(text, file: "agent.yaml").1, text)
        case .regex:
            let pattern = String(text.prefix(1100))
            do {
                let regex = try BoundedRegex(pattern)
                _ = regex.matches(in: text)
                _ = regex.matches(in: String(repeating: "a", count: 2000))
            } catch {
                return hasControl(error.description) ? ["regex error with a raw control character"] : []
            }
            return []
        }
    }

    func check(_ diagnostics: [Diagnostic], _ text: String) -> [String] {
        diagnostics.flatMap { checkLocation(SourceLocation(line: $0.line, column: $0.column), $0.message + " " + $0.hint, text) }
    }

    func checkLocation(_ at: SourceLocation, _ message: String, _ text: String) -> [String] {
        var out: [String] = []
        let lines = lineCount(text)
        if at.line < 1 || at.line > lines + 1 || at.column < 1 { out.append("diagnostic at \(at.line):\(at.column) outside a text of \(lines) lines: \(message)") }
        if hasControl(message) { out.append("raw control character in: \(message.debugDescription)") }
        return out
    }

    /// Lines as YAML counts them: LF, CR LF, a lone CR, and NEL, LS, PS each end one.
    func lineCount(_ text: String) -> Int {
        var n = 1
        var previousCR = false
        for u in text.unicodeScalars {
            switch u.value {
            case 0x0A: if !previousCR { n += 1 }
            case 0x0D, 0x85, 0x2028, 0x2029: n += 1
            default: break
            }
            previousCR = u.value == 0x0D
        }
        return n
    }

    func hasControl(_ s: String) -> Bool { s.unicodeScalars.contains { ($0.value < 0x20 && $0.value != 0x0A) || $0.value == 0x7F } }
}

/// Hostile pieces to splice in.
let dictionary: [String] = [
    "1e19", "-1e400", "1e400", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "0x7fffffffffffffff",
    "0x7fffffffffffffff%", "99999999999999999999999999999", "NaN", ".nan", ".inf", "-.inf", "1e-400", "0", "-0", "00", "1_000",
    "&a ", "*a", "<<: *a", "&b [*a,*a,*a,*a]", "!!binary", "!!python/object", "%YAML 1.1\n---\n", "---\n", "...\n",
    String(repeating: "[", count: 300), String(repeating: "{\"a\":", count: 300), String(repeating: "- ", count: 200),
    "\u{0}", "\u{1}", "\u{7}", "\u{1b}[31m", "\u{7f}", "\u{85}", "\u{feff}", "\u{202e}", "\u{d7ff}", "\u{fffd}", "\r\n", "\t", "\\u0000",
    "\\ud800", "\"", "'", ":", ": ", "? ", "|\n", ">-\n", "#", "\n  ", "{}", "[]", "null", "~", "true", "yes", "on",
    "(a+)+b", "(a|a)*b", "(a*)*", "((((((((((a))))))))))", "a{1000}{1000}", "[^]", "\\1", "(?=a)", "(?<n>a)", "\\p{L}",
    "30s", "1ms", "99999999999999999999d", "1e30GiB", "1e30gbit", "-1", "100%", "101%", "1e19%",
    "process.kill", "network.loss", "disk.fill", "systemd.stop", "lossPercent", "percent", "duration", "idempotencyKey",
]

/// Built-in API bodies (docs/agent-api.md).
let apiBodies: [String] = [
    #"{"runID":"r-42","idempotencyKey":"r-42/kill-db","lease":"15s","fault":{"type":"process.pause","duration":"30s"},"target":{"process":{"name":"redis-server"},"count":1}}"#,
    #"{"idempotencyKey":"k","lease":"5s","fault":{"type":"network.loss","duration":"10s","with":{"lossPercent":30,"ports":["6379"]}},"target":{}}"#,
    #"{"idempotencyKey":"k2","fault":{"type":"disk.fill","duration":"1m","with":{"path":"/srv","percent":95}},"target":{}}"#,
    #"{"idempotencyKey":"k3","fault":{"type":"process.kill","with":{"signal":"TERM"}},"target":{"process":{"match":"redis.*6379"},"percent":50}}"#,
    #"{"idempotencyKey":"k4","fault":{"type":"network.partition","duration":"30s"},"target":{},"between":["10.0.0.1"],"and":["10.0.0.2/32"]}"#,
    "apiVersion: chaos/v1\nkind: AgentConfig\nlisten: {address: 127.0.0.1, port: 7433}\nplaintext: true\npolicy: {allow: [process.*], diskFill: {paths: [/srv], maxPercent: 90}}\n",
]

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Writes `bytes` to `path` without fsync: the file must outlive a crash of this process, not of the machine.
func save(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { return }
    defer { close(fd) }
    var off = 0
    while off < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, bytes.count - off) }
        if n <= 0 { return }
        off += n
    }
}

func loadCorpus(_ paths: [String]) -> [[UInt8]] {
    var out = apiBodies.map { Array($0.utf8) }
    let fm = FileManager.default
    for path in paths {
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else { fail("no corpus at '\(path)'") }
        let files = isDir.boolValue ? (fm.enumerator(atPath: path)?.compactMap { $0 as? String }.map { path + "/" + $0 } ?? []) : [path]
        for f in files where [".yaml", ".yml", ".json"].contains(where: f.hasSuffix) {
            if let d = fm.contents(atPath: f), d.count < 256 * 1024 { out.append(Array(d)) }
        }
    }
    return out
}

func mutate(_ input: [UInt8], corpus: [[UInt8]], rng: inout SplitMix) -> [UInt8] {
    var b = input
    for _ in 0..<Int.random(in: 1...4, using: &rng) {
        let at = b.isEmpty ? 0 : Int.random(in: 0...b.count, using: &rng)
        switch Int.random(in: 0..<8, using: &rng) {
        case 0 where !b.isEmpty:  // flip a byte
            b[min(at, b.count - 1)] ^= UInt8.random(in: 1...255, using: &rng)
        case 1 where !b.isEmpty:  // delete a range
            let end = min(b.count, at + Int.random(in: 1...32, using: &rng))
            b.removeSubrange(min(at, end)..<end)
        case 2 where !b.isEmpty:  // duplicate a range
            let start = Int.random(in: 0..<b.count, using: &rng)
            let end = min(b.count, start + Int.random(in: 1...64, using: &rng))
            b.insert(contentsOf: b[start..<end], at: at)
        case 3, 4:  // insert a hostile token
            b.insert(contentsOf: Array(dictionary.randomElement(using: &rng)!.utf8), at: at)
        case 5:  // replace a number with a hostile one
            if let i = b.indices.filter({ (0x30...0x39).contains(b[$0]) }).randomElement(using: &rng) {
                var j = i
                while j < b.count && (0x30...0x39).contains(b[j]) { j += 1 }
                b.replaceSubrange(i..<j, with: Array(dictionary[Int.random(in: 0..<16, using: &rng)].utf8))
            }
        case 6:  // splice another corpus entry in
            let other = corpus.randomElement(using: &rng)!
            let start = Int.random(in: 0...other.count, using: &rng)
            let end = min(other.count, start + Int.random(in: 0...256, using: &rng))
            b.insert(contentsOf: other[start..<end], at: at)
        default:  // a random byte
            b.insert(UInt8.random(in: 0...255, using: &rng), at: at)
        }
    }
    return b.count > 128 * 1024 ? Array(b.prefix(128 * 1024)) : b
}

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
if let replay = options.replay {
    guard let data = FileManager.default.contents(atPath: replay), let newline = data.firstIndex(of: 0x0A),
          let target = Target(rawValue: String(decoding: data[..<newline], as: UTF8.self)) else { fail("'\(replay)' is no saved input") }
    let found = target.run(String(decoding: data[(newline + 1)...], as: UTF8.self))
    print(found.isEmpty ? "\(target.rawValue): nothing found" : found.joined(separator: "\n"))
    exit(found.isEmpty ? 0 : 1)
}
let corpus = loadCorpus(options.corpus)
let findings = options.work + "/findings"
try? FileManager.default.createDirectory(atPath: findings, withIntermediateDirectories: true)
let current = options.work + "/current"

/// A watchdog for inputs that hang the process itself: 10x the hang threshold, then abort (the driver
/// keeps WORK/current as the hang).
let startedAt = Atomic<Int64>(0)
func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
let watchdog = Thread {
    while true {
        Thread.sleep(forTimeInterval: 0.2)
        let started = startedAt.load(ordering: .relaxed)
        if started > 0, Double(nowMs() - started) > options.hangMs * 10 {
            FileHandle.standardError.write(Data("chaos-fuzz: an input ran longer than \(Int(options.hangMs * 10)) ms; it is in \(current)\n".utf8))
            abort()
        }
    }
}
watchdog.start()

var rng = SplitMix(state: options.seed)
var count = 0, problems = 0, hangs = 0
var slowest = (ms: 0.0, target: "", size: 0)
var perTarget: [String: Int] = [:]
let deadline = options.seconds > 0 ? Date().addingTimeInterval(options.seconds) : .distantFuture
while count < options.inputs && Date() < deadline {
    // Every corpus entry first goes through every parser as it is, then mutants.
    let targets = Target.allCases.count
    let input = count < corpus.count * targets ? corpus[count / targets]
        : mutate(corpus.randomElement(using: &rng)!, corpus: corpus, rng: &rng)
    let text = String(decoding: input, as: UTF8.self)
    let target = Target.allCases[count % targets]
    let saved = [UInt8](target.rawValue.utf8) + [0x0A] + input
    save(current, saved)
    let began = Date()
    startedAt.store(nowMs(), ordering: .relaxed)
    let found = target.run(text)
    let ms = Date().timeIntervalSince(began) * 1000
    startedAt.store(0, ordering: .relaxed)
    if ms > slowest.ms { slowest = (ms, target.rawValue, input.count) }
    if ms > options.hangMs { hangs += 1 }
    if !found.isEmpty || ms > options.hangMs {
        problems += found.isEmpty ? 0 : 1
        let name = "\(findings)/\(target.rawValue)-\(count)"
        save(name, saved)
        save(name + ".why", Array(((ms > options.hangMs ? ["took \(Int(ms)) ms"] : []) + found).joined(separator: "\n").utf8))
    }
    perTarget[target.rawValue, default: 0] += 1
    count += 1
}
try? FileManager.default.removeItem(atPath: current)
let summary: [String: Any] = ["inputs": count, "crashes": 0, "hangs": hangs, "problems": problems, "seed": options.seed,
                              "slowestMs": (slowest.ms * 10).rounded() / 10, "slowestTarget": slowest.target, "slowestBytes": slowest.size,
                              "corpus": corpus.count, "perTarget": perTarget]
let json = (try? JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])) ?? Data()
print(String(decoding: json, as: UTF8.self))
exit(hangs == 0 && problems == 0 ? 0 : 1)
