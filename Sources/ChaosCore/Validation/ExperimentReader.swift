/// Builds an ``Experiment`` from a document, reporting every problem.
struct ExperimentReader {
    let r: FieldReader
    init(_ r: FieldReader) { self.r = r }

    func read(_ top: MappingReader) -> Experiment? {
        top.allow("apiVersion", "kind")
        let name = top.required("name", hint: "add e.g. 'name: kill-db-primary'") { NameRule.read(r, $0, $1) }
        let description = top.optional("description") { r.string($0, $1, allowEmpty: true) }
        let fault = top.required("fault", hint: "add e.g. 'fault: {type: process.kill}'", readFault)
        let target = top.required("target", hint: "add e.g. 'target: db-primary' (an inventory target) or 'target: {process: {name: redis-server}}'") {
            readTarget($0, $1, fault: fault)
        }
        let probes = top.optional("probes") { r.list($0, $1, readProbe) } ?? []
        // Probe names as written: stopWhen refers to them even when a probe has other problems.
        let probeNames = WrittenNames(top.node("probes"), list: "probes")
        probeNames.reportDuplicates(r.sink, message: { "'\($0)' is used by another probe" }, hint: "give each probe its own name")
        let expect = top.optional("expect", readExpect) ?? ExpectSpec()
        let stopWhen = top.optional("stopWhen") { r.list($0, $1) { readStop($0, $1, probes: probeNames.texts) } } ?? []
        let schedule = top.optional("schedule", readSchedule)
        let safety = top.optional("safety", readSafety) ?? SafetySpec()
        let weight = top.optional("weight") { r.number($0, $1, in: 0.01...100) } ?? 1
        top.finish()
        guard let name, let target, let fault else { return nil }
        return Experiment(name: name, description: description, target: target, fault: fault, probes: probes,
                          expect: expect, stopWhen: stopWhen, schedule: schedule, safety: safety, weight: weight)
    }

    // MARK: target

    func readTarget(_ node: DocumentNode, _ path: String, fault: FaultSpec?) -> TargetSpec? {
        if case .scalar = node {
            guard let ref = NameRule.read(r, node, path) else { return nil }
            return TargetSpec(ref: ref)
        }
        guard let m = r.mapping(node, path) else { return nil }
        let ref = m.optional("ref") { NameRule.read(r, $0, $1) }
        let host = m.optional("host") { r.string($0, $1) }
        let domain = m.optional("domain") { (n: DocumentNode, p: String) -> String? in
            guard let text = r.string(n, p) else { return nil }
            guard let d = FailureDomain(parsing: text), NameRule.isValid(d.kind), FailureDomain.isValidValue(d.value) else {
                r.sink.report(n.location, p, "'\(text)' is not a failure domain", hint: "write KIND:VALUE as the hosts' 'domains' say, e.g. 'zone:b' or 'rack:r12'")
                return nil
            }
            guard !FailureDomain.reservedKinds.contains(d.kind) else {
                r.sink.report(n.location, p, "'\(text)' is not a failure domain", hint: d.kind == "host" ? "write 'host: \(d.value)' for one host" : "use a domain kind of the hosts, e.g. 'zone:b'")
                return nil
            }
            return d.description
        }
        let process = m.optional("process") { readProcessSelector(r, $0, $1) }
        let selection = readSelection(m)
        m.finish()
        if m.has("ref") && (m.has("host") || m.has("process") || m.has("domain")) {
            r.sink.report(m.location, path, "'ref' names an inventory target, so 'host', 'domain' and 'process' cannot be given too",
                          hint: "either refer to the inventory target or describe the target inline")
        }
        if m.has("host") && m.has("domain") {
            r.sink.report(m.location(of: "domain"), "\(path).domain", "'host' and 'domain' both say where",
                          hint: "give 'host: db1' for one host or 'domain: zone:b' for every host of a zone")
        }
        // What the fault needs from an inline target, judged by the keys written: a value that is wrong
        // (e.g. 'process: redis-server', or a unit without its suffix) is reported once, where it is.
        if let fault, !m.has("ref") {
            let processNode = m.node("process")
            switch fault.type.subject {
            case .processes where processNode == nil:
                r.sink.report(m.location, "\(path).process", "\(fault.type) needs processes to act on",
                              hint: "add e.g. 'process: {name: redis-server}' (pid, pidfile, name, match, port or unit)")
            case .unit where processNode == nil || (processNode?.isMapping == true && processNode?.value("unit") == nil):
                r.sink.report(m.location(of: "process"), "\(path).process.unit", "\(fault.type) needs a systemd unit",
                              hint: "add e.g. 'process: {unit: redis-server.service}'")
            case .host where processNode != nil:
                r.sink.report(m.location(of: "process"), "\(path).process", "\(fault.type) acts on the whole host, not on processes",
                              hint: "remove 'process' and keep only 'host'")
            default: break
            }
        }
        return TargetSpec(ref: ref, host: host, domain: domain, process: process, selection: selection ?? Selection())
    }

