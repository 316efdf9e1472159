import Foundation

/// Turns one JSON Lines line into a user: built-in fields at the top level, declared attributes
/// under `attributes`, and optional `devices` and `preferences`.
public struct JSONLinesUserDecoder {
    public static let topLevelFields = UserFieldRules.builtInFields + ["attributes", "devices", "preferences"]
    public static let deviceFields = ["platform", "service", "token", "subscription", "active"]
    /// `expirationTime` is what a browser's `PushSubscription.toJSON()` writes beside the others;
    /// it is accepted and ignored so that subscriptions can be stored as the browser sent them.
    public static let subscriptionFields = ["endpoint", "keys", "expirationTime"]
    public static let keyFields = ["p256dh", "auth"]
    /// APNs tokens are 64 hex digits and FCM tokens about 160 characters; anything near this
    /// bound is not a token.
    public static let maximumTokenLength = 4096

    public let file: String
    public let schema: AttributeSchema
    public let preferenceKeys: PreferenceVocabulary?
    private var rules = UserFieldRules()

    public init(file: String, schema: AttributeSchema, preferenceKeys: PreferenceVocabulary? = nil) {
        self.file = file
        self.schema = schema
        self.preferenceKeys = preferenceKeys
    }

    /// The row for one non-blank line; `bytes` excludes the line break.
    public mutating func decode(line: Int, bytes: [UInt8]) -> ImportRow {
        do throws(RejectedRow) {
            return ImportRow(line: line, result: .success(try user(line: line, bytes: bytes)))
        } catch {
            return ImportRow(line: line, result: .failure(error))
        }
    }

    /// The row for a line that was longer than the limit and was not kept.
    public func tooLong(line: Int) -> ImportRow {
        ImportRow(line: line, result: .failure(RejectedRow(Diagnostic(
            "line longer than 1 MiB", at: SourceLocation(file: file, line: line, column: 1),
            hint: "a row may be at most \(UserFieldRules.maximumRowLength) bytes"
        ))))
    }

    private mutating func user(line: Int, bytes: [UInt8]) throws(RejectedRow) -> User {
        func diagnostic(_ message: String, offset: Int, hint: String? = nil) -> Diagnostic {
            Diagnostic(message, at: SourceLocation(file: file, line: line, column: ImportJSON.column(ofOffset: offset, in: bytes)), hint: hint)
        }
        if let offset = ImportJSON.firstInvalidUTF8Offset(bytes) {
            throw RejectedRow(diagnostic("not valid UTF-8", offset: offset, hint: "save the file as UTF-8"))
        }
        let root: ImportJSON.Node
        do throws(ImportJSON.SyntaxError) {
            root = try ImportJSON.parse(bytes)
        } catch {
            throw RejectedRow(diagnostic("invalid JSON: \(error.message)", offset: error.offset))
        }
        guard case .object(let members) = root.value else {
            throw RejectedRow(diagnostic(
                "expected a JSON object, got \(root.value.kindDescription)", offset: root.offset, hint: "JSON Lines has one object per line"
            ))
        }
        var problems: [Located] = []
        let user = self.user(from: members, rootOffset: root.offset, problems: &problems)
        guard problems.isEmpty else {
            throw RejectedRow(problems.map { diagnostic($0.problem.message, offset: $0.offset, hint: $0.problem.hint) })
        }
        return user
    }

    /// A field problem and the byte offset of the value or key it is about.
    private struct Located: Error {
        var problem: FieldProblem
        var offset: Int

        init(_ message: String, at offset: Int, hint: String? = nil) {
            problem = FieldProblem(message, hint: hint)
            self.offset = offset
        }

        init(_ problem: FieldProblem, at offset: Int) {
            self.problem = problem
            self.offset = offset
        }
    }

    /// The user a row describes; every problem found goes to `problems` and its field is left
    /// out, so that one run reports all the bad fields of a row.
    private mutating func user(from members: [ImportJSON.Member], rootOffset: Int, problems: inout [Located]) -> User {
        var user = User(id: "")
        var hasID = false
        for member in members {
            let node = member.node
            guard Self.topLevelFields.contains(member.key) else {
                problems.append(Located(
                    "unknown field \(UserFieldRules.quoted(member.key))", at: member.keyOffset,
                    hint: hint(for: member.key, in: Self.topLevelFields)
                ))
                continue
            }
            if case .null = node.value { continue }
            switch member.key {
            case "attributes":
                user.attributes = attributes(node, problems: &problems)
            case "devices":
                user.devices = devices(node, problems: &problems)
            case "preferences":
                user.preferences = preferences(node, problems: &problems)
            default:
                if member.key == "id" { hasID = true }
                guard case .string(let text) = node.value else {
                    problems.append(Located("field '\(member.key)' is \(node.value.kindDescription)", at: node.offset, hint: "expected a string"))
                    continue
                }
                do throws(FieldProblem) {
                    switch member.key {
                    case "id": user.id = try UserFieldRules.id(text)
                    case "email": user.email = try UserFieldRules.email(text)
                    case "phone": user.phone = try UserFieldRules.phone(text)
                    case "locale": user.locale = try UserFieldRules.locale(text)
                    case "timezone": user.timezone = try rules.timezone(text)
                    case "first_name": user.firstName = try UserFieldRules.name(text, field: "first_name")
                    case "last_name": user.lastName = try UserFieldRules.name(text, field: "last_name")
                    default: user.createdAt = try UserFieldRules.createdAt(text)
                    }
                } catch {
                    problems.append(Located(error, at: node.offset))
                }
            }
        }
        if !hasID {
            problems.insert(Located("missing id", at: rootOffset, hint: "every row needs a non-empty id"), at: 0)
        }
        return user
    }

