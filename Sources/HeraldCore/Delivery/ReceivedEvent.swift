import Foundation

/// Something that happened to a user and that Herald was told about: `herald trigger`, and later
/// `POST /v1/events`. Campaigns whose `schedule: {trigger: {event:}}` names it are planned for
/// that user; `performed()` and `count()` in audience rules read them.
public struct ReceivedEvent: Sendable, Hashable {
    /// The store's id for the receipt; 0 before it is recorded.
    public var id: Int64
    /// The sender's id for the event (`--id`, an API idempotency key): a second receipt with the
    /// same id is the same event, recorded and planned once. `nil`: every receipt is a new event.
    public var externalID: String?
    public var userID: String
    /// `cart_abandoned`: letters, digits, `_`, `-` and `.` (``isValidName(_:)``).
    public var name: String
    public var properties: EventProperties
    /// When the event happened; a triggered campaign is due at this instant plus its delay.
    public var receivedAt: Date

    public init(id: Int64 = 0, externalID: String? = nil, userID: String, name: String, properties: EventProperties = .empty, receivedAt: Date) {
        self.id = id
        self.externalID = externalID
        self.userID = userID
        self.name = name
        self.properties = properties
        self.receivedAt = receivedAt
    }

    /// The longest event name and external id accepted.
    public static let maximumNameLength = 128

    /// Whether `text` can name an event: 1 to 128 ASCII letters, digits, `_`, `-` and `.`; the
    /// same names campaign files accept in `trigger: {event:}`.
    public static func isValidName(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.count <= maximumNameLength && text.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" || $0 == ".")
        }
    }
}

/// The properties of an event: a JSON object, bounded in size and depth, kept as canonical JSON
/// text (keys sorted, no spaces) and as template values.
///
/// A triggered campaign's templates see each property as a top-level variable (`{"order_id":
/// "A-1042"}` fills `{{order_id}}`), laid over the campaign's `params` as `send --param` is;
/// objects are maps (`{{address.city}}`), arrays lists, and a `null` property is left out.
/// Strings are typed as a campaign param's text would be: `2026-12-07` is a date and
/// `2026-12-07T10:00:00Z` an instant, so `{{date(x)}}` formats them.
///
/// ```swift
/// let properties = try EventProperties(json: #"{"sku": "sku-123", "items": 2}"#)
/// properties.jsonText // {"items":2,"sku":"sku-123"}
/// ```
public struct EventProperties: Sendable, Hashable {
    /// The largest JSON text accepted, in UTF-8 bytes: 16 KiB.
    public static let maximumBytes = 16 * 1024
    /// The deepest nesting accepted: the properties object is level 1.
    public static let maximumDepth = 8

    /// No properties: `{}`.
    public static let empty = EventProperties(jsonText: "{}", values: [:])

    /// Canonical JSON: keys sorted, no whitespace, so that the same properties always give the
    /// same text.
    public let jsonText: String
    /// By property name, for templates.
    public let values: [String: TemplateValue]

    private init(jsonText: String, values: [String: TemplateValue]) {
        self.jsonText = jsonText
        self.values = values
    }

    /// Parses and checks a JSON object.
    ///
    /// - Throws: ``EventPropertiesError`` naming the column and the problem: not valid JSON, not
    ///   an object, larger than ``maximumBytes``, nested deeper than ``maximumDepth``, a number
    ///   JSON cannot carry exactly, or an empty key.
    public init(json text: String) throws(EventPropertiesError) {
        let bytes = Array(text.utf8)
        guard bytes.count <= Self.maximumBytes else {
            throw EventPropertiesError("are \(bytes.count) bytes, more than the \(Self.maximumBytes) (16 KiB) an event may carry", column: nil)
        }
        let node: ImportJSON.Node
        do {
            node = try ImportJSON.parse(bytes)
        } catch {
            let message = error.message.replacingOccurrences(of: "end of line", with: "end of the JSON")
            throw EventPropertiesError("are not valid JSON: \(message)", column: ImportJSON.column(ofOffset: error.offset, in: bytes))
        }
        guard case .object(let members) = node.value else {
            throw EventPropertiesError("must be a JSON object such as {\"sku\": \"sku-123\"}, not \(node.value.kindDescription)", column: 1)
        }
        var out = ""
        var values: [String: TemplateValue] = [:]
        try Self.encode(.object(members), depth: 1, offset: node.offset, bytes: bytes, into: &out)
        for member in members {
            guard let value = Self.templateValue(member.node.value) else { continue }
            values[member.key] = value
        }
        self.init(jsonText: out, values: values)
    }

    /// Reads back properties the store wrote (canonical JSON that passed `init(json:)`).
    public init(storedJSON text: String) {
        self = (try? EventProperties(json: text)) ?? .empty
    }

    private static func encode(_ value: ImportJSON.Value, depth: Int, offset: Int, bytes: [UInt8], into out: inout String) throws(EventPropertiesError) {
        switch value {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .number(let number):
            guard number.isFinite else {
                throw EventPropertiesError("hold a number too large for JSON", column: ImportJSON.column(ofOffset: offset, in: bytes))
            }
            out += TemplateValue.number(number).description
        case .string(let text):
            JSONText.appendString(text, to: &out)
        case .array(let nodes):
            try checkDepth(depth, offset: offset, bytes: bytes)
            out += "["
            for (index, node) in nodes.enumerated() {
                if index > 0 { out += "," }
                try encode(node.value, depth: depth + 1, offset: node.offset, bytes: bytes, into: &out)
            }
            out += "]"
        case .object(let members):
            try checkDepth(depth, offset: offset, bytes: bytes)
            out += "{"
            for (index, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { out += "," }
                JSONText.appendString(member.key, to: &out)
                out += ":"
                try encode(member.node.value, depth: depth + 1, offset: member.node.offset, bytes: bytes, into: &out)
            }
            out += "}"
        }
    }