    func readSelection(_ m: MappingReader) -> Selection? {
        let count = m.optional("count") { r.int($0, $1, in: 1...100_000) }
        let percent = m.optional("percent") { r.percent($0, $1, in: 0.001...100) }
        let random = m.optional("random", r.bool)
        return Selection(count: count, percent: percent, random: random)
    }

    // MARK: fault

    func readFault(_ node: DocumentNode, _ path: String) -> FaultSpec? {
        guard let m = r.mapping(node, path) else { return nil }
        let kinds = FaultKind.allCases.map(\.rawValue)
        let type = m.required("type", hint: "add e.g. 'type: process.kill'") { r.oneOf($0, $1, kinds) }.flatMap(FaultKind.init(rawValue:))
        let duration = m.optional("duration") { r.duration($0, $1, atLeast: .milliseconds(100)) }
        var params = FaultParameters()
        if let type, let withNode = m.node("with") {
            params = FaultParameterReader(r, type.descriptor).read(withNode, m.child("with")) ?? params
        } else if let type {
            // No 'with' at all: the kind's required parameters are still missing.
            FaultParameterReader(r, type.descriptor).checkAbsent(path: m.child("with"), at: m.location)
        } else {
            m.allow("with")  // with no valid type, its parameters cannot be judged
        }
        m.finish()
        guard let type else { return nil }
        if type.isReversible && duration == nil && !m.has("duration") {
            r.sink.report(m.location, "\(path).duration", "\(type) is reversible and needs a duration", hint: "add e.g. 'duration: 30s'")
        }
        if !type.isReversible, m.has("duration") {
            r.sink.report(m.location(of: "duration"), "\(path).duration", "\(type) cannot be undone, so it has no duration",
                          hint: "remove 'duration'; recovery is measured from the moment of the fault")
        }
        return FaultSpec(type: type, duration: duration, with: params)
    }

    // MARK: probes

    func readProbe(_ node: DocumentNode, _ path: String) -> ProbeSpec? {
        ProbeReader(r).read(node, path)
    }

    // MARK: expect, stopWhen, safety

    func readExpect(_ node: DocumentNode, _ path: String) -> ExpectSpec? {
        guard let m = r.mapping(node, path) else { return nil }
        var e = ExpectSpec()
        if let a = m.optional("availability", { n, p -> (Double?, Double?, Double?)? in
            guard let am = r.mapping(n, p) else { return nil }
            let v = (am.optional("before") { r.percent($0, $1) }, am.optional("during") { r.percent($0, $1) }, am.optional("after") { r.percent($0, $1) })
            am.finish()
            return v
        }) {
            e.availabilityBefore = a.0 ?? e.availabilityBefore
            e.availabilityDuring = a.1 ?? e.availabilityDuring
            e.availabilityAfter = a.2 ?? e.availabilityAfter
        }
        e.maxOutage = m.optional("maxOutage") { r.duration($0, $1) } ?? e.maxOutage
        e.recoverWithin = m.optional("recoverWithin") { r.duration($0, $1) } ?? e.recoverWithin
        if let l = m.optional("latency", { n, p -> (ChaosDuration?, ChaosDuration?, ChaosDuration?)? in
            guard let lm = r.mapping(n, p) else { return nil }
            let v = (lm.optional("p50") { r.duration($0, $1) }, lm.optional("p95") { r.duration($0, $1) }, lm.optional("p99") { r.duration($0, $1) })
            lm.finish()
            return v
        }) {
            e.latencyP50 = l.0; e.latencyP95 = l.1; e.latencyP99 = l.2
        }
        m.finish()
        return e
    }

