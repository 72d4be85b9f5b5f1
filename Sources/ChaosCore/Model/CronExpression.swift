/// A five-field cron expression: `minute hour day-of-month month day-of-week`, or six fields with
/// the seconds first (`*/10 * * * * *`: every ten seconds, as robfig/cron and Quartz write it).
///
/// Each field takes `*`, a value, a range `a-b`, a step `*/n` or `a-b/n`, and comma lists. Months and
/// weekdays also take names (`jan`, `mon`); weekday 0 and 7 are both Sunday.
public struct CronExpression: Hashable, Sendable, Codable, CustomStringConvertible {
    public let text: String
    /// `[0]` for a five-field expression.
    public let seconds: Set<Int>
    public let minutes: Set<Int>
    public let hours: Set<Int>
    public let daysOfMonth: Set<Int>
    public let months: Set<Int>
    /// 0 = Sunday ... 6 = Saturday.
    public let daysOfWeek: Set<Int>
    /// Whether day-of-month / day-of-week were restricted (cron ORs them when both are). A field that
    /// starts with `*` (`*`, `*/2`) is unrestricted, as in Vixie cron and cronie.
    public let domRestricted: Bool
    public let dowRestricted: Bool

    /// Why an expression is invalid.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// Parses `text`.
    /// - Throws: ``ParseError`` naming the field at fault.
    public init(_ text: String) throws(ParseError) {
        var fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 || fields.count == 6 else {
            throw ParseError(description: "'\(text)' has \(fields.count) fields; cron needs 5 (minute hour day-of-month month day-of-week), or 6 with the seconds first")
        }
        self.text = text
        seconds = fields.count == 6 ? try CronExpression.field(fields.removeFirst(), "second", 0...59, names: []) : [0]
        minutes = try CronExpression.field(fields[0], "minute", 0...59, names: [])
        hours = try CronExpression.field(fields[1], "hour", 0...23, names: [])
        daysOfMonth = try CronExpression.field(fields[2], "day-of-month", 1...31, names: [])
        months = try CronExpression.field(fields[3], "month", 1...12, names: CronExpression.monthNames, nameBase: 1)
        let dow = try CronExpression.field(fields[4], "day-of-week", 0...7, names: CronExpression.dayNames)
        daysOfWeek = Set(dow.map { $0 == 7 ? 0 : $0 })
        // As in Vixie cron and cronie: a day field starting with '*' ('*', '*/2') leaves the days unrestricted.
        domRestricted = !fields[2].hasPrefix("*")
        dowRestricted = !fields[4].hasPrefix("*")
    }

    static func field(_ text: String, _ what: String, _ range: ClosedRange<Int>, names: [String], nameBase: Int = 0) throws(ParseError) -> Set<Int> {
        var out = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let stepSplit = part.split(separator: "/", omittingEmptySubsequences: false)
            guard (1...2).contains(stepSplit.count) else { throw ParseError(description: "\(what) '\(part)' is malformed") }
            var step = 1
            if stepSplit.count == 2 {
                guard let s = plainInteger(stepSplit[1]), s > 0 else { throw ParseError(description: "\(what) step '\(stepSplit[1])' must be a positive number") }
                step = s
            }
            let base = stepSplit[0]
            let lo: Int, hi: Int
            if base == "*" {
                lo = range.lowerBound; hi = range.upperBound
            } else {
                let bounds = base.split(separator: "-", omittingEmptySubsequences: false)
                guard (1...2).contains(bounds.count) else { throw ParseError(description: "\(what) '\(part)' is malformed") }
                func value(_ s: Substring) throws(ParseError) -> Int {
                    if let n = plainInteger(s) {
                        guard range.contains(n) else { throw ParseError(description: "\(what) \(n) is outside \(range.lowerBound)-\(range.upperBound)") }
                        return n
                    }
                    if let i = names.firstIndex(of: s.lowercased()) { return i + nameBase }
                    throw ParseError(description: "\(what) '\(s)' is not a number" + (names.isEmpty ? "" : " or a name (\(names.joined(separator: ", ")))"))
                }
                lo = try value(bounds[0])
                hi = bounds.count == 2 ? try value(bounds[1]) : (stepSplit.count == 2 ? range.upperBound : lo)
                guard lo <= hi else { throw ParseError(description: "\(what) range '\(base)' runs backwards") }
            }
            out.formUnion(stride(from: lo, through: hi, by: step))
        }
        return out
    }

    public var description: String { text }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let t = try c.decode(String.self)
        do { try self.init(t) } catch { throw DecodingError.dataCorruptedError(in: c, debugDescription: error.description) }
    }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(text) }
}
