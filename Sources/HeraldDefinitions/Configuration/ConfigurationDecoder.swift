import Foundation
import HeraldCore
import Yams

/// The decoding of one herald.yml, section by section.
struct ConfigurationDecoder {
    let reader: YAMLReader
    /// Where relative key and certificate files are looked up; the current directory when nil.
    var workspaceRoot: String? = nil
    /// Parses key and certificate files; without it only their outline is checked.
    var credentials: CredentialFileInspector? = nil

    static let builtInUserFields = ["id", "email", "phone", "locale", "timezone", "first_name", "last_name", "created_at"]
    static let ruleWords = [
        "and", "or", "not", "in", "is", "null", "true", "false", "contains", "starts_with", "ends_with", "matches",
    ]
    /// The scopes an API key can grant.

    func decode(_ root: Fields) -> HeraldConfiguration {
        var configuration = HeraldConfiguration()
        if let node = root["store"], let store = store(node) {
            configuration.store = store
        }
        if let node = root["default_timezone"], let zone = reader.timeZone(node, name: "'default_timezone'") {
            configuration.defaultTimezone = zone
        }
        if let node = root["attributes"] {
            configuration.attributes = attributes(node)
        }
        if let node = root["categories"] {
            configuration.categories = categories(node)
        }
        var providerKinds: [(name: String, kind: ProviderKind?)] = []
        if let node = root["providers"] {
            (configuration.providers, providerKinds) = providers(node)
        }
        if let node = root["channels"] {
            configuration.channels = channels(node, providers: providerKinds)
        }
        if let node = root["limits"], let fields = reader.fields(
            node, name: "'limits'", expected: "{frequency_caps: […], quiet_hours: {…}}", known: WorkspaceSchema.limits.names
        ) {
            if let node = fields["frequency_caps"], let caps = reader.frequencyCaps(node, name: "'frequency_caps'") {
                configuration.frequencyCaps = caps
            }
            configuration.quietHours = fields["quiet_hours"].flatMap { reader.quietHours($0, name: "'quiet_hours'") }
        }
        if let node = root["retry"], let retry = retry(node) {
            configuration.retry = retry
        }
        configuration.tracking = root["tracking"].flatMap(tracking)
        configuration.api = root["api"].flatMap(api)
        configuration.alerts = root["alerts"].flatMap(alerts)
        return configuration
    }

    // MARK: categories

    /// The categories users may opt out of besides `marketing` and the campaigns' own.
    private func categories(_ node: Node) -> [String] {
        let expected = "a list of categories users can opt out of, e.g. [newsletter, product-updates]"
        guard let items = reader.list(node, name: "'categories'", expected: expected) else { return [] }
        var categories: [String] = []
        for item in items {
            guard let name = reader.text(item, name: "a category", expected: "a category name") else { continue }
            guard Preferences.isValidKey(name), !name.contains(":") else {
                reader.error("invalid category \(reader.quoted(name))", at: item, hint: "use lowercase letters, digits, '-' and '_', e.g. product-updates")
                continue
            }
            guard name != Campaign.transactionalCategory else {
                reader.error("'transactional' cannot be opted out of", at: item, hint: "transactional messages respect only channel opt-outs; remove it")
                continue
            }
            categories.append(name)
        }
        return categories
    }

    // MARK: store

