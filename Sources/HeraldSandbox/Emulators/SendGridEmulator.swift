import Foundation
import HeraldCore

/// SendGrid v3 Mail Send: `POST /v3/mail/send` (providers.md, section 4).
///
/// Checks what SendGrid checks and answers with its messages and field paths: Bearer auth, a
/// JSON body within the size limit, `from.email`, 1–1,000 personalizations each with a `to`, at
/// most 1,000 recipients in all and each address once, a subject and a content block unless a
/// template is named, `text/plain` before `text/html`, no reserved header, `custom_args` within
/// 10,000 bytes, `substitutions` of strings within 10,000 bytes. A 202 carries `X-Message-Id`;
/// one message is recorded per recipient, with its personalization's substitutions applied to
/// the subject and content (what the recipient receives).
struct SendGridEmulator: Emulator {
    let provider = SandboxProvider.sendgrid

    static let reservedHeaders: Set<String> = [
        "x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type", "content-transfer-encoding", "to", "from",
        "subject", "reply-to", "cc", "bcc",
    ]

    struct FieldError {
        var field: String?
        var message: String
    }

    static func errors(_ status: Int, _ errors: [FieldError], headers: [(name: String, value: String)] = []) -> SandboxResponse {
        .json(status, ["errors": errors.map { ["field": $0.field ?? NSNull(), "help": NSNull(), "message": $0.message] as [String: Any] }], headers: headers)
    }

    static func rateHeaders(now: Date, remaining: Int, retryAfter: Int?) -> [(name: String, value: String)] {
        let reset = Int(now.timeIntervalSince1970) + (retryAfter ?? 1)
        return [("X-RateLimit-Limit", "600"), ("X-RateLimit-Remaining", String(remaining)), ("X-RateLimit-Reset", String(reset))]
    }

    func injectedError(status: Int, retryAfter: Int?, now: Date) -> SandboxResponse {
        switch status {
        case 429:
            return Self.errors(429, [FieldError(message: "too many requests")], headers: Self.rateHeaders(now: now, remaining: 0, retryAfter: retryAfter))
        case 401:
            return Self.errors(401, [FieldError(message: "authorization required")])
        case 403:
            return Self.errors(403, [FieldError(message: "access forbidden")])
        default:
            let headers = retryAfter.map { [("Retry-After", String($0))] } ?? []
            return Self.errors(status, [FieldError(message: status >= 500 ? "internal server error" : "injected error")], headers: headers)
        }
    }

    /// What a recipient receives: each substitution tag of the personalization replaced by its
    /// value, longer tags first in bytes, as they are matched (so that `-name-` never eats part of
    /// `-name-full-`).
    static func substitute(_ substitutions: [String: String], in text: String) -> String {
        guard !substitutions.isEmpty else { return text }
        var out = text
        for (tag, value) in substitutions.sorted(by: { ($0.key.utf8.count, $0.key) > ($1.key.utf8.count, $1.key) }) where !tag.isEmpty {
            out = out.replacingBytes(of: tag, with: value)
        }
        return out
    }

