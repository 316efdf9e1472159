import ArgumentParser
import Foundation
import HeraldCore

/// How the operator commands (`queue`, `trace`, `dead-letter`) write times, addresses and ids.
enum OperatorText {
    /// A duration as people read it on a dashboard: `42s`, `3m12s`, `2h05m`, `3d04h`.
    static func age(_ seconds: TimeInterval) -> String {
        let whole = Int(max(0, seconds).rounded(.down))
        switch whole {
        case ..<60: return "\(whole)s"
        case ..<3600: return "\(whole / 60)m" + twoDigits(whole % 60) + "s"
        case ..<86_400: return "\(whole / 3600)h" + twoDigits(whole % 3600 / 60) + "m"
        default: return "\(whole / 86_400)d" + twoDigits(whole % 86_400 / 3600) + "h"
        }
    }

    /// The time since the previous event: `+0.412s` under a minute, else `+3m12s`.
    static func elapsed(_ seconds: TimeInterval) -> String {
        seconds < 60 ? "+" + String(format: "%.3f", max(0, seconds)) + "s" : "+" + age(seconds)
    }

    /// A rate per second with up to two decimals: `0.05`, `12`.
    static func rate(_ perSecond: Double) -> String {
        let text = String(format: "%.2f", perSecond)
        return text.hasSuffix(".00") ? String(text.dropLast(3)) : text
    }

    /// An address with most of it hidden, enough to recognize it in a ticket without copying it:
    /// `an***@example.com`, `+821******78`, `a1b2c3…`.
    static func masked(_ address: String) -> String {
        if let at = address.lastIndex(of: "@") {
            let local = address[..<at]
            return String(local.prefix(2)) + "***" + address[at...]
        }
        let characters = Array(address)
        if address.hasPrefix("+"), characters.count > 6 {
            return String(characters.prefix(4)) + String(repeating: "*", count: characters.count - 6) + String(characters.suffix(2))
        }
        return characters.count > 10 ? String(characters.prefix(6)) + "…" : String(repeating: "*", count: characters.count)
    }

    /// A notification id given on the command line.
    static func notificationID(_ text: String) throws -> Int64 {
        guard let id = Int64(text), id > 0 else {
            throw ValidationError("\(Quoted.visible(text)) is not a notification id: ids are whole numbers, as `herald dead-letter list` and `herald trace --user ID --campaign ID` show them")
        }
        return id
    }

    private static func twoDigits(_ value: Int) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}