    private func store(_ node: Node) -> String? {
        let expected = "sqlite:PATH, e.g. sqlite:herald.db, or a postgres:// URL"
        guard let text = reader.text(node, name: "'store'", expected: expected) else { return nil }
        if text.hasPrefix("sqlite:"), text.count > "sqlite:".count { return text }
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            do {
                _ = try PostgresLocation(url: text)
                return text
            } catch {
                // The reason only, never the value: it may hold a password from ${…}.
                var reason = error.message
                var hint = "expected postgres://user:${PASSWORD}@host:5432/database"
                if reason.hasSuffix(")"), let open = reason.range(of: " (", options: .backwards) {
                    hint = String(reason[open.upperBound..<reason.index(before: reason.endIndex)])
                    reason = String(reason[..<open.lowerBound])
                }
                reader.error("invalid store URL: \(reason)", at: node, hint: hint)
                return nil
            }
        }
        reader.error("unsupported store \(reader.quoted(text))", at: node, hint: "expected \(expected)")
        return nil
    }

    // MARK: attributes

    private func attributes(_ node: Node) -> AttributeSchema {
        let expected = "a mapping of attribute names to types, e.g. country: string"
        var schema = AttributeSchema()
        guard let entries = reader.mapping(node, name: "'attributes'", expected: expected) else { return schema }
        for entry in entries {
            let name = entry.key
            if !Self.isIdentifier(name) {
                reader.error(
                    "invalid attribute name \(reader.quoted(name))", at: entry.keyNode,
                    hint: "use at most 64 letters, digits and '_', starting with a letter, e.g. last_seen_at"
                )
                continue
            }
            if Self.builtInUserFields.contains(name) {
                reader.error("attribute '\(name)' is a built-in user field", at: entry.keyNode, hint: "choose another name; every user already has \(name)")
                continue
            }
            if Self.ruleWords.contains(name) {
                reader.error("attribute name '\(name)' is a word of the rules language", at: entry.keyNode, hint: "choose another name")
                continue
            }
            if let definition = attribute(name: name, node: entry.value, keyNode: entry.keyNode) {
                schema.append(definition)
            }
        }
        return schema
    }

    static let attributeTypes = ["string", "number", "bool", "time", "[string]", "[number]"]

    private func attribute(name: String, node: Node, keyNode: Node) -> AttributeDefinition? {
        let location = reader.location(of: keyNode)
        if case .mapping = node {
            let expected = "{type: string, values: [a, b]}"
            guard let fields = reader.fields(node, name: "attribute '\(name)'", expected: expected, known: WorkspaceSchema.attribute.names),
                  let typeNode = reader.required(fields, "type", expected: "one of: " + Self.attributeTypes.joined(separator: ", ")),
                  let type = attributeType(typeNode, name: name)
            else { return nil }
            var values: [String]?
            if let valuesNode = fields["values"] {
                guard type == .string || type == .list(.string) else {
                    reader.error(
                        "'values' applies only to string attributes, and '\(name)' is \(type)", at: valuesNode,
                        hint: "remove 'values', or make the type string"
                    )
                    return nil
                }
                guard let list = stringList(valuesNode, name: "'values'", expected: "a list of the allowed values, e.g. [free, pro]") else {
                    return nil
                }
                values = list
            }
            return AttributeDefinition(name: name, type: type, allowedValues: values, location: location)
        }
        guard let type = attributeType(node, name: name) else { return nil }
        return AttributeDefinition(name: name, type: type, location: location)
    }

    private func attributeType(_ node: Node, name: String) -> AttributeType? {
        let expected = "one of: " + Self.attributeTypes.joined(separator: ", ")
        var listOf = false
        var scalarNode = node
        if case .sequence(let sequence) = node {
            guard sequence.count == 1, let element = sequence.first, case .scalar = element else {
                reader.error("invalid type for attribute '\(name)'", at: node, hint: "a list type is [string] or [number]")
                return nil
            }
            listOf = true
            scalarNode = element
        }
        guard let text = reader.text(scalarNode, name: "the type of attribute '\(name)'", expected: expected) else { return nil }
        let written = listOf ? "[\(text)]" : text
        let type: AttributeType? = switch written {
        case "string": .string
        case "number": .number
        case "bool": .bool
        case "time": .time
        case "[string]": .list(.string)
        case "[number]": .list(.number)
        default: nil
        }
        guard let type else {
            let candidates = listOf ? Self.attributeTypes.filter { $0.hasPrefix("[") } : Self.attributeTypes
            reader.error("unknown attribute type \(reader.quoted(written))", at: node, hint: reader.hint(for: written, in: candidates))
            return nil
        }
        return type
    }

    // MARK: providers

    private func providers(_ node: Node) -> ([ProviderConfiguration], [(name: String, kind: ProviderKind?)]) {
        let kinds = ProviderKind.allCases.map(\.rawValue)
        let expected = "a mapping of provider names to settings, e.g. twilio: {kind: twilio, account_sid: …}"
        var providers: [ProviderConfiguration] = []
        var names: [(name: String, kind: ProviderKind?)] = []
        guard let entries = reader.mapping(node, name: "'providers'", expected: expected) else { return ([], []) }
        for entry in entries {
            let name = entry.key
            guard Self.isProviderName(name) else {
                reader.error("invalid provider name \(reader.quoted(name))", at: entry.keyNode, hint: "use letters, digits, '-' and '_', e.g. sendgrid")
                continue
            }
            let providerExpected = "the settings of provider '\(name)', starting with kind (one of: \(kinds.joined(separator: ", ")))"
            guard let settings = reader.mapping(entry.value, name: "provider '\(name)'", expected: providerExpected) else {
                names.append((name, nil))
                continue
            }
            var kind: ProviderKind?
            var values: [String: String] = [:]
            var rate: RateLiteral?
            var priceNode: Node?
            var failed = false
            for setting in settings {
                if setting.key == "kind" {
                    kind = reader.choice(setting.value, name: "'kind'", kind: "provider kind")
                    if kind == nil { failed = true }
                    continue
                }
                if setting.key == "price" {
                    // A mapping, read once the kind is known: what can be priced depends on it.
                    priceNode = reader.isNull(setting.value) ? nil : setting.value
                    continue
                }
                guard let value = reader.text(setting.value, name: reader.quoted(setting.key), expected: "a text value") else {
                    failed = true
                    continue
                }
                values[setting.key] = value
                if setting.key == "rate" {
                    rate = reader.rate(setting.value, name: "'rate'")
                    if rate == nil { failed = true }
                }
            }
            if kind == nil, !settings.contains(where: { $0.key == "kind" }) {
                reader.error("missing field 'kind' in provider '\(name)'", at: entry.value, hint: "expected one of: \(kinds.joined(separator: ", "))")
            }
            names.append((name, kind))
            guard let kind else { continue }
            if !ProviderSchema.check(
                name: name, kind: kind, entries: settings, values: values, mappingNode: entry.value, reader: reader, root: workspaceRoot,
                credentials: credentials
            ) {
                failed = true
            }
            var price: ProviderPrice?
            if let priceNode {
                price = self.price(priceNode, provider: name, kind: kind)
                if price == nil { failed = true }
            }
            guard !failed else { continue }
            providers.append(ProviderConfiguration(
                name: name, kind: kind, settings: values, rate: rate, price: price, location: reader.location(of: entry.keyNode)
            ))
        }
        return (providers, names)
    }

    // MARK: price

    /// `price: {per_segment: "0.0079 USD"}` (SMS providers, which bill per segment) or
    /// `price: {per_message: "0.0001 USD"}` (any provider): one of the two.
    private func price(_ node: Node, provider: String, kind: ProviderKind) -> ProviderPrice? {
        let example = kind.channel == .sms ? "{per_segment: \"0.0079 USD\"}" : "{per_message: \"0.0001 USD\"}"
        let known = ProviderPrice.Unit.allCases.map(\.rawValue)
        guard let fields = reader.fields(node, name: "'price'", expected: example, known: known) else { return nil }
        let written = if case .mapping(let mapping) = node { mapping.count } else { 0 }
        if written == 0 {
            reader.error("no price for provider '\(provider)'", at: node, hint: "expected \(example), or remove 'price'")
            return nil
        }
        var price: ProviderPrice?
        var seen: ProviderPrice.Unit?
        // An unknown key is already reported; the known ones are still checked.
        var failed = fields.entries.count != written
        for entry in fields.entries {
            guard let unit = ProviderPrice.Unit(rawValue: entry.key) else { continue }
            if unit == .segment, kind.channel != .sms {
                reader.error(
                    "provider '\(provider)' of kind \(kind.rawValue) carries \(kind.channel.rawValue), which has no segments",
                    at: entry.keyNode, hint: "price it per message, e.g. price: {per_message: \"0.0001 USD\"}"
                )
                failed = true
                continue
            }
            if seen != nil {
                reader.error(
                    "provider '\(provider)' has both per_segment and per_message", at: entry.keyNode,
                    hint: "keep one: Twilio and Vonage bill per segment"
                )
                failed = true
                continue
            }
            seen = unit
            guard let amount = money(entry.value, name: "'\(entry.key)' of provider '\(provider)'") else {
                failed = true
                continue
            }
            price = ProviderPrice(unit, amount)
        }
        return failed ? nil : price
    }

    /// `"0.0079 USD"`: a non-negative decimal amount, a space and an ISO 4217 code Foundation knows.
    private func money(_ node: Node, name: String) -> Money? {
        let expected = "an amount and an ISO 4217 currency code, e.g. \"0.0079 USD\""
        guard let text = reader.text(node, name: name, expected: expected) else { return nil }
        let parts = text.split(separator: " ")
        guard parts.count == 2 else {
            if parts.count == 1, Self.isPlainDecimal(parts[0]) {
                reader.error("no currency in price \(reader.quoted(text)) for \(name)", at: node, hint: "write the code after the amount, e.g. \"\(text) USD\"")
            } else {
                reader.error("invalid price \(reader.quoted(text)) for \(name)", at: node, hint: "expected \(expected)")
            }
            return nil
        }
        let (amountText, code) = (String(parts[0]), String(parts[1]))
        if Money.knownCurrencies.contains(amountText), Self.isPlainDecimal(code[...]) {
            reader.error("invalid price \(reader.quoted(text)) for \(name)", at: node, hint: "write the amount first, e.g. \"\(code) \(amountText)\"")
            return nil
        }
        var failed = false
        if amountText.hasPrefix("-"), Self.isPlainDecimal(amountText.dropFirst()) {
            reader.error("negative price \(reader.quoted(text)) for \(name)", at: node, hint: "write what the provider charges, 0 or more")
            failed = true
        } else if !Self.isPlainDecimal(amountText[...]) {
            reader.error(
                "invalid amount \(reader.quoted(amountText)) for \(name)", at: node,
                hint: "write digits with an optional decimal point, e.g. \"0.0079 USD\""
            )
            failed = true
        }
        if !Money.knownCurrencies.contains(code) {
            let hint: String
            if Money.knownCurrencies.contains(code.uppercased()) {
                hint = "did you mean '\(code.uppercased())'?"
            } else if code.count <= 64,
                      let match = Suggestion.closest(to: code, in: Self.commonCurrencies) ?? Suggestion.closest(to: code, in: Money.knownCurrencies) {
                hint = "did you mean '\(match)'?"
            } else {
                hint = "expected an ISO 4217 code such as USD, EUR or KRW"
            }
            reader.error("unknown currency \(reader.quoted(code)) for \(name)", at: node, hint: hint)
            failed = true
        }
        guard !failed, let amount = Decimal(string: amountText, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
        return Money(amount: amount, currency: code)
    }

    /// The currencies providers bill in, suggested before the rest: `USB` is one letter from both
    /// `USD` and the long-gone Spanish `ESB`.
    static let commonCurrencies = [
        "USD", "EUR", "GBP", "JPY", "KRW", "CNY", "INR", "CAD", "AUD", "NZD", "CHF", "SEK", "NOK", "DKK", "PLN", "BRL", "MXN",
        "SGD", "HKD", "ZAR",
    ]

    /// `0`, `0.0079`, `12.5`: digits with an optional decimal point, no sign or exponent.
    static func isPlainDecimal(_ text: Substring) -> Bool {
        let pieces = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(pieces.count), pieces.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 30 }) else { return false }
        return pieces.allSatisfy { $0.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } }
    }

    // MARK: channels

    private func channels(_ node: Node, providers: [(name: String, kind: ProviderKind?)]) -> ChannelRouting {
        var routing = ChannelRouting()
        let expected = "{push: {apns: apns, fcm: fcm, webpush: webpush}, sms: [twilio], email: [sendgrid]}"
        guard let fields = reader.fields(node, name: "'channels'", expected: expected, known: WorkspaceSchema.channelRouting.names) else {
            return routing
        }
        // A provider per push service (`apns: apns`); the older form per device platform
        // (`ios: apns`) still reads, as the platform's default service.
        if let pushNode = fields["push"], let entries = reader.fields(
            pushNode, name: "'push'", expected: "a provider per push service, e.g. {apns: apns, fcm: fcm, webpush: webpush, jpush: jpush}",
            known: PushService.allCases.map(\.rawValue) + DevicePlatform.allCases.map(\.rawValue)
        ) {
            var namedBy: [PushService: String] = [:]
            for entry in entries.entries {
                guard let service = PushService(rawValue: entry.key) ?? DevicePlatform(rawValue: entry.key)?.defaultService else { continue }
                if let earlier = namedBy[service] {
                    reader.error(
                        "push service \(service.rawValue) is given twice, as '\(earlier)' and as '\(entry.key)'", at: entry.keyNode,
                        hint: "keep one; '\(DevicePlatform.allCases.first { $0.defaultService == service }?.rawValue ?? entry.key)' is the older name of '\(service.rawValue)'"
                    )
                    continue
                }
                namedBy[service] = entry.key
                guard let name = provider(entry.value, name: "'\(entry.key)'", channel: .push, providers: providers) else { continue }
                if let kind = providers.first(where: { $0.name == name })?.kind, let served = kind.pushService, served != service {
                    reader.error(
                        "provider '\(name)' is of kind \(kind.rawValue) and cannot deliver to \(service.rawValue) devices", at: entry.value,
                        hint: providers.filter { $0.kind?.pushService == service }.map(\.name).first.map { "use '\($0)'" }
                            ?? "define a provider of kind \(service.rawValue) under 'providers:'"
                    )
                    continue
                }
                routing.push[service] = name
            }
        }
        if let smsNode = fields["sms"] {
            routing.sms = providerList(smsNode, channel: .sms, providers: providers)
        }
        if let emailNode = fields["email"] {
            routing.email = providerList(emailNode, channel: .email, providers: providers)
        }
        return routing
    }

    /// `sms: [twilio, vonage]` (failover order), or one name.
    private func providerList(_ node: Node, channel: Channel, providers: [(name: String, kind: ProviderKind?)]) -> [String] {
        let expected = "a list of \(channel.rawValue) provider names in failover order, e.g. [\(Self.example(for: channel))]"
        let items: [Node]
        if case .scalar = node, !reader.isNull(node) {
            items = [node]
        } else {
            guard let list = reader.list(node, name: "'\(channel.rawValue)'", expected: expected) else { return [] }
            items = list
        }
        var names: [String] = []
        var seen: Set<String> = []
        for item in items {
            guard let name = provider(item, name: "an item of '\(channel.rawValue)'", channel: channel, providers: providers) else { continue }
            guard seen.insert(name).inserted else {
                reader.error("provider '\(name)' is listed twice for \(channel.rawValue)", at: item, hint: "list each provider once")
                continue
            }
            names.append(name)
        }
        return names
    }

    /// A provider name that exists and carries `channel`.
    private func provider(_ node: Node, name: String, channel: Channel, providers: [(name: String, kind: ProviderKind?)]) -> String? {
        let fitting = providers.filter { $0.kind?.channel == channel }.map(\.name)
        let kindsForChannel = ProviderKind.allCases.filter { $0.channel == channel }.map(\.rawValue)
        let kindList = kindsForChannel.count == 1 ? kindsForChannel[0]
            : kindsForChannel.dropLast().joined(separator: ", ") + " or " + (kindsForChannel.last ?? "")
        let expected = fitting.isEmpty
            ? "a provider of kind \(kindList), defined under 'providers:'"
            : "one of the \(channel.rawValue) providers: " + fitting.joined(separator: ", ")
        guard let text = reader.text(node, name: name, expected: expected) else { return nil }
        guard let entry = providers.first(where: { $0.name == text }) else {
            let hint = providers.isEmpty
                ? "no providers are defined under 'providers:'"
                : reader.hint(for: text, in: providers.map(\.name))
            reader.error("unknown provider \(reader.quoted(text))", at: node, hint: hint)
            return nil
        }
        guard let kind = entry.kind else {
            // The provider's own error is already reported.
            return nil
        }
        guard kind.channel == channel else {
            reader.error(
                "provider '\(text)' is of kind \(kind.rawValue), which carries \(kind.channel.rawValue), not \(channel.rawValue)",
                at: node, hint: "expected \(expected)"
            )
            return nil
        }
        return text
    }

    private static func example(for channel: Channel) -> String {
        switch channel {
        case .push: "apns"
        case .sms: "twilio, vonage"
        case .email: "sendgrid, smtp"
        }
    }

    // MARK: retry, tracking, api

    private func retry(_ node: Node) -> RetryConfiguration? {
        guard let fields = reader.fields(
            node, name: "'retry'", expected: "{max_attempts: 8, initial: 2s, max: 30m}", known: WorkspaceSchema.retry.names
        ) else { return nil }
        var retry = RetryConfiguration()
        var failed = false
        if let node = fields["max_attempts"] {
            if let value = reader.integer(node, name: "'max_attempts'", minimum: 1) { retry.maxAttempts = value } else { failed = true }
        }
        if let node = fields["initial"] {
            if let value = reader.duration(node, name: "'initial'") { retry.initial = value } else { failed = true }
        }
        if let node = fields["max"] {
            if let value = reader.duration(node, name: "'max'") { retry.max = value } else { failed = true }
        }
        guard !failed else { return nil }
        if retry.initial.seconds > retry.max.seconds {
            reader.error(
                "the first retry delay \(retry.initial) is longer than the longest delay \(retry.max)",
                at: fields["initial"] ?? node, hint: "make initial at most max"
            )
            return nil
        }
        return retry
    }

    private func tracking(_ node: Node) -> TrackingConfiguration? {
        let expected = "{base_url: \"https://t.example.com\", secret: ${HERALD_TRACKING_SECRET}, opens: true, clicks: true}"
        guard let fields = reader.fields(node, name: "'tracking'", expected: expected, known: WorkspaceSchema.tracking.names) else {
            return nil
        }
        let baseURL = reader.required(fields, "base_url", expected: "the public URL of the tracking endpoints, e.g. https://t.example.com")
            .flatMap { node -> String? in
                guard let text = reader.text(node, name: "'base_url'", expected: "an http or https URL") else { return nil }
                guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
                      let host = url.host, !host.isEmpty
                else {
                    reader.error("invalid URL \(reader.quoted(text)) for 'base_url'", at: node, hint: "expected an http or https URL, e.g. https://t.example.com")
                    return nil
                }
                return text
            }
        let secret = reader.required(fields, "secret", expected: "the secret that signs tracked links, e.g. secret: ${HERALD_TRACKING_SECRET}")
            .flatMap { node -> String? in
                guard let text = reader.text(node, name: "'secret'", expected: "a secret text") else { return nil }
                if text.isEmpty {
                    reader.error("the tracking secret is empty", at: node, hint: "use at least 16 random characters")
                    return nil
                }
                if text.count < 16 {
                    reader.warning("the tracking secret is short (\(text.count) characters)", at: node, hint: "use at least 16 random characters")
                }
                return text
            }
        let opens = fields["opens"].map { reader.bool($0, name: "'opens'") }
        let clicks = fields["clicks"].map { reader.bool($0, name: "'clicks'") }
        guard let baseURL, let secret, opens != .some(nil), clicks != .some(nil) else { return nil }
        return TrackingConfiguration(baseURL: baseURL, secret: secret, opens: (opens ?? true) ?? true, clicks: (clicks ?? true) ?? true)
    }

    private func api(_ node: Node) -> APIConfiguration? {
        guard let fields = reader.fields(node, name: "'api'", expected: "{listen: 127.0.0.1:8080}", known: WorkspaceSchema.api.names) else {
            return nil
        }
        var api = APIConfiguration()
        if let node = fields["listen"], let listen = listen(node) {
            api.listen = listen
        }
        if let node = fields["senders"] {
            let expected = "a list of addresses or domains, e.g. [orders@example.com, \"*@news.example.com\"]"
            var senders: [String] = []
            for item in reader.list(node, name: "'senders'", expected: expected) ?? [] {
                guard let text = reader.text(item, name: "a sender", expected: expected) else { continue }
                let address = text.hasPrefix("*@") ? "x" + text.dropFirst() : text
                let parts = address.split(separator: "@", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !address.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" }) else {
                    reader.error("invalid sender \(reader.quoted(text)) in 'senders'", at: item, hint: "expected \(expected)")
                    continue
                }
                senders.append(text)
            }
            api.senders = senders
        }
        if let keys = fields["keys"] {
            // Keys used to be listed here with an unsalted SHA-256 of their secret.
            reader.error(
                "API keys are no longer read from herald.yml", at: keys,
                hint: "remove 'keys' and create each key with `herald keys create --scopes send,users,events,read`: the store keeps a salted hash, and the secret is shown once"
            )
        }
        return api
    }

    private func listen(_ node: Node) -> String? {
        let expected = "HOST:PORT, e.g. 127.0.0.1:8080"
        guard let text = reader.text(node, name: "'listen'", expected: expected) else { return nil }
        guard let colon = text.lastIndex(of: ":"),
              let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port),
              !text[..<colon].isEmpty
        else {
            reader.error("invalid address \(reader.quoted(text)) for 'listen'", at: node, hint: "expected \(expected)")
            return nil
        }
        return text
    }

    // MARK: alerts

    static let alertFields = WorkspaceSchema.alerts.names

    private func alerts(_ node: Node) -> AlertsConfiguration? {
        let expected = "{webhook: ${HERALD_ALERT_WEBHOOK}, failure_rate: 20%, min_attempts: 20, window: 5m, dead_letters: 1, oldest_due: 15m, breaker_open: 2m}"
        guard let fields = reader.fields(node, name: "'alerts'", expected: expected, known: Self.alertFields) else { return nil }
        let webhook = reader.required(fields, "webhook", expected: "the http or https URL alerts are posted to, e.g. webhook: ${HERALD_ALERT_WEBHOOK}")
            .flatMap(alertWebhook)
        var alerts = AlertsConfiguration(webhook: webhook ?? "")
        var failed = webhook == nil
        if let node = fields["failure_rate"] {
            if let value = percentage(node, name: "'failure_rate'") { alerts.failureRate = value } else { failed = true }
        }
        if let node = fields["min_attempts"] {
            if let value = reader.integer(node, name: "'min_attempts'", minimum: 1) { alerts.minAttempts = value } else { failed = true }
        }
        if let node = fields["window"] {
            if let value = reader.duration(node, name: "'window'") { alerts.window = value } else { failed = true }
        }
        if let node = fields["dead_letters"] {
            if let value = reader.integer(node, name: "'dead_letters'", minimum: 1) { alerts.deadLetters = value } else { failed = true }
        }
        if let node = fields["oldest_due"] {
            if let value = reader.duration(node, name: "'oldest_due'") { alerts.oldestDue = value } else { failed = true }
        }
        if let node = fields["breaker_open"] {
            if let value = reader.duration(node, name: "'breaker_open'") { alerts.breakerOpen = value } else { failed = true }
        }
        return failed ? nil : alerts
    }

    /// The webhook URL. It is usually a secret (a Slack webhook URL is its own credential), so an
    /// error quotes it as written, `${HERALD_ALERT_WEBHOOK}`, never the value from the environment.
    private func alertWebhook(_ node: Node) -> String? {
        let example = "an http or https URL, e.g. webhook: ${HERALD_ALERT_WEBHOOK}"
        guard let text = reader.text(node, name: "'webhook'", expected: example) else { return nil }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty
        else {
            let written = if case .scalar(let scalar) = node { reader.original(scalar.string) } else { text }
            let shown = written == text ? reader.quoted(text) : "\(reader.quoted(written)) (its value is not shown: it may be a secret)"
            reader.error("invalid URL \(shown) for 'webhook'", at: node, hint: "expected \(example)")
            return nil
        }
        return text
    }

    /// `20%` or `12.5%`: more than 0% and at most 100%, as a fraction (0.2).
    private func percentage(_ node: Node, name: String) -> Double? {
        let expected = "a percentage from 0% to 100%, e.g. 20%"
        guard let text = reader.text(node, name: name, expected: expected) else { return nil }
        let digits = text.hasSuffix("%") ? text.dropLast() : Substring()
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        guard !digits.isEmpty, parts.count <= 2, parts.allSatisfy({ !$0.isEmpty && $0.count <= 9 && $0.allSatisfy { ("0"..."9").contains($0) } }),
              let percent = Double(digits)
        else {
            // 0.2 and 20 are the likely slips; say how to write what was probably meant.
            let hint = switch Double(text) {
            case .some(let value) where value > 0 && value <= 1: "write it as a percentage, e.g. \(Self.formatPercent(value * 100))"
            case .some(let value) where value > 1 && value <= 100: "write it with a %, e.g. \(Self.formatPercent(value))"
            default: "expected \(expected)"
            }
            reader.error("invalid percentage \(reader.quoted(text)) for \(name)", at: node, hint: hint)
            return nil
        }
        guard percent > 0, percent <= 100 else {
            reader.error("\(name) must be more than 0% and at most 100%, found \(text)", at: node, hint: "expected \(expected)")
            return nil
        }
        return percent / 100
    }

    private static func formatPercent(_ percent: Double) -> String {
        let rounded = (percent * 100).rounded() / 100
        return rounded == rounded.rounded() ? "\(Int(rounded))%" : "\(rounded)%"
    }

    // MARK: helpers

    private func stringList(_ node: Node, name: String, expected: String) -> [String]? {
        guard let items = reader.list(node, name: name, expected: expected) else { return nil }
        if items.isEmpty {
            reader.error("\(name) is empty", at: node, hint: "expected \(expected)")
            return nil
        }
        var values: [String] = []
        // A set beside the list keeps the duplicate check linear for a list of many thousands.
        var seen: Set<String> = []
        for item in items {
            guard let text = reader.text(item, name: "an item of \(name)", expected: "text") else { return nil }
            guard seen.insert(text).inserted else {
                reader.error("\(reader.quoted(text)) is listed twice", at: item, hint: "list each value once")
                return nil
            }
            values.append(text)
        }
        return values
    }

    static func isIdentifier(_ name: String) -> Bool {
        guard name.count <= 64, let first = name.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
    }

    static func isProviderName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") }
    }
}
