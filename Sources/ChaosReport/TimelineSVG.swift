import ChaosCore

/// One run's timeline as inline SVG: x is time since the run start; shaded bands for the phases, one
/// lane per probe with a mark per sample (shape and colour by judgement, with a tooltip), vertical
/// lines at the fault's moments, an axis in seconds and a legend in words.
struct TimelineSVG {
    let facts: RunFacts
    /// Unique within the page (for aria references).
    let id: String

    static let width = 960.0
    static let left = 150.0, right = 24.0
    static let laneHeight = 24.0
    static let bandTop = 6.0, laneTop = 78.0

    func render() -> String {
        let h = Escape.html
        let lanes = probeNames
        let laneBottom = Self.laneTop + Self.laneHeight * Double(max(1, lanes.count))
        let axisY = laneBottom + 6
        let legendY = axisY + 40
        let height = legendY + 18
        var out = [
            "<svg class=\"timeline\" viewBox=\"0 0 \(n(Self.width)) \(n(height))\" "
                + "role=\"img\" aria-labelledby=\"\(id)-title \(id)-desc\">",
            "<title id=\"\(id)-title\">Timeline of \(h(facts.run.experiment)), run \(h(facts.run.runID))</title>",
            "<desc id=\"\(id)-desc\">\(h(description))</desc>",
        ]
        out += bands(bottom: laneBottom)
        out += lanesAndMarks(lanes)
        out += axis(y: axisY)
        out += moments(bottom: laneBottom)
        out += legend(y: legendY)
        out.append("</svg>")
        return out.joined(separator: "\n")
    }

    // MARK: Scale

    var span: (start: Int64, end: Int64) { facts.span }

    func x(_ at: Int64) -> Double {
        let (start, end) = span
        let plot = Self.width - Self.left - Self.right
        return Self.left + Double(at - start) / Double(end - start) * plot
    }

    /// A coordinate with one decimal.
    func n(_ v: Double) -> String { Format.fixed(v, 1) }

    // MARK: Parts

    var probeNames: [String] {
        var names: [String] = []
        for name in facts.run.journal.probes.map(\.name) + facts.run.journal.samples.map(\.probe) where !names.contains(name) {
            names.append(name)
        }
        return names
    }

    var description: String {
        let samples = facts.run.journal.samples
        let fail = samples.filter { if case .fail = $0.judgement { return true } else { return false } }.count
        let blind = samples.filter(\.judgement.isBlind).count
        return "\(samples.count) samples (\(samples.count - fail - blind) ok, \(fail) failed, \(blind) blind) over "
            + "\(Format.duration(span.end - span.start)); verdict \(facts.verdictLabel)."
    }

    static func bandLabel(_ phase: Phase) -> String {
        switch phase {
        case .before: return "before"
        case .during: return "during (fault)"
        case .after: return "after (recovery)"
        }
    }

    func bands(bottom: Double) -> [String] {
        facts.phaseWindows.map { w in
            let x0 = x(w.start), x1 = x(w.end)
            let label = Self.bandLabel(w.phase)
            var s = "<g class=\"band \(w.phase.rawValue)\"><rect x=\"\(n(x0))\" y=\"\(n(Self.bandTop))\" width=\"\(n(x1 - x0))\" "
                + "height=\"\(n(bottom - Self.bandTop))\"><title>\(label): \(Format.relative(w.start, from: facts.origin)) "
                + "to \(Format.relative(w.end, from: facts.origin))</title></rect>"
            if x1 - x0 >= 56 { s += "<text x=\"\(n(x0 + 4))\" y=\"\(n(Self.bandTop + 13))\">\(label)</text>" }
            return s + "</g>"
        }
    }