    private func hint(for name: String, in candidates: [String]) -> String {
        name.count <= UserFieldRules.maximumQuotedLength
            ? Suggestion.hint(for: name, in: candidates)
            : "expected one of: " + candidates.joined(separator: ", ")
    }

    // MARK: Attributes

    private func attributes(_ node: ImportJSON.Node, problems: inout [Located]) -> [String: AttributeValue] {
        guard case .object(let members) = node.value else {
            problems.append(Located("field 'attributes' is \(node.value.kindDescription)", at: node.offset, hint: "expected an object of declared attributes"))
            return [:]
        }
        var attributes: [String: AttributeValue] = [:]
        for member in members {
            guard let definition = schema[member.key] else {
                let hint = schema.names.isEmpty ? "no attributes are declared in herald.yml" : hint(for: member.key, in: schema.names)
                problems.append(Located("unknown attribute \(UserFieldRules.quoted(member.key))", at: member.keyOffset, hint: hint))
                continue
            }
            if case .null = member.node.value { continue }
            do throws(Located) {
                attributes[definition.name] = try attribute(member.node, type: definition.type, definition: definition, isItem: false)
            } catch {
                problems.append(error)
            }
        }
        return attributes
    }

    private func attribute(_ node: ImportJSON.Node, type: AttributeType, definition: AttributeDefinition, isItem: Bool) throws(Located) -> AttributeValue {
        let name = definition.name
        func mismatch(_ expected: String) -> Located {
            isItem
                ? Located("an item of attribute '\(name)' is \(node.value.kindDescription)", at: node.offset, hint: "expected \(expected)")
                : Located("attribute '\(name)' is \(node.value.kindDescription)", at: node.offset, hint: "expected \(expected)")
        }
        func invalid(_ text: String, _ hint: String) -> Located {
            isItem
                ? Located("invalid item \(UserFieldRules.quoted(text)) in attribute '\(name)'", at: node.offset, hint: hint)
                : Located("invalid value \(UserFieldRules.quoted(text)) for attribute '\(name)'", at: node.offset, hint: hint)
        }
        switch (type, node.value) {
        case (.string, .string(let text)):
            do throws(FieldProblem) {
                return .string(try UserFieldRules.string(text, definition: definition) { invalid(text, $0).problem })
            } catch {
                throw Located(error, at: node.offset)
            }
        case (.string, _):
            throw mismatch("a string")
        case (.number, .number(let number)):
            guard number.isFinite else { throw mismatch("a finite number") }
            return .number(number)
        case (.number, _):
            throw mismatch("a number")
        case (.bool, .bool(let flag)):
            return .bool(flag)
        case (.bool, _):
            throw mismatch("true or false")
        case (.time, .string(let text)):
            guard let date = ISO8601.date(from: text) else { throw invalid(text, UserFieldRules.timeHint) }
            return .time(date)
        case (.time, _):
            throw mismatch("a time as an ISO 8601 string, e.g. \"2026-11-20T10:00:00Z\"")
        case (.list(let element), .array(let nodes)):
            guard nodes.count <= UserFieldRules.maximumListCount else {
                throw Located(
                    "attribute '\(name)' has \(nodes.count) items", at: node.offset,
                    hint: "at most \(UserFieldRules.maximumListCount) items in a list"
                )
            }
            var items: [AttributeValue] = []
            items.reserveCapacity(nodes.count)
            for item in nodes {
                items.append(try attribute(item, type: element, definition: definition, isItem: true))
            }
            return .list(items)
        case (.list(let element), _):
            throw mismatch("an array of \(element) values")
        }
    }

    // MARK: Devices

    private func devices(_ node: ImportJSON.Node, problems: inout [Located]) -> [Device] {
        guard case .array(let elements) = node.value else {
            problems.append(Located("field 'devices' is \(node.value.kindDescription)", at: node.offset, hint: "expected an array of devices"))
            return []
        }
        var devices: [Device] = []
        for (index, element) in elements.enumerated() {
            do throws(Located) {
                devices.append(try device(element, name: "devices[\(index)]"))
            } catch {
                problems.append(error)
            }
        }
        return devices
    }

