import Foundation
import HeraldCore
import Yams

/// The settings each kind of provider takes under `providers:`, checked like a campaign file:
/// unknown keys with a did-you-mean, required keys (secrets included, so that a missing one is
/// reported by `herald validate`, not by the first send), and the shape of each value.
struct ProviderSchema {
    struct Field {
        var name: String
        var summary: String
        var check: Check = .text
    }

    enum Check {
        case text
        /// An http or https URL.
        case url
        /// `smtp://host:port` or `smtps://host:port`.
        case smtpURL
        /// `Name <email>` or `email`.
        case mailbox
        /// An email address.
        case email
        /// E.164, a short code or an alphanumeric sender ID.
        case sender
        /// `AC` + 32 hexadecimal digits, and the like.
        case identifier(prefix: String)
        /// A whole number within the range.
        case integer(ClosedRange<Int>)
        /// A duration literal (`5s`, `2m`) of so many seconds.
        case duration(ClosedRange<Int64>)
        /// A file that exists and holds PEM certificates.
        case certificateFile
        /// A file that exists and holds a PEM private key (an APNs `.p8`, a VAPID key).
        case privateKeyFile
        /// A Google service-account JSON file with the fields the OAuth2 flow needs.
        case serviceAccountFile
        /// One of these words.
        case oneOf([String])
    }

    /// A field that is valid only with another one.
    struct Need {
        var field: String
        var needs: String
        /// The error: "provider 'x' has \(fieldPhrase) without \(needsPhrase)".
        var fieldPhrase: String
        var needsPhrase: String
        var hint: String
    }

    /// Required fields; an inner list is "one of these".
    var required: [[String]]
    var fields: [Field]
    var needs: [Need] = []

    static let common = [
        Field(name: "base_url", summary: "the API's URL, to point at `herald sandbox` or a regional endpoint", check: .url),
        Field(name: "rate", summary: "the most sends per unit, e.g. 100/s"),
        Field(name: "timeout", summary: "how long to wait for an answer before retrying (default 30s)", check: .duration(1...300)),
    ]

    /// `price:`, decoded by `ConfigurationDecoder` as a mapping; listed here so that it is a known
    /// key (and `prices:` gets a did-you-mean) for every kind.
    static let price = Field(name: "price", summary: "what the provider charges, e.g. {per_segment: \"0.0079 USD\"}")

    /// The schema of each kind, `price` included.
    static func schema(for kind: ProviderKind) -> ProviderSchema {
        var schema = settingsSchema(for: kind)
        schema.fields.append(price)
        return schema
    }

