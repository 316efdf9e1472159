import Foundation

/// Why one field of an import row is unusable: the message and what would be valid. The
/// format reader adds the location.
public struct FieldProblem: Error {
    public var message: String
    public var hint: String?

    public init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }
}

/// The validation rules for the built-in user fields and the conversion of CSV cells to
/// attribute values, shared by the CSV and JSON Lines readers so both report the same words.
public struct UserFieldRules {
    /// The longest row of a user file accepted, in bytes: 1 MiB. Longer rows are reported and
    /// skipped.
    public static let maximumRowLength = 1 << 20

    /// The built-in fields, in the order the spec lists them; also the CSV column names.
    public static let builtInFields = ["id", "email", "phone", "locale", "timezone", "first_name", "last_name", "created_at"]
    public static let maximumIDLength = 128
    public static let maximumEmailLength = 254
    /// The longest free-text value (a name, a string attribute or list item), in Unicode scalars.
    /// Audience rules (`matches`, `contains`) read these values for every user a campaign
    /// considers, so their length bounds what a rule can cost.
    public static let maximumTextLength = 1000
    /// The most items a list attribute may hold.
    public static let maximumListCount = 1000
    /// A longer value is cut in messages, so that an error about a huge cell stays one line.
    public static let maximumQuotedLength = 64

    /// Time zone names already checked, because `TimeZone(identifier:)` is the slowest check of
    /// a row and real files repeat a handful of zones. Bounded so that a hostile file cannot grow it.
    private var knownTimeZones: Set<String> = []

    public init() {}
    private static let maximumCachedTimeZones = 1024

    // MARK: Built-in fields

    /// The id of a user a row or `PUT /v1/users/{id}` writes: any id that names a user
    /// (`anyID`), except the ones Herald gives guests.
    public static func id(_ text: String) throws(FieldProblem) -> String {
        let id = try anyID(text)
        if id.hasPrefix(guestIDPrefix) {
            throw FieldProblem(
                "id \(quoted(text)) starts with '\(guestIDPrefix)'", hint: "Herald keeps that prefix for people API sends name by address; choose another id"
            )
        }
        return id
    }

    public static var guestIDPrefix: String { UserJSON.guestIDPrefix }

    /// An id that can name a user, a guest's included: not empty, no control characters, not too long.
    public static func anyID(_ text: String) throws(FieldProblem) -> String {
        if text.isEmpty {
            throw FieldProblem("missing id", hint: "every row needs a non-empty id")
        }
        if text.unicodeScalars.contains(where: isControl) {
            throw FieldProblem("invalid id \(quoted(text))", hint: "no control characters")
        }
        if text.count > maximumIDLength {
            throw FieldProblem("id \(quoted(text)) is too long", hint: "at most \(maximumIDLength) characters")
        }
        return text
    }

