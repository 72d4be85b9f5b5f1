import Testing
@testable import ChaosCore

@Suite("Selection: how many of the matches to hit, and which")
struct SelectionTests {
    /// ceil(available * percent / 100) for percent = tenths / 10, in exact integer arithmetic.
    static func exactPercentSize(_ available: Int, tenths: Int) -> Int {
        (available * tenths + 999) / 1_000
    }

    static func randomSelection(_ rng: inout SplitMix64) -> (Selection, tenths: Int?) {
        let count: Int? = Bool.random(using: &rng) ? nil : Int.random(in: 1...600, using: &rng)
        // Percent in tenths from 0.1% to 100%, and sometimes absent.
        let tenths: Int? = Bool.random(using: &rng) ? nil : Int.random(in: 1...1_000, using: &rng)
        return (Selection(count: count, percent: tenths.map { Double($0) / 10 }), tenths)
    }

    @Test("size(of:) obeys its bounds for random counts and percents", arguments: propertySeeds)
    func sizeProperties(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<5_000 {
            let available = Int.random(in: 0...500, using: &rng)
            let (selection, tenths) = Self.randomSelection(&rng)
            let n = selection.size(of: available)
            let context: Comment = "seed \(seed): available \(available), count \(String(describing: selection.count)), percent \(String(describing: selection.percent))"
            #expect(n >= 0, context)
            #expect(n <= available, context)
            if let count = selection.count { #expect(n <= count, context) }
            var expected = available
            if let count = selection.count { expected = min(expected, count) }
            if let tenths { expected = min(expected, Self.exactPercentSize(available, tenths: tenths)) }
            #expect(n == expected, context)
            if available > 0 && (selection.percent ?? 1) > 0 { #expect(n >= 1, context) }
            if available == 0 { #expect(n == 0, context) }
        }
    }

    @Test("size(of:) with whole percents is exactly ceil(available * percent / 100), bounded by count")
    func wholePercentsExhaustive() {
        for available in 0...500 {
            for percent in 0...100 {
                let expected = (available * percent + 99) / 100
                #expect(Selection(percent: Double(percent)).size(of: available) == expected, "\(percent)% of \(available)")
                #expect(Selection(count: 3, percent: Double(percent)).size(of: available) == min(3, expected), "\(percent)% of \(available), at most 3")
            }
        }
    }

    @Test("worked examples", arguments: [
        (Selection(), 10, 10),
        (Selection(count: 3), 10, 3),
        (Selection(count: 30), 10, 10),
        (Selection(percent: 1), 3, 1),
        (Selection(percent: 50), 5, 3),
        (Selection(percent: 100), 7, 7),
        (Selection(percent: 250), 7, 7),
        (Selection(percent: 0), 7, 0),
        (Selection(percent: -5), 7, 0),
        (Selection(count: 0), 7, 0),
        (Selection(count: -2), 7, 0),
        (Selection(count: 2, percent: 50), 10, 2),
        (Selection(count: 9, percent: 50), 10, 5),
        (Selection(count: 5, percent: 50), 0, 0),
    ] as [(Selection, Int, Int)])
    func examples(selection: Selection, available: Int, size: Int) {
        #expect(selection.size(of: available) == size)
    }

    @Test("choose() returns size(of:) distinct candidates, all from the list", arguments: propertySeeds)
    func chooseProperties(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<1_000 {
            let available = Int.random(in: 0...500, using: &rng)
            let candidates = (0..<available).map { 1_000 + $0 }  // distinct pids, oldest first
            var (selection, _) = Self.randomSelection(&rng)
            selection.random = [nil, true, false].randomElement(using: &rng) ?? nil
            let chosen = selection.choose(from: candidates, using: &rng)
            let context: Comment = "seed \(seed): \(available) candidates, \(selection)"
            #expect(chosen.count == selection.size(of: available), context)
            #expect(Set(chosen).count == chosen.count, context)
            #expect(Set(chosen).isSubset(of: Set(candidates)), context)
            if selection.random == false { #expect(chosen == Array(candidates.prefix(chosen.count)), context) }
        }
    }

    @Test("choose() is deterministic for a seeded generator", arguments: propertySeeds)
    func chooseIsDeterministic(seed: UInt64) {
        let candidates = Array(1...200)
        let selection = Selection(count: 17, random: true)
        var a = SplitMix64(seed: seed)
        var b = SplitMix64(seed: seed)
        let first = selection.choose(from: candidates, using: &a)
        let second = selection.choose(from: candidates, using: &b)
        #expect(first == second)
        #expect(first.count == 17)
    }

    @Test("random choice (the default) does not always take the oldest")
    func randomIsRandom() {
        var rng = SplitMix64(seed: 99)
        let candidates = Array(1...100)
        let picks = (0..<20).map { _ in Selection(count: 5).choose(from: candidates, using: &rng) }
        #expect(picks.contains { $0 != [1, 2, 3, 4, 5] })
        #expect(Set(picks.map { $0 }).count > 1)
    }

    @Test("random: false takes the oldest first, in order")
    func notRandomTakesPrefix() {
        var rng = SplitMix64(seed: 1)
        #expect(Selection(count: 3, random: false).choose(from: [10, 20, 30, 40, 50], using: &rng) == [10, 20, 30])
        #expect(Selection(percent: 50, random: false).choose(from: ["a", "b", "c"], using: &rng) == ["a", "b"])
        #expect(Selection(random: false).choose(from: [Int](), using: &rng).isEmpty)
    }
}