    func lanesAndMarks(_ lanes: [String]) -> [String] {
        let h = Escape.html
        var out: [String] = []
        if lanes.isEmpty {
            out.append("<text class=\"lane-label\" x=\"\(n(Self.left - 8))\" y=\"\(n(Self.laneTop + 16))\" text-anchor=\"end\">no samples</text>")
        }
        for (i, probe) in lanes.enumerated() {
            let y = Self.laneTop + Self.laneHeight * (Double(i) + 0.5)
            let shown = probe.count > 20 ? String(probe.prefix(19)) + "…" : probe
            out.append("<line class=\"lane\" x1=\"\(n(Self.left))\" y1=\"\(n(y))\" x2=\"\(n(Self.width - Self.right))\" y2=\"\(n(y))\"/>")
            out.append("<text class=\"lane-label\" x=\"\(n(Self.left - 8))\" y=\"\(n(y + 4))\" text-anchor=\"end\">"
                + "<title>\(h(probe))</title>\(h(shown))</text>")
        }
        let laneIndex = Dictionary(lanes.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        for sample in facts.run.journal.samples {
            let y = Self.laneTop + Self.laneHeight * (Double(laneIndex[sample.probe] ?? 0) + 0.5)
            out.append(mark(sample, x: x(sample.at), y: y))
        }
        return out
    }

    /// ok: a filled circle; fail: a cross; blind: a hollow square. Each with a tooltip in words.
    func mark(_ s: Sample, x: Double, y: Double) -> String {
        let word: String, shape: String
        switch s.judgement {
        case .ok:
            word = "ok"
            shape = "<circle class=\"mark ok\" cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"4\">"
        case .fail:
            word = "fail"
            shape = "<path class=\"mark fail\" d=\"M\(n(x - 4)) \(n(y - 4))L\(n(x + 4)) \(n(y + 4))M\(n(x + 4)) \(n(y - 4))L\(n(x - 4)) \(n(y + 4))\">"
        case .blind:
            word = "blind"
            shape = "<rect class=\"mark blind\" x=\"\(n(x - 3.5))\" y=\"\(n(y - 3.5))\" width=\"7\" height=\"7\">"
        }
        let why = s.judgement.reason.map { ": \($0)" } ?? ""
        let tip = "\(s.probe) \(Format.relative(s.at, from: facts.origin)) \(s.phase.rawValue): \(word)\(why) (\(Format.latency(s.latencyMs)))"
        return shape + "<title>\(Escape.html(tip))</title></" + (shape.hasPrefix("<circle") ? "circle>" : shape.hasPrefix("<path") ? "path>" : "rect>")
    }

    /// The axis: a tick every 1, 2, 5, 10... seconds from the run start, at most about twelve.
    func axis(y: Double) -> [String] {
        let (start, end) = span
        let total = Double(end - start) / 1000
        let step = Int64([1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400]
            .first { total / Double($0) <= 12 } ?? 86_400)
        var out = ["<g class=\"axis\"><line x1=\"\(n(Self.left))\" y1=\"\(n(y))\" x2=\"\(n(Self.width - Self.right))\" y2=\"\(n(y))\"/>"]
        let stepMs = step * 1000
        var k = (start - facts.origin) >= 0 ? (start - facts.origin + stepMs - 1) / stepMs : (start - facts.origin) / stepMs
        while facts.origin + k * stepMs <= end {
            let tx = x(facts.origin + k * stepMs)
            out.append("<line x1=\"\(n(tx))\" y1=\"\(n(y))\" x2=\"\(n(tx))\" y2=\"\(n(y + 5))\"/>"
                + "<text x=\"\(n(tx))\" y=\"\(n(y + 18))\" text-anchor=\"middle\">\(k * step) s</text>")
            k += 1
        }
        out.append("<text x=\"\(n(Self.left - 18))\" y=\"\(n(y + 18))\" text-anchor=\"end\">time since start</text></g>")
        return out
    }

    /// Vertical lines at injected, verified and reverted (and at alarms: stop tripped, revert failed,
    /// interrupted, error), labelled in staggered rows so close moments stay readable.
    func moments(bottom: Double) -> [String] {
        var list: [(name: String, at: Int64, alert: Bool)] = facts.faultMoments.compactMap { m in m.at.map { (m.name, $0, false) } }
        for e in facts.run.journal.events where [.stopTripped, .revertFailed, .interrupted, .error].contains(e.kind) {
            list.append((RunFacts.name(e.kind), e.at, true))
        }
        return list.enumerated().map { i, m in
            let mx = x(m.at)
            let ly = 32 + Double(i % 3) * 14
            let nearRight = mx > Self.width - Self.right - 140
            let label = "\(m.name) \(Format.relative(m.at, from: facts.origin))"
            return "<g class=\"moment\(m.alert ? " alert" : "")\"><line x1=\"\(n(mx))\" y1=\"\(n(ly + 3))\" x2=\"\(n(mx))\" y2=\"\(n(bottom))\"/>"
                + "<text x=\"\(n(nearRight ? mx - 3 : mx + 3))\" y=\"\(n(ly))\"\(nearRight ? " text-anchor=\"end\"" : "")>\(label)</text></g>"
        }
    }

    func legend(y: Double) -> [String] {
        var out = ["<g class=\"legend\">"]
        var lx = Self.left
        func item(_ swatch: String, _ label: String, _ width: Double) {
            out.append(swatch + "<text x=\"\(n(lx + 12))\" y=\"\(n(y + 4))\">\(label)</text>")
            lx += width
        }
        item("<circle class=\"key ok\" cx=\"\(n(lx + 4))\" cy=\"\(n(y))\" r=\"4\"/>", "ok", 50)
        item("<path class=\"key fail\" d=\"M\(n(lx)) \(n(y - 4))l8 8m0 -8l-8 8\"/>", "fail", 56)
        item("<rect class=\"key blind\" x=\"\(n(lx + 0.5))\" y=\"\(n(y - 3.5))\" width=\"7\" height=\"7\"/>", "blind", 70)
        for phase in Phase.allCases {
            item("<rect class=\"key band \(phase.rawValue)\" x=\"\(n(lx))\" y=\"\(n(y - 5))\" width=\"9\" height=\"10\"/>",
                 Self.bandLabel(phase), phase == .before ? 74 : 124)
        }
        out.append("</g>")
        return out
    }
}
