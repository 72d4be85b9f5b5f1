import AsyncHTTPClient
public import ChaosCore
import Foundation
import NIOCore
import NIOHTTP1

/// An instant query per observation: the value of the first sample (vector) or the scalar. A
/// Prometheus that does not answer, or answers with an error, says nothing about the system: `blind`.
/// An empty result leaves the value `nil` (the tolerance judges that blind too).
public struct PrometheusProbe: ProbeRunner {
    public let spec: ProbeSpec
    let client: HTTPClient

    /// The most of a Prometheus answer read: a query for one value should not return more.
    static let answerLimit = 4 << 20

    init(spec: ProbeSpec, client: HTTPClient) {
        self.spec = spec
        self.client = client
    }

    public func observe() async -> Observation {
        let watch = Stopwatch()
        let base = spec.url ?? ""
        guard HTTPExchange.isHTTPURL(base) else { return watch.blind(spec, "'\(base)' is not a valid http:// or https:// Prometheus URL") }
        let request = Self.request(base: base, query: spec.query ?? "")
        let client = self.client
        let timeout = spec.timeout
        let answer: HTTPExchange.Answer?
        do {
            answer = try await Deadline.run(within: timeout.duration) {
                try await HTTPExchange.perform(client, request, timeout: timeout, limit: PrometheusProbe.answerLimit)
            }
        } catch {
            if Task.isCancelled { return watch.cancelled(spec) }
            switch NetworkTrouble.classify(error, timeout: timeout) {
            case .failure(let reason), .blind(let reason): return watch.blind(spec, "Prometheus at \(base): \(reason)")
            }
        }
        if Task.isCancelled { return watch.cancelled(spec) }
        guard let answer else { return watch.blind(spec, "Prometheus at \(base) did not answer within \(timeout)") }
        var o = watch.observation(spec)
        o.status = answer.status
        switch Self.value(status: answer.status, body: answer.body) {
        case .success(let v): o.value = v
        case .failure(let e): o.blind = "Prometheus at \(base): \(e.message)"
        }
        return o
    }

    static func request(base: String, query: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: queryURL(base: base, query: query))
        request.method = .GET
        request.headers.add(name: "accept", value: "application/json")
        return request
    }

    /// `<base>/api/v1/query?query=<query, percent-encoded>`.
    static func queryURL(base: String, query: String) -> String {
        var b = base
        while b.hasSuffix("/") { b.removeLast() }
        return b + "/api/v1/query?query=" + percentEncoded(query)
    }

    /// Every byte but the unreserved characters of RFC 3986 percent-encoded.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 0x0F)])
            }
        }
        return out
    }

    /// The value of an answer to an instant query: `nil` for an empty vector, an error for anything
    /// that is not a successful vector or scalar.
    static func value(status: Int, body: [UInt8]) -> Result<Double?, ChaosError> {
        let answer: QueryAnswer
        do { answer = try JSONDecoder().decode(QueryAnswer.self, from: Data(body)) } catch {
            if !(200..<300).contains(status) { return .failure(problem("answered HTTP \(status)")) }
            return .failure(problem("the answer is not a query result (\(error))"))
        }
        guard answer.status == "success", (200..<300).contains(status) else {
            let detail = [answer.errorType, answer.error].compactMap { $0 }.joined(separator: ": ")
            return .failure(problem("the query failed (HTTP \(status)\(detail.isEmpty ? "" : ", \(detail)"))"))
        }
        guard let data = answer.data else { return .failure(problem("the answer has no data")) }
        switch data.resultType {
        case "vector":
            guard let first = data.vector?.first else { return .success(nil) }
            return sampleValue(first.value)
        case "scalar":
            guard let sample = data.scalar else { return .failure(problem("the scalar result has no value")) }
            return sampleValue(sample)
        default:
            return .failure(problem("the query returns a \(data.resultType), not an instant vector or scalar"))
        }
    }

    static func sampleValue(_ sample: Sample) -> Result<Double?, ChaosError> {
        guard let v = number(sample.value) else { return .failure(problem("'\(sample.value)' is not a number")) }
        return .success(v)
    }

    /// Prometheus writes sample values as text: decimals, `NaN`, `+Inf`, `-Inf`.
    static func number(_ text: String) -> Double? {
        switch text {
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(text)
        }
    }

    static func problem(_ text: String) -> ChaosError { ChaosError("probe.prometheus", text) }

    // MARK: the answer

    struct QueryAnswer: Decodable {
        var status: String
        var data: QueryData?
        var errorType: String?
        var error: String?
    }

    struct QueryData: Decodable {
        var resultType: String
        var vector: [VectorSample]?
        var scalar: Sample?

        enum CodingKeys: String, CodingKey { case resultType, result }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            resultType = try c.decode(String.self, forKey: .resultType)
            switch resultType {
            case "vector": vector = try c.decode([VectorSample].self, forKey: .result)
            case "scalar": scalar = try c.decode(Sample.self, forKey: .result)
            default: break
            }
        }
    }

    struct VectorSample: Decodable {
        var value: Sample
    }

    /// `[<unix time>, "<value>"]`.
    struct Sample: Decodable {
        var time: Double
        var value: String

        init(from decoder: any Decoder) throws {
            var c = try decoder.unkeyedContainer()
            time = try c.decode(Double.self)
            value = try c.decode(String.self)
        }
    }
}