    /// The settings of each kind; push kinds list their keys only (their transports, and the
    /// checks of their secrets and key files, come with the push providers).
    private static func settingsSchema(for kind: ProviderKind) -> ProviderSchema {
        switch kind {
        case .twilio:
            return ProviderSchema(required: [["account_sid"], ["auth_token", "api_key_secret"], ["from", "messaging_service_sid"]], fields: [
                Field(name: "account_sid", summary: "the account SID, AC followed by 32 hexadecimal digits", check: .identifier(prefix: "AC")),
                Field(name: "auth_token", summary: "the account's auth token, e.g. ${TWILIO_AUTH_TOKEN}"),
                Field(name: "api_key_sid", summary: "an API key SID (SK…) to authenticate with instead of the account", check: .identifier(prefix: "SK")),
                Field(name: "api_key_secret", summary: "the API key's secret, e.g. ${TWILIO_API_KEY_SECRET}"),
                Field(name: "from", summary: "the sender: an E.164 number, a short code or an alphanumeric ID", check: .sender),
                Field(name: "messaging_service_sid", summary: "a Messaging Service SID, MG followed by 32 hexadecimal digits", check: .identifier(prefix: "MG")),
                Field(name: "status_callback", summary: "where Twilio posts status callbacks (default: tracking.base_url + /webhooks/twilio)", check: .url),
                Field(name: "concurrency", summary: "requests in flight at once", check: .integer(1...1000)),
            ] + common, needs: [
                Need(field: "api_key_secret", needs: "api_key_sid", fieldPhrase: "api_key_secret", needsPhrase: "api_key_sid", hint: "add api_key_sid: SK…, or use auth_token"),
            ])
        case .vonage:
            return ProviderSchema(required: [["api_key"], ["api_secret"], ["from"]], fields: [
                Field(name: "api_key", summary: "the API key"),
                Field(name: "api_secret", summary: "the API secret, e.g. ${VONAGE_API_SECRET}"),
                Field(name: "from", summary: "the sender: a number or an alphanumeric ID", check: .sender),
                Field(name: "callback", summary: "where Vonage sends delivery receipts", check: .url),
                Field(name: "concurrency", summary: "requests in flight at once", check: .integer(1...1000)),
            ] + common)
        case .sendgrid:
            return ProviderSchema(required: [["api_key"], ["from"]], fields: [
                Field(name: "api_key", summary: "the API key, e.g. ${SENDGRID_API_KEY}"),
                Field(name: "from", summary: "the sender, e.g. \"Shop <news@example.com>\"", check: .mailbox),
                Field(name: "reply_to", summary: "the reply address", check: .mailbox),
                Field(name: "webhook_public_key", summary: "the Event Webhook's verification key (base64), to check the signed events Herald receives at /webhooks/sendgrid"),
                Field(name: "unsubscribe_mailto", summary: "an address for mailto: unsubscribe requests", check: .email),
                Field(name: "concurrency", summary: "requests in flight at once", check: .integer(1...1000)),
            ] + common)
        case .mandrill:
            return ProviderSchema(required: [["api_key"], ["from"]], fields: [
                Field(name: "api_key", summary: "the Mailchimp Transactional API key, e.g. ${MANDRILL_API_KEY}"),
                Field(name: "webhook_key", summary: "the webhook's key, to check X-Mandrill-Signature on what Herald receives at /webhooks/mandrill"),
                Field(name: "webhook_url", summary: "the webhook URL as registered with Mailchimp (default: tracking.base_url + /webhooks/mandrill)", check: .url),
                Field(name: "from", summary: "the sender, e.g. \"Shop <news@example.com>\"", check: .mailbox),
                Field(name: "unsubscribe_mailto", summary: "an address for mailto: unsubscribe requests", check: .email),
                Field(name: "concurrency", summary: "requests in flight at once", check: .integer(1...1000)),
            ] + common)
        case .smtp:
            return ProviderSchema(required: [["url"], ["from"]], fields: [
                Field(name: "url", summary: "smtp://host:587 (STARTTLS, required) or smtps://host:465", check: .smtpURL),
                Field(name: "username", summary: "the AUTH user"),
                Field(name: "password", summary: "the AUTH password, e.g. ${SMTP_PASSWORD}"),
                Field(name: "from", summary: "the sender, e.g. \"Shop <news@example.com>\"", check: .mailbox),
                Field(name: "ca_file", summary: "a PEM file of the certificate authorities to trust instead of the system's", check: .certificateFile),
                Field(name: "connections", summary: "connections kept open and used at once", check: .integer(1...64)),
                Field(name: "unsubscribe_mailto", summary: "an address for mailto: unsubscribe requests", check: .email),
            ] + [common[1]], needs: [
                Need(field: "password", needs: "username", fieldPhrase: "a password", needsPhrase: "a username", hint: "add username"),
            ])
        case .apns:
            return ProviderSchema(required: [["team_id"], ["key_id"], ["key_file"], ["topic"]], fields: [
                Field(name: "team_id", summary: "the Apple developer team ID (10 characters), the JWT's iss"),
                Field(name: "key_id", summary: "the ID of the .p8 signing key (10 characters), the JWT's kid"),
                Field(name: "key_file", summary: "the .p8 token signing key downloaded from Apple, e.g. keys/AuthKey_ABC123DEFG.p8", check: .privateKeyFile),
                Field(name: "topic", summary: "the app's bundle ID, e.g. com.example.shop"),
                Field(name: "environment", summary: "production (default) or development (api.sandbox.push.apple.com)", check: .oneOf(["production", "development"])),
                Field(name: "ca_file", summary: "a PEM file of the certificate authorities to trust instead of the system's (for the sandbox)", check: .certificateFile),
                Field(name: "concurrency", summary: "pushes in flight at once on the HTTP/2 connection", check: .integer(1...1000)),
            ] + common)
        case .fcm:
            return ProviderSchema(required: [["service_account_file"]], fields: [
                Field(name: "service_account_file", summary: "the service-account JSON key from the Firebase console", check: .serviceAccountFile),
                Field(name: "project_id", summary: "the Firebase project, when it differs from the service account's"),
                Field(name: "token_url", summary: "where to get access tokens instead of the service account's token_uri (for `herald sandbox`)", check: .url),
                Field(name: "concurrency", summary: "requests in flight at once", check: .integer(1...1000)),
            ] + common)
        case .webpush:
            return ProviderSchema(required: [["subject"], ["vapid_private_key_file"]], fields: [
                Field(name: "subject", summary: "a contact for push services: mailto:ops@example.com or an https URL"),
                Field(name: "vapid_private_key_file", summary: "the VAPID P-256 private key (PEM) whose public key the web app subscribed with", check: .privateKeyFile),
                Field(name: "concurrency", summary: "requests in flight at once", check: .integer(1...1000)),
            ] + common)
        case .jpush:
            return ProviderSchema(required: [["app_key"], ["master_secret"]], fields: [
                Field(name: "app_key", summary: "the JPush app's AppKey"),
                Field(name: "master_secret", summary: "the app's Master Secret, e.g. ${JPUSH_MASTER_SECRET}"),
                Field(name: "apns_production", summary: "true (default): iOS pushes go to APNs production; false: development", check: .oneOf(["true", "false"])),
                Field(name: "concurrency", summary: "requests in flight at once", check: .integer(1...1000)),
            ] + common)
        case .pushy:
            return ProviderSchema(required: [["api_key"]], fields: [
                Field(name: "api_key", summary: "the Pushy app's Secret API Key, e.g. ${PUSHY_API_KEY}"),
                Field(name: "concurrency", summary: "requests in flight at once", check: .integer(1...1000)),
            ] + common)
        }
    }

