import Foundation
@testable import HeraldCore
import Testing

struct DueTimeHistogramTests {
    static let seoul = TimeZone(identifier: "Asia/Seoul")!
    static let newYork = TimeZone(identifier: "America/New_York")!
    static let kolkata = TimeZone(identifier: "Asia/Kolkata")!

    static func at(_ text: String) -> Date {
        ISO8601.date(from: text)!
    }

    @Test func hourlyBarsFillTheWidthAndLongEmptyStretchesCollapse() {
        var histogram = DueTimeHistogram(zone: Self.seoul)
        histogram.add(Self.at("2026-12-01T00:00:00Z"), count: 12_345)
        histogram.add(Self.at("2026-12-01T01:30:00Z"), count: 1_040)
        histogram.add(Self.at("2026-12-01T07:05:00Z"), count: 3)
        #expect(histogram.total == 13_388)
        #expect(histogram.resolution == .hour)
        #expect(histogram.render(width: 60) == """
        2026-12-01 09:00  ███████████████████████████████████ 12,345
        2026-12-01 10:00  ███ 1,040
        …  5 hours with nothing due
        2026-12-01 16:00  ▏ 3
        """)
        // No line is longer than the width.
        #expect(histogram.render(width: 60).split(separator: "\n").map(\.count).max() == 60)
        // Too narrow for a bar: one column for the longest.
        #expect(histogram.render(width: 20).split(separator: "\n").first == "2026-12-01 09:00  █ 12,345")
    }

    @Test func shortEmptyStretchesAreShownAsZero() {
        let histogram = DueTimeHistogram(dueTimes: [
            Self.at("2026-12-01T00:10:00Z"), Self.at("2026-12-01T00:20:00Z"), Self.at("2026-12-01T03:59:59Z"),
        ], zone: Self.seoul)
        #expect(histogram.render(width: nil) == """
        2026-12-01 09:00  ████████████████████████████████████████ 2
        2026-12-01 10:00  0
        2026-12-01 11:00  0
        2026-12-01 12:00  ████████████████████ 1
        """)
    }

    @Test func hoursAreTheZonesOwnEvenOnTheHalfHour() throws {
        let histogram = DueTimeHistogram(dueTimes: [Self.at("2026-12-01T03:29:59Z"), Self.at("2026-12-01T03:30:00Z")], zone: Self.kolkata)
        #expect(histogram.buckets() == [
            .init(start: "2026-12-01T08:00:00+05:30", count: 1), .init(start: "2026-12-01T09:00:00+05:30", count: 1),
        ])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(String(decoding: try encoder.encode(histogram.buckets()), as: UTF8.self)
            == #"[{"count":1,"start":"2026-12-01T08:00:00+05:30"},{"count":1,"start":"2026-12-01T09:00:00+05:30"}]"#)
    }

    @Test func theRepeatedHourOfFallBackIsOneBucketAndTheSkippedHourIsEmpty() {
        // 2026-11-01: 01:00-01:59 happens twice in New York, first at -04:00, then at -05:00.
        let fall = DueTimeHistogram(dueTimes: [
            Self.at("2026-11-01T04:30:00Z"), Self.at("2026-11-01T05:30:00Z"), Self.at("2026-11-01T06:30:00Z"), Self.at("2026-11-01T07:10:00Z"),
        ], zone: Self.newYork)
        #expect(fall.buckets() == [
            .init(start: "2026-11-01T00:00:00-04:00", count: 1),
            .init(start: "2026-11-01T01:00:00-04:00", count: 2),
            .init(start: "2026-11-01T02:00:00-05:00", count: 1),
        ])
        // 2026-03-08: the clock jumps from 02:00 to 03:00.
        let spring = DueTimeHistogram(dueTimes: [Self.at("2026-03-08T06:30:00Z"), Self.at("2026-03-08T07:30:00Z")], zone: Self.newYork)
        #expect(spring.render(width: nil) == """
        2026-03-08 01:00  ████████████████████████████████████████ 1
        2026-03-08 02:00  0
        2026-03-08 03:00  ████████████████████████████████████████ 1
        """)
        #expect(spring.buckets() == [
            .init(start: "2026-03-08T01:00:00-05:00", count: 1), .init(start: "2026-03-08T03:00:00-04:00", count: 1),
        ])
    }

    @Test func spansBeyondSeventyTwoHoursAreDrawnPerDay() {
        var histogram = DueTimeHistogram(zone: Self.seoul)
        histogram.add(Self.at("2026-12-01T09:00:00+09:00"), count: 10)
        histogram.add(Self.at("2026-12-02T23:30:00+09:00"), count: 5)
        histogram.add(Self.at("2026-12-05T10:00:00+09:00"), count: 20)
        #expect(histogram.resolution == .day)
        #expect(histogram.render(width: nil) == """
        2026-12-01  ████████████████████ 10
        2026-12-02  ██████████ 5
        2026-12-03  0
        2026-12-04  0
        2026-12-05  ████████████████████████████████████████ 20
        """)
        #expect(histogram.buckets() == [
            .init(start: "2026-12-01T00:00:00+09:00", count: 10),
            .init(start: "2026-12-02T00:00:00+09:00", count: 5),
            .init(start: "2026-12-05T00:00:00+09:00", count: 20),
        ])
        // Asked for hours, it gives hours.
        #expect(histogram.buckets(resolution: .hour).count == 3)
        #expect(histogram.render(width: nil, resolution: .hour) == """
        2026-12-01 09:00  ████████████████████ 10
        …  37 hours with nothing due
        2026-12-02 23:00  ██████████ 5
        …  58 hours with nothing due
        2026-12-05 10:00  ████████████████████████████████████████ 20
        """)

        var days = DueTimeHistogram(zone: Self.seoul)
        days.add(Self.at("2026-12-01T09:00:00+09:00"))
        days.add(Self.at("2026-12-30T09:00:00+09:00"))
        #expect(days.render(width: nil) == """
        2026-12-01  ████████████████████████████████████████ 1
        …  28 days with nothing due
        2026-12-30  ████████████████████████████████████████ 1
        """)
    }

    @Test func exactlySeventyTwoHoursIsStillHourly() {
        var histogram = DueTimeHistogram(zone: Self.seoul)
        histogram.add(Self.at("2026-12-01T00:00:00+09:00"))
        histogram.add(Self.at("2026-12-03T23:59:00+09:00"))
        #expect(histogram.resolution == .hour)
        histogram.add(Self.at("2026-12-04T00:00:00+09:00"))
        #expect(histogram.resolution == .day)
        var narrow = DueTimeHistogram(zone: Self.seoul, configuration: .init(maximumHourlySpan: 24))
        narrow.add(Self.at("2026-12-01T00:00:00+09:00"))
        narrow.add(Self.at("2026-12-02T00:00:00+09:00"))
        #expect(narrow.resolution == .day)
    }

    @Test func barsAreDrawnInEighths() {
        #expect(DueTimeHistogram.bar(3, of: 8, width: 10) == "███▊")
        #expect(DueTimeHistogram.bar(8, of: 8, width: 10) == "██████████")
        #expect(DueTimeHistogram.bar(1, of: 1_000_000, width: 10) == "▏")
        #expect(DueTimeHistogram.bar(1, of: 16, width: 10) == "▋")
    }

    @Test func nothingDue() {
        let histogram = DueTimeHistogram(zone: Self.seoul)
        #expect(histogram.render(width: 80) == "nothing due")
        #expect(histogram.buckets() == [])
        #expect(histogram.total == 0)
        var zero = histogram
        zero.add(Self.at("2026-12-01T00:00:00Z"), count: 0)
        #expect(zero == histogram)
    }

    @Test func preBucketedCountsAndOneByOneAgree() {
        let instants = (0..<500).map { Self.at("2026-12-01T00:00:00Z").addingTimeInterval(Double($0) * 397) }
        var byCount = DueTimeHistogram(zone: Self.kolkata)
        var perHour: [Date: Int] = [:]
        for instant in instants {
            // Kolkata's hours start at :30 UTC (+05:30).
            let local = Int(instant.timeIntervalSince1970) + 19_800
            let hourStart = Date(timeIntervalSince1970: Double(local - local % 3600 - 19_800))
            perHour[hourStart, default: 0] += 1
        }
        for (start, count) in perHour {
            byCount.add(start, count: count)
        }
        #expect(byCount == DueTimeHistogram(dueTimes: instants, zone: Self.kolkata))
        #expect(byCount.total == 500)
    }
}