    private static func checkDepth(_ depth: Int, offset: Int, bytes: [UInt8]) throws(EventPropertiesError) {
        guard depth <= maximumDepth else {
            throw EventPropertiesError("nest deeper than \(maximumDepth) levels", column: ImportJSON.column(ofOffset: offset, in: bytes))
        }
    }

    private static func templateValue(_ value: ImportJSON.Value) -> TemplateValue? {
        switch value {
        case .null: nil
        case .bool(let flag): .bool(flag)
        case .number(let number): .number(number)
        case .string(let text): TemplateValue(commandLine: text)
        case .array(let nodes): .list(nodes.compactMap { templateValue($0.value) })
        case .object(let members):
            .map(Dictionary(members.compactMap { member in templateValue(member.node.value).map { (member.key, $0) } }) { first, _ in first })
        }
    }
}

/// Why a properties text was refused: `--properties: are not valid JSON: expected ',' or '}' (column 12)`.
public struct EventPropertiesError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, worded to follow "properties": `are not valid JSON: …`.
    public var problem: String
    /// The 1-based column in the JSON text, when one place is to blame.
    public var column: Int?

    public init(_ problem: String, column: Int?) {
        self.problem = problem
        self.column = column
    }

    public var description: String {
        "properties \(problem)" + (column.map { " (column \($0))" } ?? "")
    }
}

/// What recording an event did (``Store/recordEvent(_:triggering:at:)``).
public struct EventReceipt: Sendable, Hashable {
    /// The event as stored: the first receipt's when the external id was seen before.
    public var event: ReceivedEvent
    /// False when an event with the same external id was recorded before: nothing was written.
    public var isNew: Bool
    /// One occurrence per triggered campaign, by campaign id: those created now, or for a repeated
    /// external id those created by the first receipt (some maybe not fully planned, if that
    /// receipt's planning was interrupted).
    public var occurrences: [String: Occurrence]

    public init(event: ReceivedEvent, isNew: Bool, occurrences: [String: Occurrence]) {
        self.event = event
        self.isNew = isNew
        self.occurrences = occurrences
    }
}

/// A campaign an event triggers for its user, to plan as its own occurrence.
public struct TriggeredCampaign: Sendable, Hashable {
    public var campaignID: String
    public var definitionHash: String
    /// The event's instant plus the campaign's delay: every notification's due time.
    public var dueAt: Date

    public init(campaignID: String, definitionHash: String, dueAt: Date) {
        self.campaignID = campaignID
        self.definitionHash = definitionHash
        self.dueAt = dueAt
    }
}

/// Why an event was refused by the store; nothing was written.
public struct EventError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// No user has the event's user id.
        case unknownUser = "event.unknown_user"
        /// The external id was recorded before for another user, name or properties.
        case conflictingID = "event.conflicting_id"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

extension EventError {
    /// An external id recorded before for another user, event name or properties: says what the
    /// first event had, the same on every store.
    public static func conflictingID(_ first: ReceivedEvent, _ event: ReceivedEvent) -> EventError {
        var differences: [String] = []
        if first.userID != event.userID { differences.append("user \(Quoted.visible(first.userID))") }
        if first.name != event.name { differences.append("name \(Quoted.visible(first.name))") }
        if first.properties != event.properties { differences.append("properties \(Quoted.visible(first.properties.jsonText, limit: 120))") }
        return EventError(
            .conflictingID,
            "event id \(Quoted.visible(first.externalID ?? "")) was received on \(ISO8601.string(from: first.receivedAt)) with "
                + differences.joined(separator: ", ") + "; an id names one event: give a new id for a new event"
        )
    }
}

extension Campaign {
    /// Lays an event's properties over the campaign's params, as `send --param` does: a property
    /// replaces the param of the same name in every locale of `locale_params`.
    public mutating func override(properties: EventProperties) {
        for (name, value) in properties.values {
            params[name] = value
            for locale in localeParams.keys { localeParams[locale]?[name] = nil }
        }
    }
}

/// What planning decided for one notification of an occurrence: planned (due at `dueAt`) or
/// skipped, with the reason.
public struct PlanDecision: Sendable, Hashable {
    public var notificationID: Int64
    public var userID: String
    public var channel: Channel
    /// The push device's address; empty for SMS and email.
    public var device: String
    public var state: NotificationState
    public var reason: String?
    /// What a skip's reason does not say on its own (the cap, the provider's limit), if known.
    public var detail: String?
    public var dueAt: Date

    public init(
        notificationID: Int64, userID: String, channel: Channel, device: String, state: NotificationState, reason: String?, detail: String? = nil, dueAt: Date
    ) {
        self.notificationID = notificationID
        self.userID = userID
        self.channel = channel
        self.device = device
        self.state = state
        self.reason = reason
        self.detail = detail
        self.dueAt = dueAt
    }
}
