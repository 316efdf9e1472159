import Foundation

/// `today()` for PostgreSQL: the start of the current day in each zone whose day does not start
/// when the fallback's does, as a JSON object the SQL looks the user's zone up in, and the
/// fallback's start for every other zone, valid or not.
///
/// Each start is `RuleFunctions.today`, the evaluator's own function, so both back ends agree
/// for every zone in the table by construction: whatever the server's time zone database, and
/// also where a clock goes back at midnight and the day has two midnights (the first one counts,
/// where PostgreSQL's `AT TIME ZONE` takes the second).
struct TodayTable {
    /// `{"America/New_York":1790049600.0,…}`, keys sorted.
    let json: String
    /// The start of the day of a user without a zone, or with a zone Foundation does not know.
    let fallback: Double

    /// Zone names Foundation accepts: its known ones, its abbreviations, UTC and GMT. Aliases
    /// such as `US/Pacific` are accepted but not listed; the store adds its server's names.
    static let foundationZoneNames: [String] = Array(
        Set(TimeZone.knownTimeZoneIdentifiers + TimeZone.abbreviationDictionary.keys + ["UTC", "GMT"])
    )

    init(now: Double, defaultZone: String, extraZoneNames: [String]) {
        fallback = RuleFunctions.today(now: now, zone: nil, defaultZone: defaultZone)
        var json = "{"
        for name in Set(Self.foundationZoneNames + extraZoneNames).sorted() {
            let start = RuleFunctions.today(now: now, zone: name, defaultZone: defaultZone)
            guard start != fallback else { continue }
            if json.utf8.count > 1 { json += "," }
            Self.appendString(name, to: &json)
            json += ":\(start)"
        }
        self.json = json + "}"
    }

    private static func appendString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