    /// A pragmatic check, not RFC 5322: one `@`, a non-empty local part, a dotted domain with
    /// non-empty labels, no spaces or control characters, at most 254 characters.
    public static func email(_ text: String) throws(FieldProblem) -> String {
        let example = "expected an address like ana@example.com"
        if text.utf8.count > maximumEmailLength {
            throw FieldProblem("invalid email \(quoted(text))", hint: "at most \(maximumEmailLength) characters")
        }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2,
              !parts[0].isEmpty,
              !text.unicodeScalars.contains(where: isSpaceOrControl)
        else {
            throw FieldProblem("invalid email \(quoted(text))", hint: example)
        }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty }) else {
            throw FieldProblem("invalid email \(quoted(text))", hint: example)
        }
        return text
    }

    /// E.164: `+`, then 8 to 15 digits, the first not 0. When the text is a phone number written
    /// with spaces, dashes, dots or parentheses, the hint offers the E.164 form.
    public static func phone(_ text: String) throws(FieldProblem) -> String {
        if isE164(text.utf8) { return text }
        let compact = String(text.unicodeScalars.filter { !" -.()".unicodeScalars.contains($0) })
        if compact != text, compact.count <= 16, isE164(compact.utf8) {
            throw FieldProblem("invalid phone \(quoted(text))", hint: "did you mean '\(compact)'?")
        }
        throw FieldProblem("invalid phone \(quoted(text))", hint: "expected E.164, e.g. +821012345678")
    }

    private static func isE164(_ bytes: String.UTF8View) -> Bool {
        guard bytes.count >= 9, bytes.count <= 16, bytes.first == UInt8(ascii: "+") else { return false }
        let digits = bytes.dropFirst()
        return digits.first != UInt8(ascii: "0") && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// The shape of a BCP 47 tag: a 2–3 letter language (or 4–8 for registered ones), then an
    /// optional script, region, variants, extensions and private use. Whether the subtags are
    /// registered is not checked; renderers fall back to the default locale for unknown ones.
    public static func locale(_ text: String) throws(FieldProblem) -> String {
        if isLanguageTag(text) { return text }
        let dashed = text.replacingOccurrences(of: "_", with: "-")
        if dashed != text, isLanguageTag(dashed) {
            throw FieldProblem("invalid locale \(quoted(text))", hint: "did you mean '\(dashed)'?")
        }
        throw FieldProblem("invalid locale \(quoted(text))", hint: "expected a BCP 47 tag, e.g. ko-KR")
    }

    public static func isLanguageTag(_ text: String) -> Bool {
        guard text.utf8.count <= 64, text.utf8.allSatisfy({ isASCIIAlphanumeric($0) || $0 == UInt8(ascii: "-") }) else {
            return false
        }
        let subtags = text.split(separator: "-", omittingEmptySubsequences: false).map { Array($0.utf8) }
        guard let language = subtags.first, (2...3).contains(language.count) || (5...8).contains(language.count),
              language.allSatisfy(isASCIILetter)
        else { return false }
        var index = 1
        func current() -> [UInt8]? { index < subtags.count ? subtags[index] : nil }
        if let script = current(), script.count == 4, script.allSatisfy(isASCIILetter) { index += 1 }
        if let region = current(),
           (region.count == 2 && region.allSatisfy(isASCIILetter)) || (region.count == 3 && region.allSatisfy(isASCIIDigit)) {
            index += 1
        }
        while let variant = current(),
              (5...8).contains(variant.count) || (variant.count == 4 && isASCIIDigit(variant[0])) {
            index += 1
        }
        // Extensions (`-u-ca-gregory`) and private use (`-x-foo`): a singleton, then subtags of 1–8.
        while let singleton = current(), singleton.count == 1 {
            let isPrivateUse = singleton[0] == UInt8(ascii: "x") || singleton[0] == UInt8(ascii: "X")
            let range = isPrivateUse ? 1...8 : 2...8
            index += 1
            var count = 0
            while let subtag = current(), subtag.count != 1 || isPrivateUse, range.contains(subtag.count) {
                index += 1
                count += 1
            }
            if count == 0 { return false }
        }
        return index == subtags.count && subtags.allSatisfy { !$0.isEmpty && $0.count <= 8 }
    }

    /// An IANA zone name Foundation knows: one with a `/` (`Asia/Seoul`, `Etc/GMT+9`) or exactly
    /// `UTC` or `GMT`. Abbreviations such as `EST` or `KST` are refused even where Foundation
    /// accepts them, because they are ambiguous and do not follow daylight saving rules.
    /// The zone names suggestions are drawn from, built once.
    public static let zoneNames = TimeZone.knownTimeZoneIdentifiers.filter { $0.contains("/") } + ["UTC", "GMT"]

    public mutating func timezone(_ text: String) throws(FieldProblem) -> String {
        if knownTimeZones.contains(text) { return text }
        let isNameShape = text == "UTC" || text == "GMT" || (text.contains("/") && !text.contains(" "))
        guard isNameShape, text.utf8.count <= 64, TimeZone(identifier: text) != nil else {
            var hint = "expected an IANA name, e.g. Asia/Seoul"
            if text.count <= Self.maximumQuotedLength,
               let match = Suggestion.closest(to: text, in: Self.zoneNames) {
                hint = "did you mean '\(match)'?"
            }
            throw FieldProblem("invalid timezone \(Self.quoted(text))", hint: hint)
        }
        if knownTimeZones.count < Self.maximumCachedTimeZones { knownTimeZones.insert(text) }
        return text
    }

    public static func name(_ text: String, field: String) throws(FieldProblem) -> String {
        if text.unicodeScalars.contains(where: isControl) {
            throw FieldProblem("invalid \(field) \(quoted(text))", hint: "no control characters")
        }
        try checkLength(text, "\(field) \(quoted(text))")
        return text
    }

    /// Refuses a text longer than `maximumTextLength` scalars.
    public static func checkLength(_ text: String, _ subject: @autoclosure () -> String) throws(FieldProblem) {
        // UTF-8 bytes bound the scalars from above, so most values need no count.
        guard text.utf8.count > maximumTextLength else { return }
        let scalars = text.unicodeScalars.count
        guard scalars > maximumTextLength else { return }
        throw FieldProblem("\(subject()) is too long (\(scalars) characters)", hint: "at most \(maximumTextLength) characters")
    }

    public static func createdAt(_ text: String) throws(FieldProblem) -> Date {
        guard let date = ISO8601.date(from: text) else {
            throw FieldProblem("invalid created_at \(quoted(text))", hint: "expected ISO 8601, e.g. 2026-11-20T10:00:00Z")
        }
        return date
    }

    // MARK: Attributes

    /// Converts a CSV cell to the declared type. A list splits its items at `;`, trims the spaces
    /// around each and ignores empty items, so `vip; beta;` is `[vip, beta]`.
    /// A CSV `devices` cell: app devices separated by `;`, each `platform:token`, or
    /// `platform/service:token` for a service other than the platform's default
    /// (`ios:8f3a…;android/jpush:1a0018970a`). The token is everything after the first `:`, so
    /// an FCM token's own colons are kept. Web subscriptions have three parts (endpoint and two
    /// keys) and come from JSON Lines.
    public static func devices(cell text: String) throws(FieldProblem) -> [Device] {
        let form = "platform:token or platform/service:token, separated by ';'"
        var devices: [Device] = []
        for item in text.split(separator: ";") {
            let trimmed = item.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard devices.count < maximumListCount else {
                throw FieldProblem("more than \(maximumListCount) devices", hint: "at most \(maximumListCount) devices per user")
            }
            guard let colon = trimmed.firstIndex(of: ":") else {
                throw FieldProblem("invalid device \(quoted(trimmed))", hint: "expected \(form), e.g. ios:8f3a…")
            }
            let kind = trimmed[..<colon].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let token = String(trimmed[trimmed.index(after: colon)...])
            let platforms = DevicePlatform.allCases.map(\.rawValue)
            guard let platform = DevicePlatform(rawValue: kind[0]) else {
                throw FieldProblem("invalid platform \(quoted(kind[0])) in device \(quoted(trimmed))", hint: Suggestion.hint(for: kind[0], in: platforms))
            }
            if platform == .web {
                throw FieldProblem("a web device needs a subscription (an endpoint and two keys), which CSV cannot hold", hint: "import web subscriptions from JSON Lines")
            }
            var service = platform.defaultService
            if kind.count == 2 {
                let services = PushService.allCases.map(\.rawValue)
                guard let named = PushService(rawValue: kind[1]) else {
                    throw FieldProblem("invalid push service \(quoted(kind[1])) in device \(quoted(trimmed))", hint: Suggestion.hint(for: kind[1], in: services))
                }
                guard Device.serves(platform, with: named) else {
                    let fitting = PushService.allCases.filter { Device.serves(platform, with: $0) }.map(\.rawValue).joined(separator: ", ")
                    throw FieldProblem(
                        "push service \(named.rawValue) does not serve \(platform.rawValue) devices",
                        hint: "\(platform.rawValue) devices use \(fitting) (default \(platform.defaultService.rawValue))"
                    )
                }
                service = named
            }
            guard !token.isEmpty, token.utf8.count <= JSONLinesUserDecoder.maximumTokenLength,
                  !token.unicodeScalars.contains(where: isSpaceOrControl)
            else {
                throw FieldProblem("invalid token \(quoted(token)) in device \(quoted(trimmed))", hint: "expected the provider's token, without spaces")
            }
            devices.append(Device(platform: platform, service: service, token: token))
        }
        return devices
    }

    public static func attribute(cell text: String, definition: AttributeDefinition) throws(FieldProblem) -> AttributeValue {
        if case .list(let element) = definition.type {
            var items: [AttributeValue] = []
            for item in text.split(separator: ";") {
                let trimmed = item.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty { continue }
                guard items.count < maximumListCount else {
                    throw FieldProblem("attribute '\(definition.name)' has more than \(maximumListCount) items", hint: "at most \(maximumListCount) items in a list")
                }
                items.append(try scalar(cell: trimmed, type: element, definition: definition, isItem: true))
            }
            return .list(items)
        }
        return try scalar(cell: text, type: definition.type, definition: definition, isItem: false)
    }

    private static func scalar(cell text: String, type: AttributeType, definition: AttributeDefinition, isItem: Bool) throws(FieldProblem) -> AttributeValue {
        func problem(_ hint: String) -> FieldProblem {
            isItem
                ? FieldProblem("invalid item \(quoted(text)) in attribute '\(definition.name)'", hint: hint)
                : FieldProblem("invalid value \(quoted(text)) for attribute '\(definition.name)'", hint: hint)
        }
        switch type {
        case .string:
            return .string(try string(text, definition: definition, problem: problem))
        case .number:
            guard let number = decimalNumber(text) else { throw problem("expected a number") }
            guard number.isFinite else { throw problem("expected a finite number") }
            return .number(number)
        case .bool:
            switch text.lowercased() {
            case "true", "1", "yes": return .bool(true)
            case "false", "0", "no": return .bool(false)
            default: throw problem(boolHint)
            }
        case .time:
            guard let date = ISO8601.date(from: text) else { throw problem(timeHint) }
            return .time(date)
        case .list:
            // Rejected with the header, since a cell cannot nest lists; kept total for safety.
            throw problem("a list of lists cannot be written in CSV")
        }
    }

    /// Checks a string attribute value against the allowed values and control characters.
    public static func string(_ text: String, definition: AttributeDefinition, problem: (String) -> FieldProblem) throws(FieldProblem) -> String {
        try checkLength(text, "value \(quoted(text)) of attribute '\(definition.name)'")
        if let allowed = definition.allowedValues, !allowed.contains(text) {
            throw problem(Suggestion.hint(for: text, in: allowed))
        }
        // Free text may span lines (an address, a note); other control characters are never meant.
        if text.unicodeScalars.contains(where: { isControl($0) && $0 != "\n" && $0 != "\r" && $0 != "\t" }) {
            throw problem("no control characters other than line breaks and tabs")
        }
        return text
    }

    public static let boolHint = "expected a bool: true, false, yes, no, 1 or 0"
    public static let timeHint = "expected a time in ISO 8601, e.g. 2026-11-20T10:00:00Z"

    /// A decimal number: sign, digits, fraction, exponent. `Double(_:)` alone would also take
    /// `nan`, `inf` and hexadecimal, which no spreadsheet means.
    public static func decimalNumber(_ text: String) -> Double? {
        var sawDigit = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): sawDigit = true
            case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): break
            default: return nil
            }
        }
        guard sawDigit else { return nil }
        return Double(text)
    }

    // MARK: Text helpers

    /// `'value'` for a message, with invisible characters shown and long values cut
    /// (`Quoted.visible`), so that the message stays one readable line whatever the input.
    public static func quoted(_ text: String) -> String {
        Quoted.visible(text, limit: maximumQuotedLength)
    }

    /// Whitespace of any script or a control character; the Unicode property lookup runs only
    /// for non-ASCII scalars, since it dominates the cost of a row otherwise.
    public static func isSpaceOrControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return scalar.value <= 0x20 || scalar.value == 0x7F }
        return isControl(scalar) || scalar.properties.isWhitespace
    }

    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    public static func isASCIILetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    public static func isASCIIDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    public static func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
        isASCIILetter(byte) || isASCIIDigit(byte)
    }
}
