import Foundation

/// How many notifications become due in each hour (or day) of wall-clock time in one zone, for
/// `herald plan`: bars for a terminal, and buckets for JSON.
///
/// Hours are the zone's own: in Asia/Kolkata (+05:30) an hour starts at :30 UTC. On the night the
/// clocks go back, the repeated hour is one bucket (what a marketer asks is "how many at 1 a.m.");
/// the hour skipped in spring is an empty one. When the first and last due hours are more than
/// `Configuration.maximumHourlySpan` apart, the buckets are days.
///
/// ```swift
/// var histogram = DueTimeHistogram(zone: TimeZone(identifier: "Asia/Seoul")!)
/// histogram.add(dueAt)                 // one notification
/// histogram.add(hourStart, count: 120) // or counts bucketed elsewhere
/// let text = histogram.render(width: 60)
/// // 2026-12-01 09:00  ███████████████████████████████████ 12,345
/// // 2026-12-01 10:00  ███ 1,040
/// // …  5 hours with nothing due
/// // 2026-12-01 16:00  ▏ 3
/// ```
public struct DueTimeHistogram: Sendable {
    /// The size of a bucket.
    public enum Resolution: String, Sendable, Hashable, Codable {
        case hour, day
    }

    /// One non-empty bucket, as JSON carries it: `{"start": "2026-12-01T09:00:00+09:00", "count": 12345}`.
    public struct Bucket: Sendable, Hashable, Codable {
        /// The bucket's first instant in ISO 8601 with the zone's offset at that instant.
        public var start: String
        public var count: Int

        public init(start: String, count: Int) {
            self.start = start
            self.count = count
        }
    }

    public struct Configuration: Sendable, Hashable {
        /// The longest span, first to last due hour inclusive, drawn per hour; longer is per day.
        /// Default 72.
        public var maximumHourlySpan: Int
        /// The longest run of empty buckets drawn as lines of `0`; a longer run is one `…` line.
        /// Default 2.
        public var longestEmptyRun: Int
        /// The longest bar, in columns, when the width is not known. Default 40.
        public var defaultBarWidth: Int

        public init(maximumHourlySpan: Int = 72, longestEmptyRun: Int = 2, defaultBarWidth: Int = 40) {
            self.maximumHourlySpan = maximumHourlySpan
            self.longestEmptyRun = longestEmptyRun
            self.defaultBarWidth = defaultBarWidth
        }
    }

    public let zone: TimeZone
    public var configuration: Configuration
    /// Counts by local hour: hours since 1970-01-01T00:00 on the zone's wall clock.
    private(set) var hours: [Int: Int] = [:]
    /// Every notification added.
    public private(set) var total = 0
    /// The zone's offset in the last 15-minute block of UTC looked up: offsets change on such
    /// boundaries (every zone's offset is a multiple of 15 minutes, and changes at a local
    /// hour or half hour), so a run of nearby instants asks the zone once.
    private var cachedOffset: (block: Int, offset: Int)?

    public init(zone: TimeZone, configuration: Configuration = Configuration()) {
        self.zone = zone
        self.configuration = configuration
    }

    public init(dueTimes: some Sequence<Date>, zone: TimeZone, configuration: Configuration = Configuration()) {
        self.init(zone: zone, configuration: configuration)
        for instant in dueTimes {
            add(instant)
        }
    }

