import Foundation
import HeraldCore
import Testing

@Suite struct ISO8601Tests {
    @Test(arguments: [
        ("2026-11-20T10:00:00Z", 1_795_168_800.0),
        ("2026-11-20", 1_795_132_800.0),
        ("2026-11-20T19:00:00+09:00", 1_795_168_800.0),
        ("2026-11-20T05:00:00-0500", 1_795_168_800.0),
        ("2026-11-20T10:00:00.250Z", 1_795_168_800.25),
        ("2024-02-29T00:00:00Z", 1_709_164_800.0),
    ])
    func readsInstantsWithTheirOffsets(text: String, seconds: Double) throws {
        #expect(try #require(ISO8601.date(from: text)).timeIntervalSince1970 == seconds)
    }

    @Test(arguments: [
        "2026-02-30T10:00:00Z", "2026-04-31", "2026-01-01T24:00:00Z", "2025-02-29", "2026-01-01T10:00:61Z",
        "0000-01-01", "99999-01-01T00:00:00Z", "2026-1-01", "2026-01-01T10:00", "2026-01-01T10:00:00", "2026-01-01T10:00:00.Z",
        "2026-01-01T10:00:00+25:00", "2026-01-01 junk", "",
    ])
    func refusesWhatIsNotAnExistingInstant(text: String) {
        #expect(ISO8601.date(from: text) == nil)
    }

    @Test func writesWhatItReads() throws {
        let date = try #require(ISO8601.date(from: "2026-11-20T10:00:00Z"))
        #expect(ISO8601.string(from: date) == "2026-11-20T10:00:00Z")
    }
}