    /// - Parameter probes: the probe names written in the file.
    func readStop(_ node: DocumentNode, _ path: String, probes names: [String]) -> StopCondition? {
        guard let m = r.mapping(node, path) else { return nil }
        let probe = m.optional("probe") { r.string($0, $1) }
        if let probe, !names.contains(probe) {
            let hint = Spelling.closest(to: probe, in: names).map { "did you mean '\($0)'?" }
                ?? (names.isEmpty ? "define the probe under 'probes'" : "probes here: \(names.map { "'\($0)'" }.joined(separator: ", "))")
            r.sink.report(m.valueLocation(of: "probe"), "\(path).probe", "no probe is named '\(probe)'", hint: hint)
        }
        let below = m.required("availabilityBelow", hint: "add e.g. 'availabilityBelow: 50%'") { r.percent($0, $1, in: 0.1...100) }
        let window = m.required("for", hint: "add e.g. 'for: 10s'") { r.duration($0, $1, atLeast: .milliseconds(100)) }
        m.finish()
        guard let below, let window else { return nil }
        return StopCondition(probe: probe, availabilityBelow: below, window: window)
    }

    func readSafety(_ node: DocumentNode, _ path: String) -> SafetySpec? {
        guard let m = r.mapping(node, path) else { return nil }
        var s = SafetySpec()
        s.maxCount = m.optional("maxCount") { r.int($0, $1, in: 1...100_000) }
        s.maxPercent = m.optional("maxPercent") { r.percent($0, $1, in: 0.001...100) }
        s.dryRun = m.optional("dryRun", r.bool) ?? false
        s.allowProtected = m.optional("allowProtected", r.bool) ?? false
        m.finish()
        return s
    }

    // MARK: schedule

    func readSchedule(_ node: DocumentNode, _ path: String) -> ScheduleSpec? {
        guard let m = r.mapping(node, path) else { return nil }
        var s = ScheduleSpec()
        s.cron = m.optional("cron") { (n: DocumentNode, p: String) -> CronExpression? in
            guard let text = r.string(n, p) else { return nil }
            do throws(CronExpression.ParseError) { return try CronExpression(text) } catch {
                r.sink.report(n.location, p, error.description, hint: "e.g. '0 10 * * mon-fri' (10:00 on weekdays)")
                return nil
            }
        }
        s.monkey = m.optional("monkey") { (n: DocumentNode, p: String) -> MonkeySchedule? in
            guard let mm = r.mapping(n, p) else { return nil }
            let mean = mm.required("meanWorkdays", hint: "add e.g. 'meanWorkdays: 5'") { r.number($0, $1, in: 1...365) }
            let minW = mm.optional("minWorkdays") { r.number($0, $1, in: 0...365) } ?? 1
            mm.finish()
            guard let mean else { return nil }
            if minW > mean { r.sink.report(mm.location, "\(p).minWorkdays", "is larger than meanWorkdays", hint: "keep minWorkdays at most meanWorkdays") }
            return MonkeySchedule(meanWorkdays: mean, minWorkdays: minW)
        }
        if m.has("cron") == m.has("monkey") {
            r.sink.report(m.location, path, m.has("cron") ? "gives both 'cron' and 'monkey'" : "has neither 'cron' nor 'monkey'",
                          hint: "give exactly one: 'cron: \"0 10 * * mon-fri\"' or 'monkey: {meanWorkdays: 5}'")
        }
        s.timezone = m.optional("timezone") { (n: DocumentNode, p: String) -> String? in
            guard let tz = r.string(n, p) else { return nil }
            guard TimeZoneNames.isKnown(tz) else {
                let hint = TimeZoneNames.closest(to: tz).map { "did you mean '\($0)'?" } ?? "use a name such as 'UTC', 'Europe/Paris' or 'America/New_York'"
                r.sink.report(n.location, p, "'\(tz)' is not an IANA time zone", hint: hint)
                return nil
            }
            return tz
        } ?? s.timezone
        s.workdays = m.optional("workdays") { n, p in
            let days = r.list(n, p) { item, ip in r.oneOf(item, ip, Weekday.allCases.map(\.rawValue)).flatMap(Weekday.init(rawValue:)) }
            if days?.isEmpty == true {
                r.sink.report(n.location, p, "must not be empty", hint: "list the days runs may happen on, e.g. '[mon, tue, wed, thu, fri]'")
                return nil
            }
            return days
        } ?? s.workdays
        s.hours = m.optional("hours") { (n: DocumentNode, p: String) -> TimeWindow? in
            guard let text = r.string(n, p) else { return nil }
            guard let w = TimeWindow(text) else {
                r.sink.report(n.location, p, "'\(text)' is not a time window", hint: "write 'HH:MM-HH:MM' with the end after the start (24:00 at the latest), e.g. '09:00-17:00'")
                return nil
            }
            return w
        } ?? s.hours
        s.holidays = m.optional("holidays") { n, p in
            r.list(n, p) { item, ip in
                guard let d = r.string(item, ip) else { return nil }
                guard CalendarText.isDate(d) else { r.sink.report(item.location, ip, "'\(d)' is not a date", hint: "write YYYY-MM-DD, e.g. '2026-12-25'"); return nil }
                return d
            }
        } ?? []
        s.holidayCalendar = m.optional("holidayCalendar") { r.string($0, $1) }
        s.blackouts = m.optional("blackouts") { n, p in
            r.list(n, p) { item, ip in
                guard let bm = r.mapping(item, ip) else { return nil }
                func stamp(_ node: DocumentNode, _ sp: String) -> String? {
                    guard let t = r.string(node, sp) else { return nil }
                    guard CalendarText.isDateOrDateTime(t) else {
                        r.sink.report(node.location, sp, "'\(t)' is not a date or date-time", hint: "write e.g. '2026-12-20' or '2026-12-20T18:00:00Z'")
                        return nil
                    }
                    return t
                }
                let from = bm.required("from", hint: "add e.g. 'from: 2026-12-20'", stamp)
                let to = bm.required("to", hint: "add e.g. 'to: 2027-01-03'", stamp)
                let reason = bm.optional("reason") { r.string($0, $1) }
                bm.finish()
                guard let from, let to else { return nil }
                // Instants, not texts: offsets and dates against date-times compare correctly.
                if let start = CalendarText.instant(from, timeZone: s.timezone), let end = CalendarText.instant(to, timeZone: s.timezone), end < start {
                    r.sink.report(bm.valueLocation(of: "to"), "\(ip).to", "ends before it starts", hint: "swap 'from' and 'to'")
                }
                return Blackout(from: from, to: to, reason: reason)
            }
        } ?? []
        if let sp = m.optional("minSpacing", { n, p -> (ChaosDuration?, ChaosDuration?)? in
            guard let mm = r.mapping(n, p) else { return nil }
            let v = (mm.optional("target") { r.duration($0, $1) }, mm.optional("group") { r.duration($0, $1) })
            mm.finish()
            return v
        }) {
            s.minSpacingTarget = sp.0; s.minSpacingGroup = sp.1
        }
        m.finish()
        return s
    }
}

