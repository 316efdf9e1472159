import Foundation
import HeraldCore
import Yams

/// Typed values shared by herald.yml, campaigns, segments and templates.
extension YAMLReader {
    static let timeZoneExample = "an IANA time zone such as UTC, Europe/Paris or Asia/Seoul"

    func integer(_ node: Node, name: String, minimum: Int) -> Int? {
        let expected = "a whole number of at least \(minimum)"
        guard let text = text(node, name: name, expected: expected) else { return nil }
        guard let value = Int(text) else {
            error("\(quoted(text)) is not a whole number for \(name)", at: node, hint: "expected \(expected)")
            return nil
        }
        guard value >= minimum else {
            error("\(name) must be at least \(minimum), found \(value)", at: node, hint: "expected \(expected)")
            return nil
        }
        return value
    }

    func bool(_ node: Node, name: String) -> Bool? {
        guard let text = text(node, name: name, expected: "true or false") else { return nil }
        switch text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default:
            error("\(quoted(text)) is not true or false for \(name)", at: node, hint: "expected true or false")
            return nil
        }
    }

    /// A duration; zero is refused unless `allowZero`, since a zero window or delay is a typo.
    func duration(_ node: Node, name: String, allowZero: Bool = false) -> DurationLiteral? {
        guard let text = text(node, name: name, expected: DurationLiteral.expectedForm) else { return nil }
        guard let duration = DurationLiteral(text) else {
            error("invalid duration \(quoted(text)) for \(name)", at: node, hint: "expected \(DurationLiteral.expectedForm)")
            return nil
        }
        if !allowZero, duration.amount == 0 {
            error("\(name) must be longer than zero", at: node, hint: "expected \(DurationLiteral.expectedForm)")
            return nil
        }
        return duration
    }

    func rate(_ node: Node, name: String) -> RateLiteral? {
        guard let text = text(node, name: name, expected: RateLiteral.expectedForm) else { return nil }
        guard let rate = RateLiteral(text) else {
            error("invalid rate \(quoted(text)) for \(name)", at: node, hint: "expected \(RateLiteral.expectedForm)")
            return nil
        }
        return rate
    }

    func timeOfDay(_ node: Node, name: String) -> TimeOfDay? {
        // Unquoted 21:00 is a sexagesimal number to YAML 1.1; the scalar's text is what was written.
        guard let text = text(node, name: name, expected: "a time of day HH:MM, e.g. \"21:00\"") else { return nil }
        guard let time = TimeOfDay(text) else {
            error("invalid time of day \(quoted(text)) for \(name)", at: node, hint: "expected HH:MM from 00:00 to 23:59, e.g. \"21:00\"")
            return nil
        }
        return time
    }

    func localDateTime(_ node: Node, name: String) -> LocalDateTime? {
        let expected = "a wall-clock time such as 2026-12-01T09:00, without a zone (the zone goes in 'timezone:')"
        guard let text = text(node, name: name, expected: expected) else { return nil }
        guard let value = LocalDateTime(text) else {
            error("invalid date and time \(quoted(text)) for \(name)", at: node, hint: "expected \(expected)")
            return nil
        }
        return value
    }

    /// One of an enumeration's raw values; `kind` names it in the error (`unknown channel 'pus'`).
    func choice<Value: RawRepresentable & CaseIterable>(_ node: Node, name: String, kind: String) -> Value?
    where Value.RawValue == String {
        let names = Value.allCases.map(\.rawValue)
        guard let text = text(node, name: name, expected: "one of: " + names.joined(separator: ", ")) else { return nil }
        guard let value = Value(rawValue: text) else {
            error("unknown \(kind) \(quoted(text))", at: node, hint: hint(for: text, in: names))
            return nil
        }
        return value
    }

    /// An IANA zone name that Foundation knows.
    func timeZone(_ node: Node, name: String) -> String? {
        guard let text = text(node, name: name, expected: Self.timeZoneExample) else { return nil }
        guard !text.isEmpty, text.count <= 64, TimeZone(identifier: text) != nil else {
            let suggestion = text.count <= 64 ? Suggestion.closest(to: text, in: TimeZone.knownTimeZoneIdentifiers) : nil
            error(
                "unknown time zone \(quoted(text))",
                at: node,
                hint: suggestion.map { "did you mean '\($0)'?" } ?? "expected \(Self.timeZoneExample)"
            )
            return nil
        }
        return text
    }

    /// A list of channel names without repeats; `nil` after an error.
    func channels(_ node: Node, name: String, expected: String) -> [(channel: Channel, node: Node)]? {
        guard let items = list(node, name: name, expected: expected) else { return nil }
        var result: [(channel: Channel, node: Node)] = []
        var failed = false
        for item in items {
            guard let channel: Channel = choice(item, name: "an item of \(name)", kind: "channel") else {
                failed = true
                continue
            }
            if result.contains(where: { $0.channel == channel }) {
                error("channel '\(channel.rawValue)' is listed twice", at: item, hint: "list each channel once")
                failed = true
                continue
            }
            result.append((channel, item))
        }
        return failed ? nil : result
    }

    // MARK: Limits

    /// `frequency_caps: [{max: 3, per: 1d, channel: push}, …]`
    func frequencyCaps(_ node: Node, name: String) -> [FrequencyCap]? {
        let expected = "a list of caps such as {max: 3, per: 1d, channel: push, category: marketing}"
        guard let items = list(node, name: name, expected: expected) else { return nil }
        var caps: [FrequencyCap] = []
        var failed = false
        for item in items {
            guard let fields = fields(item, name: "an item of \(name)", expected: expected, known: WorkspaceSchema.frequencyCap.names) else {
                failed = true
                continue
            }
            let maximum = required(fields, "max", expected: "the most notifications per window, e.g. max: 3")
                .flatMap { integer($0, name: "'max'", minimum: 1) }
            let window = required(fields, "per", expected: "a duration such as 1d, or calendar_day or calendar_week")
                .flatMap { frequencyWindow($0) }
            let channel: Channel? = fields["channel"].flatMap { choice($0, name: "'channel'", kind: "channel") }
            if fields["channel"] != nil, channel == nil { failed = true }
            var category: String?
            if let node = fields["category"] {
                category = text(node, name: "'category'", expected: "a category such as marketing")
                if let name = category, !Preferences.isValidKey(name) || name.contains(":") {
                    error("invalid category \(quoted(name))", at: node, hint: "use lowercase letters, digits, '-' and '_', e.g. marketing")
                    category = nil
                } else if category == Campaign.transactionalCategory {
                    error("transactional notifications are never capped", at: node, hint: "cap another category, or leave 'category' out")
                    category = nil
                }
                if category == nil { failed = true }
            }
            guard let maximum, let window else {
                failed = true
                continue
            }
            caps.append(FrequencyCap(max: maximum, per: window, channel: channel, category: category))
        }
        return failed ? nil : caps
    }

    private func frequencyWindow(_ node: Node) -> FrequencyCap.Window? {
        let expected = "a duration such as 1d or 7d, or calendar_day or calendar_week"
        guard let text = text(node, name: "'per'", expected: expected) else { return nil }
        if text == "calendar_day" { return .calendarDay }
        if text == "calendar_week" { return .calendarWeek }
        guard let duration = DurationLiteral(text), duration.amount > 0 else {
            error("invalid window \(quoted(text)) for 'per'", at: node, hint: "expected \(expected)")
            return nil
        }
        return .rolling(duration)
    }

    /// `quiet_hours: {from: "21:00", to: "08:00", then: delay}`; `then` defaults to `delay`.
    func quietHours(_ node: Node, name: String) -> QuietHours? {
        let expected = "{from: \"21:00\", to: \"08:00\", then: delay}"
        guard let fields = fields(node, name: name, expected: expected, known: WorkspaceSchema.quietHours.names) else { return nil }
        let from = required(fields, "from", expected: "the start of the quiet hours, e.g. from: \"21:00\"")
            .flatMap { timeOfDay($0, name: "'from'") }
        let to = required(fields, "to", expected: "the end of the quiet hours, e.g. to: \"08:00\"")
            .flatMap { timeOfDay($0, name: "'to'") }
        var action = QuietHours.Action.delay
        if let node = fields["then"] {
            guard let value: QuietHours.Action = choice(node, name: "'then'", kind: "quiet hours action") else { return nil }
            action = value
        }
        guard let from, let to else { return nil }
        if from == to {
            error("quiet hours from \(from) to \(to) are empty", at: node, hint: "give different start and end times")
            return nil
        }
        return QuietHours(from: from, to: to, then: action)
    }
}
