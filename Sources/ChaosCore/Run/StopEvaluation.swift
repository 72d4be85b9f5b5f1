extension StopCondition {
    /// Whether this condition trips at `now`, given the samples so far and when the fault began.
    ///
    /// It trips when the fault has been active for at least `window`, and the judged samples of the
    /// last `window` (of its probe, or of every probe) are less than `availabilityBelow` percent good.
    /// Blind samples do not count; a window without judged samples does not trip (blindness is the
    /// verdict's business, not a reason to abort).
    public func tripped(by samples: [Sample], now: Int64, faultSince: Int64) -> Bool {
        guard now - faultSince >= window.milliseconds else { return false }
        let from = now - window.milliseconds
        let recent = samples.filter { $0.at >= from && $0.at <= now && !$0.judgement.isBlind && (probe == nil || $0.probe == probe) }
        guard !recent.isEmpty else { return false }
        let good = Double(recent.filter(\.judgement.isOK).count) * 100 / Double(recent.count)
        return good < availabilityBelow
    }

    /// For people: "availability of web under 50 % for 10s".
    public var summary: String {
        "availability\(probe.map { " of \($0)" } ?? "") under \(availabilityBelow.formatted()) % for \(window)"
    }
}

extension Double {
    /// `50`, `99.5`.
    fileprivate func formatted() -> String { NumberText.format(self) }
}

extension SafetySpec {
    /// Why hitting `victims` of `matched` processes breaks this experiment's blast-radius limits, or nil.
    public func refusal(victims: Int, matched: Int) -> String? {
        if let maxCount, victims > maxCount {
            return "the target selects \(victims) processes, more than safety.maxCount (\(maxCount))"
        }
        if let maxPercent, matched > 0, Double(victims) * 100 / Double(matched) > maxPercent {
            let share = (Double(victims) * 1000 / Double(matched)).rounded() / 10
            return "the target selects \(victims) of \(matched) matching processes (\(share) %), more than safety.maxPercent (\(maxPercent) %)"
        }
        return nil
    }
}