    private func device(_ node: ImportJSON.Node, name: String) throws(Located) -> Device {
        guard case .object(let members) = node.value else {
            throw Located("\(name) is \(node.value.kindDescription)", at: node.offset, hint: "expected an object with platform and token or subscription")
        }
        var platform: DevicePlatform?
        var service: (value: PushService, offset: Int)?
        var token: (text: String, offset: Int)?
        var subscription: (value: WebPushSubscription, offset: Int)?
        var isActive = true
        for member in members {
            let value = member.node
            guard Self.deviceFields.contains(member.key) else {
                throw Located(
                    "unknown field \(UserFieldRules.quoted(member.key)) in \(name)", at: member.keyOffset,
                    hint: hint(for: member.key, in: Self.deviceFields)
                )
            }
            if case .null = value.value { continue }
            switch member.key {
            case "platform":
                guard case .string(let text) = value.value else {
                    throw Located("field 'platform' in \(name) is \(value.value.kindDescription)", at: value.offset, hint: "expected ios, android or web")
                }
                guard let parsed = DevicePlatform(rawValue: text) else {
                    throw Located(
                        "invalid platform \(UserFieldRules.quoted(text)) in \(name)", at: value.offset,
                        hint: hint(for: text, in: DevicePlatform.allCases.map(\.rawValue))
                    )
                }
                platform = parsed
            case "service":
                let services = PushService.allCases.map(\.rawValue)
                guard case .string(let text) = value.value else {
                    throw Located("field 'service' in \(name) is \(value.value.kindDescription)", at: value.offset, hint: "expected \(services.joined(separator: ", "))")
                }
                guard let parsed = PushService(rawValue: text) else {
                    throw Located("invalid push service \(UserFieldRules.quoted(text)) in \(name)", at: value.offset, hint: hint(for: text, in: services))
                }
                service = (parsed, value.offset)
            case "token":
                guard case .string(let text) = value.value else {
                    throw Located("field 'token' in \(name) is \(value.value.kindDescription)", at: value.offset, hint: "expected a string")
                }
                guard !text.isEmpty, text.utf8.count <= Self.maximumTokenLength,
                      !text.unicodeScalars.contains(where: UserFieldRules.isSpaceOrControl)
                else {
                    throw Located("invalid token \(UserFieldRules.quoted(text)) in \(name)", at: value.offset, hint: "expected the provider's token, without spaces")
                }
                token = (text, value.offset)
            case "subscription":
                subscription = (try self.subscription(value, name: name), value.offset)
            case "active":
                guard case .bool(let flag) = value.value else {
                    throw Located("field 'active' in \(name) is \(value.value.kindDescription)", at: value.offset, hint: "expected true or false")
                }
                isActive = flag
            default:
                continue
            }
        }
        guard let platform else {
            throw Located("missing platform in \(name)", at: node.offset, hint: "expected ios, android or web")
        }
        if let service, !Device.serves(platform, with: service.value) {
            let fitting = PushService.allCases.filter { Device.serves(platform, with: $0) }.map(\.rawValue).joined(separator: ", ")
            throw Located(
                "push service \(service.value.rawValue) does not serve \(platform.rawValue) devices in \(name)", at: service.offset,
                hint: "\(platform.rawValue) devices use \(fitting) (default \(platform.defaultService.rawValue))"
            )
        }
        switch platform {
        case .ios, .android:
            if let subscription {
                throw Located("unexpected subscription in \(name)", at: subscription.offset, hint: "only web devices have one; \(platform.rawValue) devices have a token")
            }
            guard let token else {
                throw Located("missing token in \(name)", at: node.offset, hint: "ios and android devices need one")
            }
            return Device(platform: platform, service: service?.value, token: token.text, isActive: isActive)
        case .web:
            if let token {
                throw Located("unexpected token in \(name)", at: token.offset, hint: "web devices have a subscription instead")
            }
            guard let subscription else {
                throw Located("missing subscription in \(name)", at: node.offset, hint: "web devices need {endpoint, keys: {p256dh, auth}}")
            }
            return Device(platform: .web, subscription: subscription.value, isActive: isActive)
        }
    }

