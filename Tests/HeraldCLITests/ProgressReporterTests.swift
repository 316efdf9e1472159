@testable import herald
import Synchronization
import Testing

/// A clock that moves only when the test moves it.
final class SteppedClock: Clock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let current = Mutex(Instant(offset: .zero))
    var now: Instant { current.withLock { $0 } }
    var minimumResolution: Duration { .nanoseconds(1) }
    func sleep(until deadline: Instant, tolerance: Duration?) async throws {}
    func advance(by duration: Duration) { current.withLock { $0 = $0.advanced(by: duration) } }
}

/// What a reporter wrote, in order.
final class Output: Sendable {
    private let writes = Mutex<[String]>([])
    var all: [String] { writes.withLock { $0 } }
    var text: String { all.joined() }
    func append(_ text: String) { writes.withLock { $0.append(text) } }
}

struct ProgressLineTests {
    let line = ProgressLine(label: "planning")

    @Test func aKnownTotalShowsCountsBarPercentRateAndETA() {
        #expect(line.render(done: 150_000, total: 590_111, elapsed: .seconds(12), width: 80)
            == "planning 150,000/590,111 [███████▎                     ]  25%  12,500/s  ETA 35s")
        // With a bar shorter than its longest, the line fills the width exactly.
        for (done, width) in [(150_000, 80), (590_111, 72), (0, 60), (1, 61), (590_110, 90)] {
            #expect(line.render(done: done, total: 590_111, elapsed: .seconds(12), width: width).count == width)
        }
        // A wide terminal: the bar stops at 40 columns.
        #expect(line.render(done: 1, total: 4, elapsed: .milliseconds(500), width: 200)
            == "planning 1/4 [██████████                              ]  25%  2/s  ETA 2s")
    }

    @Test func beforeAnythingIsDoneThereIsNoRateNorETA() {
        #expect(line.render(done: 0, total: 1_000, elapsed: .zero, width: 60)
            == "planning 0/1,000 [                        ]   0%  -/s  ETA -")
    }

    @Test func whenDoneTheTimeTakenReplacesTheETA() {
        #expect(line.render(done: 590_111, total: 590_111, elapsed: .seconds(72), width: 72)
            == "planning 590,111/590,111 [█████████████████████] 100%  8,196/s  in 1m12s")
        #expect(line.render(done: 10, total: 10, elapsed: .seconds(7_380), width: 50) == "planning 10/10 [█████████████] 100%  0/s  in 2h03m")
    }

    @Test func anUnknownTotalShowsCountRateAndElapsed() {
        #expect(line.render(done: 12_345, total: nil, elapsed: .milliseconds(1_500), width: 80) == "planning 12,345  8,230/s  2s")
        #expect(ProgressLine(label: "").render(done: 0, total: nil, elapsed: .zero, width: 80) == "0  -/s  0s")
    }

    @Test func aNarrowTerminalDropsTheBarThenCutsTheLine() {
        #expect(line.render(done: 5, total: 10, elapsed: .seconds(1), width: 40) == "planning 5/10  50%  5/s  ETA 1s")
        #expect(line.render(done: 5_000, total: 10_000, elapsed: .seconds(1), width: 20) == "planning 5,000/10,00")
    }

    @Test func durations() {
        #expect(ProgressLine.duration(0) == "0s")
        #expect(ProgressLine.duration(59.4) == "59s")
        #expect(ProgressLine.duration(59.6) == "1m00s")
        #expect(ProgressLine.duration(3_599) == "59m59s")
        #expect(ProgressLine.duration(3_600) == "1h00m")
        #expect(ProgressLine.duration(.infinity) == "0s")
    }
}

struct ProgressThrottleTests {
    @Test func atMostOneDrawPerIntervalAndAlwaysTheForcedOne() {
        var throttle = ProgressThrottle(interval: .milliseconds(100))
        let decisions = [0, 40, 99, 100, 150, 199, 200, 420].map { throttle.shouldDraw(at: .milliseconds($0)) }
        #expect(decisions == [true, false, false, true, false, false, true, true])
        #expect(throttle.shouldDraw(at: .milliseconds(430)) == false)
        #expect(throttle.shouldDraw(at: .milliseconds(430), force: true) == true)
        #expect(throttle.lastDraw == .milliseconds(430))
    }
}

struct ProgressReporterTests {
    func make(enabled: Bool = true) -> (ProgressReporter<SteppedClock>, SteppedClock, Output) {
        let clock = SteppedClock()
        let output = Output()
        let reporter = ProgressReporter(label: "planning", isEnabled: enabled, width: 50, clock: clock) { output.append($0) }
        return (reporter, clock, output)
    }

    @Test func redrawsInPlaceAtMostTenTimesASecondAndEndsTheLine() {
        let (reporter, clock, output) = make()
        reporter.update(done: 0, total: 100)
        for done in 1...10 {
            clock.advance(by: .milliseconds(30))
            reporter.hook(done, 100)
        }
        reporter.finish()
        // Drawn at 0, 120, 240 ms (every 100 ms at most), then the final line at 300 ms.
        #expect(output.all == [
            "\rplanning 0/100 [                ]   0%  -/s  ETA -",
            "\rplanning 4/100 [▌             ]   4%  33/s  ETA 3s",
            "\rplanning 8/100 [█             ]   8%  33/s  ETA 3s",
            "\rplanning 10/100 [█▎           ]  10%  33/s  ETA 3s",
            "\n",
        ])
        // Nothing after finish.
        clock.advance(by: .seconds(1))
        reporter.update(done: 50, total: 100)
        reporter.finish()
        #expect(output.all.count == 5)
    }

    @Test func aShorterLineBlanksWhatTheLongerOneLeft() {
        let (reporter, clock, output) = make()
        reporter.update(done: 1, total: nil)
        clock.advance(by: .seconds(1))
        reporter.update(done: 2, total: nil)
        #expect(output.all == ["\rplanning 1  -/s  0s", "\rplanning 2  2/s  1s"])
        let (other, otherClock, otherOutput) = make()
        otherClock.advance(by: .seconds(1))
        other.update(done: 1_000, total: nil)
        otherClock.advance(by: .seconds(1))
        other.update(done: 1_001, total: nil)
        #expect(otherOutput.all == ["\rplanning 1,000  1,000/s  1s", "\rplanning 1,001  501/s  2s  "])
    }

    @Test func disabledItWritesNothingAtAll() {
        let (reporter, clock, output) = make(enabled: false)
        reporter.update(done: 1, total: 10)
        clock.advance(by: .seconds(1))
        reporter.advance(by: 5)
        reporter.hook(9, 10)
        reporter.finish()
        #expect(output.all == [])
    }

    @Test func finishingWithNothingReportedWritesNothing() {
        let (reporter, _, output) = make()
        reporter.finish()
        #expect(output.all == [])
    }

    @Test(.timeLimit(.minutes(3))) func concurrentWorkersAddUpAndNeverGoBackwards() async {
        let (reporter, clock, output) = make()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<1_000 { reporter.advance(by: 1, total: 8_000) }
                }
            }
        }
        // A late report of a smaller count does not move the bar back.
        reporter.update(done: 10, total: 8_000)
        clock.advance(by: .seconds(2))
        reporter.finish()
        #expect(output.all.first == "\rplanning 1/8,000 [              ]   0%  -/s  ETA -")
        #expect(output.all.suffix(2) == ["\rplanning 8,000/8,000 100%  4,000/s  in 2s         ", "\n"])
    }
}
