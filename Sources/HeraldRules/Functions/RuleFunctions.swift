import Foundation
import HeraldCore
import Synchronization

/// The one implementation of every function the language has. The evaluator calls these directly
/// and the SQL back end calls them through `RuleSQLFunctions`, so both back ends agree by
/// construction.
public enum RuleFunctions {
    /// `bucket(n)`: FNV-1a 64 over the UTF-8 bytes of `"<campaign id>:<user id>"`, modulo `n`.
    ///
    /// The hash is fixed by this definition (not Swift's per-process `hashValue`), so a user
    /// stays in the same bucket across runs, machines and versions. Different campaigns split
    /// users independently.
    public static func bucket(campaignID: String, userID: String, count: Int64) -> Int64 {
        guard count > 0 else { return 0 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        for byte in campaignID.utf8 { mix(byte) }
        mix(UInt8(ascii: ":"))
        for byte in userID.utf8 { mix(byte) }
        return Int64(hash % UInt64(count))
    }

    /// `days_since(t)`: whole days from `time` to `now`, rounded down (negative for a future time).
    public static func daysSince(_ time: Double, now: Double) -> Double {
        ((now - time) / 86_400).rounded(.down)
    }

    /// `lower(s)`: full Unicode lowercase mapping (`"ÄÖ"` → `"äö"`, `"İ"` → `"i̇"`).
    public static func lower(_ text: String) -> String {
        text.lowercased()
    }

    /// `len(s)`: the number of characters (extended grapheme clusters) a person would count.
    public static func length(_ text: String) -> Int {
        text.count
    }

    /// `ends_with`: byte-exact on UTF-8, like `==`.
    public static func endsWith(_ text: String, _ suffix: String) -> Bool {
        let textCount = text.utf8.count
        let suffixCount = suffix.utf8.count
        guard suffixCount <= textCount else { return false }
        return text.utf8.dropFirst(textCount - suffixCount).elementsEqual(suffix.utf8)
    }

    /// `starts_with`: byte-exact on UTF-8.
    public static func startsWith(_ text: String, _ prefix: String) -> Bool {
        text.utf8.starts(with: prefix.utf8)
    }

    /// `contains` on strings: whether `needle`'s UTF-8 bytes occur in `text`'s (the empty
    /// string occurs in every string), as SQLite's `instr` decides it.
    public static func contains(_ text: String, _ needle: String) -> Bool {
        let needleCount = needle.utf8.count
        if needleCount == 0 { return true }
        let result = text.utf8.withContiguousStorageIfAvailable { haystack in
            needle.utf8.withContiguousStorageIfAvailable { needle in
                RuleFunctions.search(haystack, needle)
            }
        }
        if let found = result ?? nil { return found }
        return search(Array(text.utf8)[...], Array(needle.utf8)[...])
    }

    private static func search<C: RandomAccessCollection<UInt8>>(_ haystack: C, _ needle: C) -> Bool where C.Index == Int {
        let count = needle.count
        guard count <= haystack.count, let first = needle.first else { return count == 0 }
        var start = haystack.startIndex
        let last = haystack.endIndex - count
        while start <= last {
            if haystack[start] == first {
                var matched = true
                var offset = 1
                while offset < count {
                    if haystack[start + offset] != needle[needle.startIndex + offset] {
                        matched = false
                        break
                    }
                    offset += 1
                }
                if matched { return true }
            }
            start += 1
        }
        return false
    }

    /// Orders strings by their UTF-8 bytes, which is Unicode code point order and what SQLite's
    /// BINARY collation does. Swift's own `<` and `==` follow canonical equivalence instead
    /// (`"é" == "e\u{301}"`), which SQL cannot reproduce.
    public static func compare(_ lhs: String, _ rhs: String) -> Int {
        var left = lhs.utf8.makeIterator()
        var right = rhs.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case (let a?, let b?):
                if a != b { return a < b ? -1 : 1 }
            }
        }
    }

    /// Byte-exact string equality (see `compare`).
    @inline(__always)
    public static func equal(_ lhs: String, _ rhs: String) -> Bool {
        let count = lhs.utf8.count
        guard count == rhs.utf8.count else { return false }
        guard count > 0 else { return true }
        let result = lhs.utf8.withContiguousStorageIfAvailable { left in
            rhs.utf8.withContiguousStorageIfAvailable { right -> Bool in
                guard let leftBytes = left.baseAddress, let rightBytes = right.baseAddress else { return false }
                return memcmp(leftBytes, rightBytes, count) == 0
            }
        }
        if let result = result ?? nil { return result }
        return lhs.utf8.elementsEqual(rhs.utf8)
    }

    /// `matches`: whether `pattern` matches somewhere in `text`; `nil` for an invalid pattern
    /// (which validation rejects before any SQL runs).
    public static func matches(_ text: String, pattern: String) -> Bool? {
        PatternCache.shared.pattern(pattern)?.matches(text)
    }

    /// `today()`: the instant the current day began in the recipient's zone (seconds since 1970).
    ///
    /// `zone` is the user's IANA zone; when it is missing or unknown, `defaultZone`; when that is
    /// unknown too, UTC. The day starts at the first instant of the local date, which is not
    /// midnight where a DST change skips it.
    public static func today(now: Double, zone: String?, defaultZone: String) -> Double {
        TodayCache.shared.startOfDay(now: now, zone: zone, defaultZone: defaultZone)
    }
}