/// Reads a process selector (shared by experiments and inventories).
func readProcessSelector(_ r: FieldReader, _ node: DocumentNode, _ path: String) -> ProcessSelector? {
    guard let m = r.mapping(node, path) else { return nil }
    var s = ProcessSelector()
    s.pid = m.optional("pid") { r.int($0, $1, in: 1...4_194_304) }.map(Int32.init)
    s.pidfile = m.optional("pidfile") { r.string($0, $1) }
    s.name = m.optional("name") { n, p in
        guard let v = r.string(n, p) else { return nil }
        if v.utf8.count > 15 {
            r.sink.report(n.location, p, "'\(v)' is longer than 15 bytes, and Linux cuts process names at 15",
                          hint: "use the first 15 characters '\(String(v.utf8.prefix(15)) ?? v)', or 'match' on the command line")
        }
        return v
    }
    s.match = m.optional("match") { n, p in
        guard let v = r.string(n, p) else { return nil }
        if let problem = BoundedRegex.validate(v) { r.sink.report(n.location, p, "'\(v)' is not a valid regular expression: \(problem)", hint: "check brackets and escapes"); return nil }
        return v
    }
    s.port = m.optional("port") { r.int($0, $1, in: 1...65535) }
    s.unit = m.optional("unit") { n, p in
        guard let v = r.string(n, p) else { return nil }
        if !v.contains(".") { r.sink.report(n.location, p, "'\(v)' has no unit type suffix", hint: "write the full unit name, e.g. '\(v).service'"); return nil }
        return v
    }
    s.user = m.optional("user", r.bool)
    m.finish()
    let set = [m.has("pid"), m.has("pidfile"), m.has("name"), m.has("match"), m.has("port"), m.has("unit")].filter { $0 }.count
    if set != 1 {
        r.sink.report(m.location, path, set == 0 ? "names no process" : "gives more than one way to find the process",
                      hint: "give exactly one of pid, pidfile, name, match, port or unit")
    }
    if m.has("user") && !m.has("unit") {
        r.sink.report(m.location(of: "user"), "\(path).user", "only applies to 'unit'", hint: "remove 'user' or select by 'unit'")
    }
    return s
}