    func handle(_ request: SandboxRequest, in context: EmulatorContext) -> SandboxResponse {
        guard request.path == "/v3/mail/send" else {
            return Self.errors(404, [FieldError(message: "resource not found")])
        }
        guard request.method == "POST" else {
            return Self.errors(405, [FieldError(message: "method not allowed")])
        }
        guard let authorization = request.header("authorization"), authorization.lowercased().hasPrefix("bearer ") else {
            return Self.errors(401, [FieldError(message: "authorization required")])
        }
        guard String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces) == context.accounts.sendGridAPIKey else {
            return Self.errors(401, [FieldError(message: "The provided authorization grant is invalid, expired, or revoked")])
        }
        if request.bodyTooLarge || request.body.count > context.maximumBodySize {
            return Self.errors(413, [FieldError(message: "content too large")])
        }
        guard let root = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any] else {
            return Self.errors(400, [FieldError(message: "Bad Request")])
        }
        var errors: [FieldError] = []
        let hasTemplate = (root["template_id"] as? String).map { !$0.isEmpty } ?? false

        let from = root["from"] as? [String: Any]
        if let email = from?["email"] as? String {
            if !AddressSyntax.isEmail(email) { errors.append(FieldError(field: "from.email", message: "The from email does not contain a valid address.")) }
        } else {
            errors.append(FieldError(
                field: "from.email",
                message: "The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter."
            ))
        }

        let personalizations = root["personalizations"] as? [Any] ?? []
        var recipients: [(personalization: [String: Any], email: String)] = []
        if personalizations.isEmpty {
            errors.append(FieldError(field: "personalizations", message: "The personalizations field is required and must have at least one personalization."))
        } else if personalizations.count > 1000 {
            errors.append(FieldError(field: "personalizations", message: "You may not have more than 1000 personalizations per API request."))
        } else {
            var seen: Set<String> = []
            var total = 0
            var everyOneHasSubject = true
            for (index, element) in personalizations.enumerated() {
                guard let personalization = element as? [String: Any] else {
                    errors.append(FieldError(field: "personalizations.\(index)", message: "Invalid type. Expected: object, given: \(Self.typeName(element))."))
                    continue
                }
                if (personalization["subject"] as? String).map(\.isEmpty) ?? true { everyOneHasSubject = false }
                guard let to = personalization["to"] as? [Any], !to.isEmpty else {
                    errors.append(FieldError(
                        field: "personalizations.\(index).to",
                        message: "The to array is required for all personalization objects, and must have at least one email object with a valid email address."
                    ))
                    continue
                }
                for kind in ["to", "cc", "bcc"] {
                    for (position, entry) in (personalization[kind] as? [Any] ?? []).enumerated() {
                        total += 1
                        guard let email = (entry as? [String: Any])?["email"] as? String, AddressSyntax.isEmail(email) else {
                            errors.append(FieldError(field: "personalizations.\(index).\(kind).\(position).email", message: "Does not contain a valid address."))
                            continue
                        }
                        guard seen.insert(email.lowercased()).inserted else {
                            errors.append(FieldError(
                                field: "personalizations.\(index).\(kind)",
                                message: "Each email address in the personalization block should be unique between to, cc, and bcc. We found the first duplicate instance of [\(email)] in the personalizations.\(index).\(kind) field."
                            ))
                            continue
                        }
                        if kind == "to" { recipients.append((personalization, email)) }
                    }
                }
                if let headers = personalization["headers"] as? [String: Any] {
                    for name in headers.keys.sorted() where Self.reservedHeaders.contains(name.lowercased()) {
                        errors.append(FieldError(field: "personalizations.\(index).headers", message: "The following header is reserved and cannot be specified: \(name)"))
                    }
                }
                if let substitutions = personalization["substitutions"] {
                    let field = "personalizations.\(index).substitutions"
                    if let pairs = substitutions as? [String: Any] {
                        if pairs.values.contains(where: { !($0 is String) }) {
                            errors.append(FieldError(field: field, message: "Substitution values must be strings."))
                        } else if pairs.count > 10000 || pairs.reduce(0, { $0 + $1.key.utf8.count + (($1.value as? String)?.utf8.count ?? 0) }) > 10_000 {
                            errors.append(FieldError(field: field, message: "The total collective size of your substitutions may not exceed 10,000 bytes per personalization object."))
                        }
                    } else {
                        errors.append(FieldError(field: field, message: "Invalid type. Expected: object, given: \(Self.typeName(substitutions))."))
                    }
                }
                if let args = personalization["custom_args"] {
                    if !(args is [String: Any]) {
                        errors.append(FieldError(field: "personalizations.\(index).custom_args", message: "Invalid type. Expected: object, given: \(Self.typeName(args))."))
                    }
                }
            }
            if total > 1000 {
                errors.append(FieldError(
                    field: "personalizations",
                    message: "The total number of recipients must be less than 1000. This includes all recipients defined within the to, cc, and bcc parameters, across each object that you include in the personalizations array."
                ))
            }
            let subject = (root["subject"] as? String) ?? ""
            if !hasTemplate, subject.isEmpty, !everyOneHasSubject {
                errors.append(FieldError(
                    field: "subject",
                    message: "The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined."
                ))
            }
        }

        let content = root["content"] as? [Any] ?? []
        if content.isEmpty, !hasTemplate {
            errors.append(FieldError(
                field: "content",
                message: "Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block. We typically suggest both text/plain and text/html blocks are included, but only one block is required."
            ))
        }
        var types: [String] = []
        for (index, element) in content.enumerated() {
            let block = element as? [String: Any]
            let type = (block?["type"] as? String) ?? ""
            types.append(type.lowercased())
            if type.isEmpty { errors.append(FieldError(field: "content.\(index).type", message: "The content type cannot be blank.")) }
            if ((block?["value"] as? String) ?? "").isEmpty {
                errors.append(FieldError(field: "content.\(index).value", message: "The content value must be a string at least one character in length."))
            }
        }
        if let plain = types.firstIndex(of: "text/plain"), plain != 0 {
            errors.append(FieldError(field: "content.0.type", message: "If present, text/plain content must be first, followed by text/html, followed by any other content."))
        }
        if let headers = root["headers"] as? [String: Any] {
            for name in headers.keys.sorted() where Self.reservedHeaders.contains(name.lowercased()) {
                errors.append(FieldError(field: "headers", message: "The following header is reserved and cannot be specified: \(name)"))
            }
        }
        if let args = root["custom_args"] {
            let size = (try? JSONSerialization.data(withJSONObject: args).count) ?? 0
            if size > 10_000 { errors.append(FieldError(field: "custom_args", message: "The custom_args field is limited to 10,000 bytes.")) }
        }
        if let categories = root["categories"] as? [Any], categories.count > 10 {
            errors.append(FieldError(field: "categories", message: "You may not have more than 10 categories per request."))
        }
        guard errors.isEmpty else { return Self.errors(400, errors) }

        let messageID = SandboxIDs.base64URL(22)
        let topHeaders = root["headers"] as? [String: Any] ?? [:]
        let topArgs = root["custom_args"] as? [String: Any] ?? [:]
        let blocks = content.compactMap { $0 as? [String: Any] }
        let text = blocks.first { ($0["type"] as? String)?.lowercased() == "text/plain" }?["value"] as? String
        let html = blocks.first { ($0["type"] as? String)?.lowercased() == "text/html" }?["value"] as? String
        let messages = recipients.map { personalization, email in
            var headers: [String: String] = [:]
            for (name, value) in topHeaders { headers[name] = "\(value)" }
            for (name, value) in personalization["headers"] as? [String: Any] ?? [:] { headers[name] = "\(value)" }
            var metadata: [String: String] = [:]
            for (name, value) in topArgs { metadata[name] = "\(value)" }
            for (name, value) in personalization["custom_args"] as? [String: Any] ?? [:] { metadata[name] = "\(value)" }
            let substitutions = personalization["substitutions"] as? [String: String] ?? [:]
            func substituted(_ value: String?) -> String? { value.map { Self.substitute(substitutions, in: $0) } }
            return RecordedMessage(
                provider: .sendgrid, providerMessageID: messageID, to: email, from: (from?["email"] as? String) ?? "",
                subject: substituted((personalization["subject"] as? String) ?? (root["subject"] as? String)),
                text: substituted(text), html: substituted(html),
                headers: headers, metadata: metadata, acceptedAt: context.now.timeIntervalSince1970
            )
        }
        context.log.append(messages)
        context.events.accepted(messages, unreachable: context.faults.unreachable, optedOut: context.faults.optedOut)
        return SandboxResponse(status: 202, headers: [("X-Message-Id", messageID)] + Self.rateHeaders(now: context.now, remaining: 599, retryAfter: nil))
    }

    static func typeName(_ value: Any) -> String {
        switch value {
        case is String: "string"
        case is [Any]: "array"
        case is [String: Any]: "object"
        case is NSNull: "null"
        default: "number"
        }
    }
}