/// Compiled patterns by source, so that SQL, which passes the pattern text on every row,
/// compiles each pattern once.
final class PatternCache: Sendable {
    static let shared = PatternCache()

    private let patterns = Mutex<[String: RulePattern?]>([:])

    func pattern(_ source: String) -> RulePattern? {
        if let cached = patterns.withLock({ $0[source] }) { return cached }
        let compiled = try? RulePattern(source)
        patterns.withLock { patterns in
            if patterns.count >= 256 { patterns.removeAll() }
            patterns[source] = compiled
        }
        return compiled
    }
}

/// The current day of each zone, so that `today()` costs a dictionary lookup per user rather
/// than a calendar computation.
final class TodayCache: Sendable {
    static let shared = TodayCache()

    private struct Day {
        var zone: TimeZone?
        var start: Double
        var end: Double
    }

    private let days = Mutex<[String: Day]>([:])

    func startOfDay(now: Double, zone: String?, defaultZone: String) -> Double {
        if let zone, let start = cachedStart(now: now, zone: zone) { return start }
        if let start = cachedStart(now: now, zone: defaultZone) { return start }
        if let start = cachedStart(now: now, zone: "UTC") { return start }
        return (now / 86_400).rounded(.down) * 86_400
    }

    /// `nil` when the zone is unknown.
    private func cachedStart(now: Double, zone identifier: String) -> Double? {
        let cached = days.withLock { $0[identifier] }
        if let cached {
            guard let zone = cached.zone else { return nil }
            if now >= cached.start, now < cached.end { return cached.start }
            return store(identifier, zone: zone, now: now)
        }
        guard let zone = TimeZone(identifier: identifier) else {
            days.withLock { days in
                if days.count >= 4096 { days.removeAll() }
                days[identifier] = Day(zone: nil, start: 0, end: 0)
            }
            return nil
        }
        return store(identifier, zone: zone, now: now)
    }

    private func store(_ identifier: String, zone: TimeZone, now: Double) -> Double {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let date = Date(timeIntervalSince1970: now)
        let start = calendar.startOfDay(for: date)
        let end = calendar.date(byAdding: .day, value: 1, to: start).map { calendar.startOfDay(for: $0) }
            ?? start.addingTimeInterval(86_400)
        let day = Day(zone: zone, start: start.timeIntervalSince1970, end: end.timeIntervalSince1970)
        days.withLock { days in
            if days.count >= 4096 { days.removeAll() }
            days[identifier] = day
        }
        return day.start
    }
}