    /// Checks one provider's settings; returns false when it reported an error.
    /// - Parameter values: the settings' texts after `${ENV}` substitution; a setting missing
    ///   from it already had its error reported.
    static func check(
        name: String, kind: ProviderKind, entries: [Fields.Entry], values: [String: String], mappingNode: Node, reader: YAMLReader, root: String?,
        credentials: CredentialFileInspector? = nil
    ) -> Bool {
        let schema = schema(for: kind)
        let known = schema.fields.map(\.name)
        var ok = true
        var present: [String: (keyNode: Node, value: Node, text: String)] = [:]
        for entry in entries where entry.key != "kind" {
            guard let field = schema.fields.first(where: { $0.name == entry.key }) else {
                reader.error(
                    "unknown field \(reader.quoted(entry.key)) in provider '\(name)' of kind \(kind.rawValue)", at: entry.keyNode,
                    hint: reader.hint(for: entry.key, in: known)
                )
                ok = false
                continue
            }
            guard let text = values[entry.key] else {
                present[entry.key] = (entry.keyNode, entry.value, "")
                continue
            }
            present[entry.key] = (entry.keyNode, entry.value, text)
            if let problem = problem(with: text, check: field.check, root: root, parsing: credentials.map { inspector in { inspector.problem(kind, field.name, $0) } }) {
                reader.error("invalid \(field.name) \(reader.quoted(text)) in provider '\(name)'", at: entry.value, hint: problem)
                ok = false
            }
        }
        for group in schema.required where !group.contains(where: { present[$0] != nil }) {
            let summaries = group.compactMap { name in schema.fields.first { $0.name == name } }.map { "\($0.name) (\($0.summary))" }
            reader.error(
                "provider '\(name)' of kind \(kind.rawValue) needs " + (group.count == 1 ? "'\(group[0])'" : "one of " + group.map { "'\($0)'" }.joined(separator: ", ")),
                at: mappingNode, hint: "add " + summaries.joined(separator: ", or ")
            )
            ok = false
        }
        for need in schema.needs where present[need.field] != nil && present[need.needs] == nil {
            reader.error("provider '\(name)' has \(need.fieldPhrase) without \(need.needsPhrase)", at: mappingNode, hint: need.hint)
            ok = false
        }
        return ok
    }

