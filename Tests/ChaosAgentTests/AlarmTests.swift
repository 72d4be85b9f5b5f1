import ChaosCore
import Foundation
import Testing

@Suite("The reaper's alarm")
struct AlarmTests {
    @Test("a ring wakes a sleeper that would sleep forever; a ring with nobody asleep is kept for the next sleep")
    func ring() async {
        let alarm = Alarm()
        let start = ContinuousClock.now
        async let slept: Void = alarm.sleep(milliseconds: nil)
        try? await Task.sleep(for: .milliseconds(50))
        alarm.ring()
        await slept
        #expect(ContinuousClock.now - start >= .milliseconds(50))
        alarm.ring()
        await alarm.sleep(milliseconds: nil) // returns at once: the ring was kept
    }

    @Test("a timed sleep ends by itself, and a later ring is not lost")
    func timed() async {
        let alarm = Alarm()
        let start = ContinuousClock.now
        await alarm.sleep(milliseconds: 30)
        #expect(ContinuousClock.now - start >= .milliseconds(30))
        await alarm.sleep(milliseconds: 1)
        alarm.ring()
        await alarm.sleep(milliseconds: nil)
    }
}