    private func subscription(_ node: ImportJSON.Node, name: String) throws(Located) -> WebPushSubscription {
        guard case .object(let members) = node.value else {
            throw Located("field 'subscription' in \(name) is \(node.value.kindDescription)", at: node.offset, hint: "expected {endpoint, keys: {p256dh, auth}}")
        }
        var endpoint: String?
        var keys: (p256dh: String, auth: String)?
        for member in members {
            let value = member.node
            switch member.key {
            case "endpoint":
                guard case .string(let text) = value.value else {
                    throw Located("field 'endpoint' in \(name) is \(value.value.kindDescription)", at: value.offset, hint: "expected an https:// URL")
                }
                // Push services are https; plain http only on this machine (`herald sandbox`).
                guard text.utf8.count <= 2048, let url = URL(string: text), let host = url.host, !host.isEmpty,
                      text.hasPrefix("https://") || (text.hasPrefix("http://") && ["127.0.0.1", "localhost", "::1"].contains(host))
                else {
                    throw Located(
                        "invalid endpoint \(UserFieldRules.quoted(text)) in \(name)", at: value.offset,
                        hint: "expected an https:// URL (http:// only on 127.0.0.1 or localhost)"
                    )
                }
                endpoint = text
            case "keys":
                keys = try self.keys(value, name: name)
            case "expirationTime":
                continue
            default:
                throw Located(
                    "unknown field \(UserFieldRules.quoted(member.key)) in \(name).subscription", at: member.keyOffset,
                    hint: hint(for: member.key, in: Self.subscriptionFields)
                )
            }
        }
        guard let endpoint else {
            throw Located("missing endpoint in \(name).subscription", at: node.offset, hint: "expected an https:// URL")
        }
        guard let keys else {
            throw Located("missing keys in \(name).subscription", at: node.offset, hint: "expected {p256dh, auth}")
        }
        return WebPushSubscription(endpoint: endpoint, p256dh: keys.p256dh, auth: keys.auth)
    }

    private func keys(_ node: ImportJSON.Node, name: String) throws(Located) -> (p256dh: String, auth: String) {
        guard case .object(let members) = node.value else {
            throw Located("field 'keys' in \(name).subscription is \(node.value.kindDescription)", at: node.offset, hint: "expected {p256dh, auth}")
        }
        var p256dh: String?
        var auth: String?
        for member in members {
            let value = member.node
            let expected: (hint: String, length: Int)
            switch member.key {
            case "p256dh": expected = ("expected the base64url of a 65-byte P-256 public key", 65)
            case "auth": expected = ("expected the base64url of a 16-byte secret", 16)
            default:
                throw Located(
                    "unknown field \(UserFieldRules.quoted(member.key)) in \(name).subscription.keys", at: member.keyOffset,
                    hint: hint(for: member.key, in: Self.keyFields)
                )
            }
            guard case .string(let text) = value.value else {
                throw Located("field '\(member.key)' in \(name).subscription.keys is \(value.value.kindDescription)", at: value.offset, hint: expected.hint)
            }
            guard Self.base64DecodedLength(text) == expected.length else {
                throw Located("invalid \(member.key) \(UserFieldRules.quoted(text)) in \(name)", at: value.offset, hint: expected.hint)
            }
            if member.key == "p256dh" { p256dh = text } else { auth = text }
        }
        guard let p256dh else {
            throw Located("missing keys.p256dh in \(name).subscription", at: node.offset, hint: "expected the base64url of a 65-byte P-256 public key")
        }
        guard let auth else {
            throw Located("missing keys.auth in \(name).subscription", at: node.offset, hint: "expected the base64url of a 16-byte secret")
        }
        return (p256dh, auth)
    }

    /// The number of bytes a base64url (or base64) text decodes to, padding optional; `nil` when
    /// it is not base64 at all.
    public static func base64DecodedLength(_ text: String) -> Int? {
        var count = 0
        var padding = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "="):
                padding += 1
            case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "+"), UInt8(ascii: "/"):
                guard padding == 0 else { return nil }
                count += 1
            default:
                guard padding == 0, UserFieldRules.isASCIIAlphanumeric(byte) else { return nil }
                count += 1
            }
        }
        guard padding <= 2, count % 4 != 1, padding == 0 || (count + padding) % 4 == 0 else { return nil }
        return count * 3 / 4
    }

    // MARK: Preferences

    private func preferences(_ node: ImportJSON.Node, problems: inout [Located]) -> Preferences {
        guard case .object(let members) = node.value else {
            problems.append(Located("field 'preferences' is \(node.value.kindDescription)", at: node.offset, hint: "expected an object like {\"email\": false}"))
            return Preferences()
        }
        var preferences = Preferences()
        for member in members {
            // Consent is never dropped silently: a key no send would ever look at is an error.
            if let problem = PreferenceVocabulary.problem(with: member.key, in: preferenceKeys) {
                problems.append(Located(problem, at: member.keyOffset))
                continue
            }
            guard case .bool(let flag) = member.node.value else {
                problems.append(Located(
                    "preference \(UserFieldRules.quoted(member.key)) is \(member.node.value.kindDescription)", at: member.node.offset,
                    hint: "expected true or false"
                ))
                continue
            }
            preferences[member.key] = flag
        }
        return preferences
    }
}