    /// What is wrong with a value, as a hint, or nil.
    ///
    /// - Parameter parsing: parses a key or certificate file's contents (what is wrong, or nil);
    ///   without it only the file's outline is checked.
    static func problem(with text: String, check: Check, root: String?, parsing: ((Data) -> String?)? = nil) -> String? {
        switch check {
        case .text:
            return text.isEmpty ? "the value is empty (is its environment variable set to nothing?)" : nil
        case .url:
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
                  let host = url.host, !host.isEmpty
            else { return "expected an http or https URL, e.g. https://api.example.com or http://127.0.0.1:4010/twilio" }
            return nil
        case .smtpURL:
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "smtp" || scheme == "smtps",
                  let host = url.host, !host.isEmpty
            else { return "expected smtp://host:587 (STARTTLS is required) or smtps://host:465" }
            return nil
        case .mailbox:
            return mailbox(text) ? nil : "expected an address, e.g. \"Shop <news@example.com>\" or news@example.com"
        case .email:
            return isEmail(text) ? nil : "expected an email address, e.g. unsubscribe@example.com"
        case .sender:
            let digits = text.hasPrefix("+") ? text.dropFirst() : Substring(text)
            if !digits.isEmpty, digits.count <= 15, digits.allSatisfy(\.isNumber) { return nil }
            if (1...11).contains(text.count), text.contains(where: \.isLetter),
               text.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == " ") }) {
                return nil
            }
            return "expected an E.164 number (+15005550006), a short code or an alphanumeric ID of at most 11 characters"
        case .identifier(let prefix):
            guard text.count == 34, text.hasPrefix(prefix), text.dropFirst(2).allSatisfy(\.isHexDigit) else {
                return "expected \(prefix) followed by 32 hexadecimal digits"
            }
            return nil
        case .integer(let range):
            guard let value = Int(text), range.contains(value) else { return "expected a whole number from \(range.lowerBound) to \(range.upperBound)" }
            return nil
        case .duration(let range):
            guard let value = DurationLiteral(text), range.contains(value.seconds) else {
                return "expected a duration from \(range.lowerBound)s to \(range.upperBound)s, e.g. 10s"
            }
            return nil
        case .oneOf(let words):
            return words.contains(text) ? nil : "expected " + words.joined(separator: " or ")
        case .privateKeyFile:
            let path = text.hasPrefix("/") || root == nil ? text : URL(fileURLWithPath: root!).appendingPathComponent(text).path
            guard let data = FileManager.default.contents(atPath: path) else { return "no readable file at \(path)" }
            if let parsing { return parsing(data).map { "\(path) \($0)" } }
            let pem = String(decoding: data.prefix(100_000), as: UTF8.self)
            guard pem.contains("-----BEGIN PRIVATE KEY-----") || pem.contains("-----BEGIN EC PRIVATE KEY-----") else {
                return "\(path) holds no PEM private key (-----BEGIN PRIVATE KEY-----)"
            }
            return nil
        case .serviceAccountFile:
            let path = text.hasPrefix("/") || root == nil ? text : URL(fileURLWithPath: root!).appendingPathComponent(text).path
            guard let data = FileManager.default.contents(atPath: path) else { return "no readable file at \(path)" }
            if let parsing { return parsing(data).map { "\(path) \($0)" } }
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                return "\(path) is not a JSON object (expected the service-account key file from the Firebase console)"
            }
            let missing = ["project_id", "private_key", "client_email", "token_uri"].filter { (object[$0] as? String)?.isEmpty ?? true }
            guard missing.isEmpty else { return "\(path) lacks \(missing.joined(separator: ", ")) (expected a service-account key file)" }
            return nil
        case .certificateFile:
            let path = text.hasPrefix("/") || root == nil ? text : URL(fileURLWithPath: root!).appendingPathComponent(text).path
            guard let data = FileManager.default.contents(atPath: path) else { return "no readable file at \(path)" }
            if let parsing { return parsing(data).map { "\(path) \($0)" } }
            guard String(decoding: data.prefix(1_000_000), as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
                return "\(path) holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
            }
            return nil
        }
    }

    static func mailbox(_ text: String) -> Bool {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") {
            let name = trimmed[..<open]
            return !name.contains("\r") && !name.contains("\n") && isEmail(String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)]))
        }
        return isEmail(trimmed)
    }

    static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix(".") else { return false }
        return text.unicodeScalars.allSatisfy { $0.value > 32 && $0.value != 127 && !"<>(),;:\\\"[]".unicodeScalars.contains($0) }
    }
}
