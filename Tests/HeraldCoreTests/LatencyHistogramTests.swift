import HeraldCore
import Testing

@Suite struct LatencyHistogramTests {
    @Test func nothingRecordedHasNoPercentile() {
        #expect(LatencyHistogram().percentile(0.5) == nil)
    }

    @Test func percentilesAreWithinFivePercentAboveTheTrueOnes() throws {
        var histogram = LatencyHistogram()
        // 1 ms to 1000 ms in 1 ms steps, shuffled: the true p50 is 500 ms, p99 990 ms.
        for milliseconds in (1...1000).shuffled() { histogram.record(.milliseconds(milliseconds)) }
        #expect(histogram.count == 1000)
        #expect(histogram.maximum == .milliseconds(1000))
        for (fraction, truth) in [(0.5, 0.5), (0.99, 0.99), (0.01, 0.01), (1.0, 1.0)] {
            let found = try #require(histogram.percentile(fraction)).timeInterval
            #expect(found >= truth && found <= truth * 1.05, "p\(fraction * 100): \(found) s for \(truth) s")
        }
    }

    @Test func aPercentileIsNeverAboveTheLongestDuration() throws {
        var histogram = LatencyHistogram()
        histogram.record(.microseconds(1234))
        #expect(try #require(histogram.percentile(0.99)) == .microseconds(1234))
        histogram.record(.seconds(3600))
        #expect(try #require(histogram.percentile(1)) == .seconds(3600))
        #expect(try #require(histogram.percentile(0.5)).timeInterval <= 0.001234 * 1.05)
    }

    @Test func tinyAndZeroDurationsCountInTheFirstBucket() throws {
        var histogram = LatencyHistogram()
        histogram.record(.zero)
        histogram.record(.nanoseconds(5))
        #expect(histogram.count == 2)
        #expect(try #require(histogram.percentile(1)) == .nanoseconds(5))
    }
}
