import Foundation
import HeraldCore

/// The shape of every workspace file: the fields the parsers accept (they take their lists of
/// known fields from here) and what `herald schema` writes as JSON Schema for editors.
///
/// What a schema cannot see stays with `herald validate`: references between files (a template
/// or segment that exists, a provider named in `channels`), the rules language, Mustache,
/// `${ENV}` secrets, key files, and cron fields out of range.
public enum WorkspaceSchema {
    // MARK: Values

    static let slug = SchemaShape.name("^[a-z0-9-]{1,64}$")
    static let category = SchemaShape.name("^[a-z0-9_-]+$")
    static let duration = SchemaShape.pattern("^[0-9]+[\(DurationLiteral.Unit.allCases.map(\.rawValue).joined())]$")
    /// A duration longer than zero.
    static let positiveDuration = SchemaShape.pattern("^0*[1-9][0-9]*[\(DurationLiteral.Unit.allCases.map(\.rawValue).joined())]$")
    static let rate = SchemaShape.pattern("^0*[1-9][0-9]*/(\(RateLiteral.Per.allCases.map(\.rawValue).joined(separator: "|")))$")
    static let timeOfDay = SchemaShape.pattern("^([01][0-9]|2[0-3]):[0-5][0-9]$")
    static let localDateTimePattern = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?)?$"
    static let instantPattern = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]+)?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$"
    static let cron = SchemaShape.pattern("^\\s*(@(hourly|daily|midnight|weekly|monthly|yearly|annually)|[^\\s]+\\s+[^\\s]+\\s+[^\\s]+\\s+[^\\s]+\\s+[^\\s]+)\\s*$")
    static let eventName = SchemaShape.name("^[A-Za-z0-9_.-]{1,128}$")
    static let localeTag = SchemaShape.pattern(
        "^(?=.{1,64}$)[A-Za-z]{2,3}(-[A-Za-z]{3}){0,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
            + "(-[A-WY-Za-wy-z0-9](-[A-Za-z0-9]{2,8})+)*(-[xX](-[A-Za-z0-9]{1,8})+)?$"
    )
    static let providerName = SchemaShape.pattern("^[A-Za-z0-9_-]{1,64}$")
    static let identifier = SchemaShape.pattern("^[A-Za-z][A-Za-z0-9_]{0,63}$")
    /// A file beside the template: no absolute path, no `.` or `..` step, no empty step.
    static let bodyFile = SchemaShape.pattern("^(?!/)(?!(.*/)?\\.{1,2}(/|$))(?!.*//).+$")
    static let zone = SchemaShape.reference("timezone")
    static let channel = SchemaShape.choice(Channel.allCases.map(\.rawValue))

    /// The shape of an IANA zone name. Which zones exist is the zone database's to say, and it
    /// differs between machines; `herald validate` checks it, and the schema stays the same
    /// wherever it is written.
    static var timeZone: [String: Any] {[
        "type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$",
        "description": "An IANA time zone.", "examples": ["UTC", "Europe/Paris", "America/New_York", "Asia/Seoul", "Asia/Kolkata", "Australia/Sydney"],
    ]}

    // MARK: Shared parts

    static let frequencyCap = SchemaObject("A cap on how many notifications one person gets in a window.", [
        SchemaProperty("max", .integer(minimum: 1), required: true, "The most notifications per window.", examples: ["3"]),
        SchemaProperty("per", .anyOf([positiveDuration, .choice(["calendar_day", "calendar_week"])]), required: true,
                       "The window: a rolling duration such as 1d or 7d, or calendar_day / calendar_week in the recipient's zone.", examples: ["1d", "calendar_week"]),
        SchemaProperty("channel", channel, "Count only this channel's notifications; all channels when left out."),
        SchemaProperty("category", .name("^(?!transactional$)[a-z0-9_-]+$"),
                       "Count only this category's notifications (never transactional, which is not capped)."),
    ])

    static let quietHours = SchemaObject("Hours in the recipient's own zone when nothing is sent.", [
        SchemaProperty("from", timeOfDay, required: true, "When the quiet hours start, HH:MM in the recipient's zone.", examples: ["21:00"]),
        SchemaProperty("to", timeOfDay, required: true, "When they end, HH:MM.", examples: ["08:00"]),
        SchemaProperty("then", .choice(QuietHours.Action.allCases.map(\.rawValue)), "What happens to a send due inside them: delay it to their end (default), or skip it."),
    ])

    // MARK: Campaigns

    static let audience = SchemaObject("Who receives the campaign: a rule, or a segment's rule. Leave it out to reach every user.", [
        SchemaProperty("where", .text, "An audience rule (rules-language.md).", examples: ["country == \"KR\" and last_seen_at > now() - 30d"]),
        SchemaProperty("segment", slug, "The name of a segment in segments/.", examples: ["newsletter-readers"]),
    ], conditions: [.exactlyOne(["where", "segment"])])

    static let between = SchemaObject("The window a cron schedule fires in, as wall-clock times in its zone.", [
        SchemaProperty("start", .pattern(localDateTimePattern), "The first moment it may fire.", examples: ["2026-12-01T00:00"]),
        SchemaProperty("end", .pattern(localDateTimePattern), "The last moment it may fire.", examples: ["2027-01-31T23:59"]),
    ], conditions: [.atLeastOne(["start", "end"])])

    static let trigger = SchemaObject("Send when the API receives this event for a user.", [
        SchemaProperty("event", eventName, required: true, "The event's name.", examples: ["cart_abandoned"]),
        SchemaProperty("delay", duration, "How long after the event to send (default: at once).", examples: ["1h"]),
    ])

    static let schedule = SchemaObject("When the campaign goes out: exactly one of at, cron or trigger. Leave it out to send only with `herald send`.", [
        SchemaProperty("at", .anyOf([.pattern(localDateTimePattern), .pattern(instantPattern)]),
                       "Once: a wall-clock time read in 'timezone', or an instant with an offset.", examples: ["2026-12-01T09:00", "2026-12-01T09:00:00+09:00"]),
        SchemaProperty("cron", cron, "Repeatedly: 5 fields (minute hour day-of-month month day-of-week) or @daily and the like.", examples: ["0 9 * * MON"]),
        SchemaProperty("trigger", .object(trigger), "On an event the API receives."),
        SchemaProperty("timezone", .anyOf([.choice(["recipient"]), zone]),
                       "The zone 'at' and 'cron' are read in: an IANA zone, or recipient for each recipient's own (default: herald.yml's default_timezone).",
                       examples: ["recipient", "Europe/Paris"]),
        SchemaProperty("between", .object(between), "For cron: the window it fires in."),
    ], conditions: [
        .exactlyOne(["at", "cron", "trigger"]),
        .excludes(field: "trigger", forbidden: ["timezone"]),
        .excludes(field: "at", forbidden: ["between"]),
        .excludes(field: "trigger", forbidden: ["between"]),
        .excludesWhen(field: "at", pattern: instantPattern, forbidden: ["timezone"]),
    ])

    static let variant = SchemaObject("One version of the campaign: its own template, its own params over the campaign's, or (with neither) the campaign as written.", [
        SchemaProperty("name", .name("^(?!(holdout|treatment)$)[a-z0-9-]{1,64}$"), required: true, "The variant's name, as the report shows it.", examples: ["short"]),
        SchemaProperty("weight", .integer(minimum: 1, maximum: Experiment.maximumWeight), "Its share of the treated recipients, relative to the other weights (default 1)."),
        SchemaProperty("template", .text, "A template in templates/ to send instead of the campaign's.", examples: ["winter-sale-short"]),
        SchemaProperty("params", .map(keys: nil, values: .reference("param")), "Params laid over the campaign's.", examples: ["{discount: 40%}"]),
    ])

    static let conversion = SchemaObject("What counts as a conversion.", [
        SchemaProperty("event", eventName, required: true, "The event the API receives when someone converts.", examples: ["purchase"]),
        SchemaProperty("within", positiveDuration, required: true, "How long after the send the event counts.", examples: ["3d"]),
    ])

    /// `campaigns/<id>.yml`
    public static let campaign = SchemaObject("A Herald campaign: who gets what, on which channels, when.", [
        SchemaProperty("campaign", slug, required: true, "The campaign id, equal to the file name.", examples: ["winter-sale"]),
        SchemaProperty("description", .text, "A sentence describing the campaign."),
        SchemaProperty("category", category, "marketing (default), transactional, or a topic users can opt out of.", examples: ["marketing", "transactional", "price-alerts"]),
        SchemaProperty("audience", .object(audience), "Who receives it (default: every user)."),
        SchemaProperty("channels", .list(channel, minItems: 1, unique: true), required: true, "The channels, in order of preference.", examples: ["[push, email]"]),
        SchemaProperty("delivery", .choice(DeliveryMode.allCases.map(\.rawValue)), "first_available (default): the first channel the recipient can get; all: every one."),
        SchemaProperty("template", .text, required: true, "The name of a template in templates/.", examples: ["winter-sale"]),
        SchemaProperty("params", .map(keys: nil, values: .reference("param")), "Values for the template's variables.", examples: ["{discount: 30%}"]),
        SchemaProperty("locale_params", .map(keys: localeTag, values: .map(keys: nil, values: .reference("param"))),
                       "Values of params for the recipients of one locale, e.g. ko: {coats_from: {amount: 59000, currency: KRW}}."),
        SchemaProperty("schedule", .object(schedule), "When it goes out (default: only with herald send)."),
        SchemaProperty("frequency_caps", .list(.object(frequencyCap)), "Caps of this campaign, on top of herald.yml's limits."),
        SchemaProperty("quiet_hours", .object(quietHours), "Quiet hours of this campaign, instead of herald.yml's."),
        SchemaProperty("throttle", rate, "The most sends per unit of time.", examples: ["2000/min"]),
        SchemaProperty("expires_after", positiveDuration, "How long after it is due a notification may still be sent.", examples: ["2d"]),
        SchemaProperty("variants", .list(.object(variant), minItems: 2), "An A/B test: recipients split by weight, each variant sent its own template or params."),
        SchemaProperty("holdout", .pattern("^(?!0+(\\.0+)?%$)[0-9]{1,2}(\\.[0-9]{1,2})?%$"), "A share of recipients who get nothing, to measure the campaign against.", examples: ["10%"]),
        SchemaProperty("conversion", .object(conversion), "The event that counts as a conversion, for the report's conversion rates and lift."),
    ], conditions: [.excludesWhenEqual(field: "category", value: "transactional", forbidden: ["variants", "holdout"])])

    // MARK: Segments

    /// `segments/<name>.yml`
    public static let segment = SchemaObject("A named audience rule that campaigns use with audience: {segment: name}.", [
        SchemaProperty("segment", slug, required: true, "The segment's name, equal to the file name.", examples: ["newsletter-readers"]),
        SchemaProperty("description", .text, "A sentence describing who is in the segment."),
        SchemaProperty("where", .text, required: true, "An audience rule (rules-language.md).", examples: ["\"newsletter\" in tags and email is not null"]),
    ])

    // MARK: Templates

    static func push(isBase: Bool) -> SchemaObject {
        SchemaObject("The push notification.", [
            SchemaProperty("title", .text, "The title (Mustache)."),
            SchemaProperty("body", .text, "The text (Mustache)."),
            SchemaProperty("url", .text, "What opening the push opens."),
            SchemaProperty("data", .map(keys: nil, values: .text), "Key-value data for the app."),
            SchemaProperty("badge", .integer(minimum: 0), "The app icon's badge number."),
            SchemaProperty("sound", .text, "The sound to play, e.g. default."),
            SchemaProperty("category", .text, "The notification category (APNs) or channel (FCM)."),
            SchemaProperty("thread_id", .text, "Groups notifications (APNs thread-id, FCM tag)."),
            SchemaProperty("image", .text, "An image URL."),
            SchemaProperty("ttl", duration, "How long push services keep an undelivered push, at most 28d.", examples: ["4h"]),
            SchemaProperty("collapse_key", .text, "A newer push with the same key replaces an older one."),
            SchemaProperty("priority", .choice(PushPriority.allCases.map(\.rawValue)), "Delivery priority."),
            SchemaProperty("silent", .boolean, "A data-only push that shows nothing."),
        ], conditions: isBase ? [
            .atLeastOneUnless(fields: ["title", "body"], field: "silent", value: "true"),
            .excludesWhenEqual(field: "silent", value: "true", forbidden: ["title", "body"]),
        ] : [.excludesWhenEqual(field: "silent", value: "true", forbidden: ["title", "body"])])
    }

    static func sms(isBase: Bool) -> SchemaObject {
        SchemaObject("The SMS.", [
            SchemaProperty("body", .text, required: isBase, "The text (Mustache).", examples: ["{{item_name}} is back"]),
        ])
    }

    static func email(isBase: Bool) -> SchemaObject {
        SchemaObject("The email.", [
            SchemaProperty("subject", .text, required: isBase, "The subject line (Mustache)."),
            SchemaProperty("html", bodyFile, "The HTML body: a file beside the template.", examples: ["winter-sale.html"]),
            SchemaProperty("text", bodyFile, "The plain-text body: a file beside the template.", examples: ["winter-sale.txt"]),
        ], conditions: isBase ? [.atLeastOne(["html", "text"])] : [])
    }

    /// `templates/<name>.yml` (`isBase`) or `templates/<name>.<locale>.yml`.
    public static func template(isBase: Bool) -> SchemaObject {
        SchemaObject(isBase ? "A Herald template: the content of each channel." : "A locale's variant of a template: what differs from the base file.", [
            SchemaProperty("template", .text, required: isBase, "The template's name, equal to the file name.", examples: ["winter-sale"]),
            isBase
                ? SchemaProperty("locale", localeTag, "The language of the base file (BCP 47).", examples: ["en"])
                : SchemaProperty("locale", .never, "Not in a variant: its locale is in its file name."),
            SchemaProperty("push", .object(push(isBase: isBase)), "The push notification."),
            SchemaProperty("sms", .object(sms(isBase: isBase)), "The SMS."),
            SchemaProperty("email", .object(email(isBase: isBase)), "The email."),
        ], conditions: isBase ? [.atLeastOne(["push", "sms", "email"])] : [])
    }

    // MARK: herald.yml

    /// `string` or `[string]`: the loader's attribute types, a list type written as a YAML list.
    static let attributeType = SchemaShape.anyOf([
        .choice(ConfigurationDecoder.attributeTypes.filter { !$0.hasPrefix("[") }),
        .list(.choice(ConfigurationDecoder.attributeTypes.filter { $0.hasPrefix("[") }.map { String($0.dropFirst().dropLast()) }), minItems: 1, maxItems: 1),
    ])

    static let attribute = SchemaObject("An attribute with a type, and for strings the allowed values.", [
        SchemaProperty("type", attributeType, required: true, "string, number, bool, time, [string] or [number]."),
        SchemaProperty("values", .list(.text, minItems: 1), "The allowed values of a string attribute.", examples: ["[free, pro]"]),
    ])

    static let limits = SchemaObject("Limits for every campaign.", [
        SchemaProperty("frequency_caps", .list(.object(frequencyCap)), "Caps on how many notifications one person gets."),
        SchemaProperty("quiet_hours", .object(quietHours), "Hours in each recipient's zone when nothing is sent."),
    ])

    static let retry = SchemaObject("How failed sends are retried.", [
        SchemaProperty("max_attempts", .integer(minimum: 1), "Attempts before a send is dead-lettered (default 8)."),
        SchemaProperty("initial", positiveDuration, "The first retry's delay (default 2s)."),
        SchemaProperty("max", positiveDuration, "The longest delay between retries (default 30m)."),
    ])

    static let tracking = SchemaObject("Tracked links, the open pixel and the one-click unsubscribe link.", [
        SchemaProperty("base_url", .pattern("^(https?://.+|.*\\$\\{.+\\}.*)$"), required: true, "The public URL of the tracking endpoints.", examples: ["https://t.example.com"]),
        SchemaProperty("secret", .text, required: true, "The secret that signs tracked links.", examples: ["${HERALD_TRACKING_SECRET}"]),
        SchemaProperty("opens", .boolean, "Add the open pixel to HTML email (default true)."),
        SchemaProperty("clicks", .boolean, "Send links through click tracking (default true)."),
    ])

    static let api = SchemaObject("The HTTP API of herald serve and herald run.", [
        SchemaProperty("listen", .pattern("^.+:[0-9]{1,5}$"), "HOST:PORT to listen on.", examples: ["127.0.0.1:8080"]),
        SchemaProperty("senders", .list(.pattern("^(\\*@)?[^@\\s<>]+@[^@\\s<>]*\\.[^@\\s<>]*$"), minItems: 0), "The addresses or *@domains API sends may use as from.",
                       examples: ["[orders@example.com, \"*@news.example.com\"]"]),
        SchemaProperty("keys", .never, "No longer read: create keys with herald keys create."),
    ])

    static let alerts = SchemaObject("Alerts posted to a webhook when delivery goes wrong.", [
        SchemaProperty("webhook", .text, required: true, "The http or https URL alerts are posted to.", examples: ["${HERALD_ALERT_WEBHOOK}"]),
        SchemaProperty("failure_rate", .pattern("^(100(\\.0+)?|[0-9]{1,2}(\\.[0-9]+)?)%$"), "Alert when this share of attempts fails.", examples: ["20%"]),
        SchemaProperty("min_attempts", .integer(minimum: 1), "Attempts in the window before the failure rate counts."),
        SchemaProperty("window", positiveDuration, "The window the failure rate is measured over.", examples: ["5m"]),
        SchemaProperty("dead_letters", .integer(minimum: 1), "Alert at this many new dead letters."),
        SchemaProperty("oldest_due", positiveDuration, "Alert when a due notification waits longer than this.", examples: ["15m"]),
        SchemaProperty("breaker_open", positiveDuration, "Alert when a provider's circuit breaker stays open longer than this.", examples: ["2m"]),
    ])

    static let channelRouting = SchemaObject("Which providers carry each channel, in failover order.", [
        SchemaProperty("push", .map(keys: .choice(PushService.allCases.map(\.rawValue) + DevicePlatform.allCases.map(\.rawValue)), values: providerName),
                       "A provider per push service.", examples: ["{apns: apns, fcm: fcm, webpush: webpush}"]),
        SchemaProperty("sms", .anyOf([providerName, .list(providerName)]), "SMS providers in failover order.", examples: ["[twilio, vonage]"]),
        SchemaProperty("email", .anyOf([providerName, .list(providerName)]), "Email providers in failover order.", examples: ["[sendgrid, smtp]"]),
    ])

    /// `herald.yml`
    public static let configuration = SchemaObject("Herald's workspace settings.", [
        SchemaProperty("store", .pattern("^(sqlite:.+|postgres(ql)?://.*)$"), "Where Herald keeps its state.", examples: ["sqlite:herald.db"]),
        SchemaProperty("default_timezone", zone, "The zone of recipients without a valid one, and of schedules without timezone.", examples: ["UTC"]),
        SchemaProperty("attributes", .map(keys: .anyOf([.pattern("^(?!(\(ConfigurationDecoder.builtInUserFields.joined(separator: "|"))|\(ConfigurationDecoder.ruleWords.joined(separator: "|")))$)[A-Za-z][A-Za-z0-9_]{0,63}$")]),
                                          values: .anyOf([attributeType, .object(attribute)])),
                       "The user attributes audience rules and imports are checked against.", examples: ["{country: string, plan: {type: string, values: [free, pro]}}"]),
        SchemaProperty("categories", .list(.pattern("^(?!transactional$)[a-z0-9_-]+$")), "Categories users can opt out of, besides marketing.", examples: ["[newsletter]"]),
        SchemaProperty("providers", .map(keys: providerName, values: .reference("provider")), "The providers, by name."),
        SchemaProperty("channels", .object(channelRouting), "Which providers carry each channel."),
        SchemaProperty("limits", .object(limits), "Frequency caps and quiet hours for every campaign."),
        SchemaProperty("retry", .object(retry), "How failed sends are retried."),
        SchemaProperty("tracking", .object(tracking), "Tracked links and one-click unsubscribe."),
        SchemaProperty("api", .object(api), "The HTTP API."),
        SchemaProperty("alerts", .object(alerts), "Delivery alerts."),
    ])

    /// The JSON Schema of one provider kind's settings, from `ProviderSchema`.
    static func provider(_ kind: ProviderKind) -> [String: Any] {
        let schema = ProviderSchema.schema(for: kind)
        var properties: [String: Any] = ["kind": ["const": kind.rawValue, "description": "The kind of provider."]]
        for field in schema.fields {
            var value: [String: Any]
            if field.name == "price" {
                value = SchemaShape.object(SchemaObject(field.summary, ProviderPrice.Unit.allCases.map { unit in
                    SchemaProperty(unit.rawValue, .pattern("^([0-9]+(\\.[0-9]+)? [A-Za-z]{3}|[A-Za-z]{3} [0-9]+(\\.[0-9]+)?)$"), nullable: false,
                                   "An amount and an ISO 4217 currency code.", examples: ["0.0079 USD"])
                }, conditions: [.atLeastOne(ProviderPrice.Unit.allCases.map(\.rawValue))])).jsonSchema()
                // `price:` with no value reads as no price.
                value = SchemaProperty.allowingNull(value)
            } else if field.name == "rate" {
                value = rate.jsonSchema()
            } else {
                value = field.check.jsonSchema()
            }
            value["description"] = field.summary
            properties[field.name] = value
        }
        var conditions: [[String: Any]] = schema.required.map { group in
            ["anyOf": group.map { ["required": [$0]] }]
        }
        for need in schema.needs {
            conditions.append(["if": ["required": [need.field]], "then": ["required": [need.needs]]])
        }
        var result: [String: Any] = ["properties": properties, "additionalProperties": false]
        if !conditions.isEmpty { result["allOf"] = conditions }
        return result
    }

    /// The `$defs` each file's schema carries.
    static func definitions(for file: File) -> [String: Any] {
        var definitions: [String: Any] = [:]
        switch file {
        case .configuration:
            definitions["timezone"] = timeZone
            let kinds = ProviderKind.allCases
            definitions["provider"] = [
                "type": "object",
                "description": "A provider's settings, starting with its kind.",
                "required": ["kind"],
                "properties": ["kind": ["enum": kinds.map(\.rawValue)]],
                "allOf": kinds.map { kind in
                    ["if": ["properties": ["kind": ["const": kind.rawValue]], "required": ["kind"]], "then": provider(kind)] as [String: Any]
                },
            ] as [String: Any]
        case .campaign:
            definitions["timezone"] = timeZone
            definitions["param"] = [
                "description": "A template value: text, a number, true or false, a date, a list, a mapping, or money {amount, currency}.",
                "anyOf": [
                    ["type": ["string", "number", "boolean"]],
                    ["type": "array", "items": ["$ref": "#/$defs/param"]],
                    ["type": "object", "additionalProperties": ["$ref": "#/$defs/param"]],
                ],
            ] as [String: Any]
        case .segment, .template, .templateVariant:
            break
        }
        return definitions
    }

    /// The files a schema is written for.
    public enum File: String, CaseIterable, Sendable {
        case configuration = "herald"
        case campaign
        case segment
        case template
        case templateVariant = "template-variant"

        /// `campaign.schema.json`
        public var fileName: String { "\(rawValue).schema.json" }

        var root: SchemaObject {
            switch self {
            case .configuration: WorkspaceSchema.configuration
            case .campaign: WorkspaceSchema.campaign
            case .segment: WorkspaceSchema.segment
            case .template: WorkspaceSchema.template(isBase: true)
            case .templateVariant: WorkspaceSchema.template(isBase: false)
            }
        }

        var title: String {
            switch self {
            case .configuration: "herald.yml"
            case .campaign: "Herald campaign (campaigns/<id>.yml)"
            case .segment: "Herald segment (segments/<name>.yml)"
            case .template: "Herald template (templates/<name>.yml)"
            case .templateVariant: "Herald template variant (templates/<name>.<locale>.yml)"
            }
        }

        /// Which file of a workspace this schema checks, by its path from the workspace root;
        /// `nil` for files no schema describes (body files, keys).
        public init?(path: String) {
            let parts = path.split(separator: "/")
            guard let last = parts.last, last.hasSuffix(".yml") else { return nil }
            switch (parts.count, parts.first) {
            case (1, _) where last == "herald.yml": self = .configuration
            case (2, "campaigns"): self = .campaign
            case (2, "segments"): self = .segment
            case (2, "templates"):
                guard let name = TemplateFileName(fileName: String(last)) else { return nil }
                self = name.locale == nil ? .template : .templateVariant
            default: return nil
            }
        }
    }

    /// The JSON Schema (draft 2020-12) of one kind of file, as pretty-printed JSON with sorted
    /// keys, so that it is the same on every run.
    public static func json(for file: File) -> String {
        var schema = file.root.jsonSchema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = file.fileName
        schema["title"] = file.title
        let definitions = definitions(for: file)
        if !definitions.isEmpty { schema["$defs"] = definitions }
        let options: JSONSerialization.WritingOptions = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        guard let data = try? JSONSerialization.data(withJSONObject: schema, options: options) else { return "{}" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension ProviderSchema.Check {
    /// A value may also be a `${NAME}` replaced from the environment, so every pattern also takes
    /// any text with a `${…}` in it.
    static let environmentReference = ".*\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}.*"

    func jsonSchema() -> [String: Any] {
        func text(_ pattern: String) -> [String: Any] {
            ["type": "string", "pattern": "^(\(pattern)|\(Self.environmentReference))$"]
        }
        switch self {
        case .text, .certificateFile, .privateKeyFile, .serviceAccountFile:
            return SchemaShape.text.jsonSchema()
        case .url:
            return text("https?://[^/?#\\s]+.*")
        case .smtpURL:
            return text("smtps?://[^/?#\\s]+.*")
        case .mailbox:
            return text("([^<>]*<)?[^@\\s<>]+@[^@\\s<>]+\\.[^@\\s<>]+>?")
        case .email:
            return text("[^@\\s<>]+@[^@\\s<>]+\\.[^@\\s<>]+")
        case .sender:
            return ["anyOf": [["type": "integer", "minimum": 0], text("\\+?[0-9]{1,15}|[A-Za-z0-9 ]{1,11}")]]
        case .identifier(let prefix):
            return text("\(prefix)[0-9A-Fa-f]{32}")
        case .integer(let range):
            return ["anyOf": [["type": "integer", "minimum": range.lowerBound, "maximum": range.upperBound], text("[0-9]+")]]
        case .duration:
            return text("[0-9]+[\(DurationLiteral.Unit.allCases.map(\.rawValue).joined())]")
        case .oneOf(let words):
            var values: [Any] = words
            if words.contains("true") { values.append(true) }
            if words.contains("false") { values.append(false) }
            return ["enum": values]
        }
    }
}