    /// Counts `count` notifications due at `instant` (in the local hour that holds it).
    public mutating func add(_ instant: Date, count: Int = 1) {
        guard count > 0 else { return }
        let seconds = Int(instant.timeIntervalSince1970.rounded(.down))
        let block = Self.floorDivide(seconds, 900)
        let offset: Int
        if let cachedOffset, cachedOffset.block == block {
            offset = cachedOffset.offset
        } else {
            offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(block * 900)))
            cachedOffset = (block, offset)
        }
        hours[Self.floorDivide(seconds + offset, 3600), default: 0] += count
        total += count
    }

    /// `.hour`, or `.day` when the due hours span more than `maximumHourlySpan`.
    public var resolution: Resolution {
        guard let first = hours.keys.min(), let last = hours.keys.max() else { return .hour }
        return last - first + 1 > configuration.maximumHourlySpan ? .day : .hour
    }

    /// The non-empty buckets at `resolution` (by default the histogram's own), in time order.
    public func buckets(resolution: Resolution? = nil) -> [Bucket] {
        let resolution = resolution ?? self.resolution
        let counts = counts(at: resolution)
        return counts.keys.sorted().map { index in
            Bucket(start: ISO8601.string(from: start(of: index, resolution: resolution), in: zone), count: counts[index]!)
        }
    }

    /// The histogram as lines of text: `2026-12-01 09:00  ████████ 12,345`, the longest bar
    /// filling `width` (`nil`: `defaultBarWidth` columns), in eighths of a column, and at least an
    /// eighth for any count above zero. A run of more than `longestEmptyRun` empty buckets is one
    /// line: `…  5 hours with nothing due`. With nothing added: `nothing due`.
    public func render(width: Int?, resolution: Resolution? = nil) -> String {
        let resolution = resolution ?? self.resolution
        let counts = counts(at: resolution)
        guard let first = counts.keys.min(), let last = counts.keys.max(), let most = counts.values.max() else { return "nothing due" }
        let labelWidth = resolution == .hour ? 16 : 10
        let countWidth = ReportFormatter.grouped(most).count
        let barWidth = width.map { max(1, $0 - labelWidth - 2 - 1 - countWidth) } ?? configuration.defaultBarWidth
        var lines: [String] = []
        var index = first
        while index <= last {
            guard let count = counts[index] else {
                var end = index
                while counts[end + 1] == nil { end += 1 }
                let run = end - index + 1
                if run > configuration.longestEmptyRun {
                    let unit = resolution == .hour ? (run == 1 ? "hour" : "hours") : (run == 1 ? "day" : "days")
                    lines.append("…  \(ReportFormatter.grouped(run)) \(unit) with nothing due")
                } else {
                    for empty in index...end {
                        lines.append(label(empty, resolution: resolution) + "  0")
                    }
                }
                index = end + 1
                continue
            }
            let bar = Self.bar(count, of: most, width: barWidth)
            lines.append(label(index, resolution: resolution) + "  " + bar + " " + ReportFormatter.grouped(count))
            index += 1
        }
        return lines.joined(separator: "\n")
    }

    // MARK: - Buckets

    private func counts(at resolution: Resolution) -> [Int: Int] {
        guard resolution == .day else { return hours }
        var days: [Int: Int] = [:]
        for (hour, count) in hours {
            days[Self.floorDivide(hour, 24), default: 0] += count
        }
        return days
    }

    /// `2026-12-01 09:00` or `2026-12-01`.
    private func label(_ index: Int, resolution: Resolution) -> String {
        let day = resolution == .hour ? Self.floorDivide(index, 24) : index
        let (year, month, dayOfMonth) = ISO8601.civilFromDays(day)
        let date = String(format: "%04d-%02d-%02d", year, month, dayOfMonth)
        return resolution == .hour ? date + String(format: " %02d:00", index - day * 24) : date
    }

    /// The first instant of a local hour or day; a start the clock skips is the instant it jumps to.
    private func start(of index: Int, resolution: Resolution) -> Date {
        let hour = resolution == .hour ? index : index * 24
        let day = Self.floorDivide(hour, 24)
        let (year, month, dayOfMonth) = ISO8601.civilFromDays(day)
        return LocalDateTime(year: year, month: month, day: dayOfMonth, hour: hour - day * 24).instant(in: zone)
    }

    /// Full blocks and one partial block, in eighths of `width` columns.
    static func bar(_ count: Int, of most: Int, width: Int) -> String {
        let eighths = max(1, Int((Double(count) * Double(width * 8) / Double(most)).rounded()))
        let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        return String(repeating: "█", count: eighths / 8) + partial[eighths % 8]
    }

    static func floorDivide(_ value: Int, _ divisor: Int) -> Int {
        value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
    }
}

extension DueTimeHistogram: Hashable {
    /// Equal when they count the same hours in the same zone and configuration.
    public static func == (lhs: DueTimeHistogram, rhs: DueTimeHistogram) -> Bool {
        lhs.zone == rhs.zone && lhs.configuration == rhs.configuration && lhs.hours == rhs.hours
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(zone)
        hasher.combine(configuration)
        hasher.combine(hours)
    }
}
