import Foundation

/// Mailchimp Transactional (Mandrill): `POST /api/1.0/messages/send` (or `send.json`)
/// (providers.md, section 10). The key is in the JSON body; errors are
/// `{"status":"error","code":…,"name":…,"message":…}` with Mailchimp's current HTTP statuses;
/// success is 200 with one result per recipient (`sent`, `queued`, `rejected` with a reason,
/// `invalid`).
struct MandrillEmulator: Emulator {
    let provider = SandboxProvider.mandrill

    static func error(_ status: Int, code: Int, name: String, _ message: String, headers: [(name: String, value: String)] = []) -> SandboxResponse {
        .json(status, ["status": "error", "code": code, "name": name, "message": message], headers: headers)
    }

    func injectedError(status: Int, retryAfter: Int?, now: Date) -> SandboxResponse {
        let headers = retryAfter.map { [("Retry-After", String($0))] } ?? []
        switch status {
        case 429: return Self.error(429, code: 429, name: "RequestLimitExceeded", "Too many requests", headers: headers)
        case 401: return Self.error(401, code: -1, name: "Invalid_Key", "Invalid API key")
        case 503: return Self.error(503, code: -1, name: "ServiceUnavailable", "Service temporarily unavailable", headers: headers)
        default: return Self.error(status, code: -1, name: "GeneralError", "An unexpected error occurred processing the request.", headers: headers)
        }
    }

    func handle(_ request: SandboxRequest, in context: EmulatorContext) -> SandboxResponse {
        guard request.path == "/api/1.0/messages/send" || request.path == "/api/1.0/messages/send.json" else {
            return Self.error(404, code: -1, name: "Unknown_Method", "You must specify a valid API method")
        }
        guard request.method == "POST" else {
            return Self.error(405, code: -1, name: "ValidationError", "Only POST is accepted")
        }
        if request.bodyTooLarge || request.body.count > context.maximumBodySize {
            return Self.error(413, code: -2, name: "ValidationError", "The request is larger than 25 MB")
        }
        guard let root = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any] else {
            return Self.error(400, code: -2, name: "ValidationError", "You must specify a key value")
        }
        guard let key = root["key"] as? String, !key.isEmpty else {
            return Self.error(400, code: -2, name: "ValidationError", "You must specify a key value")
        }
        guard key == context.accounts.mandrillAPIKey else {
            return Self.error(401, code: -1, name: "Invalid_Key", "Invalid API key")
        }
        guard let message = root["message"] as? [String: Any] else {
            return Self.error(400, code: -2, name: "ValidationError", "Validation error: {\"message\":\"Please enter an array\"}")
        }
        guard let fromEmail = message["from_email"] as? String, AddressSyntax.isEmail(fromEmail) else {
            return Self.error(400, code: -2, name: "ValidationError", "Validation error: {\"message\":{\"from_email\":\"An email address must contain a single @\"}}")
        }
        guard let to = message["to"] as? [Any], !to.isEmpty else {
            return Self.error(400, code: -2, name: "ValidationError", "Validation error: {\"message\":{\"to\":\"Please enter an array\"}}")
        }
        let html = message["html"] as? String, text = message["text"] as? String
        if let tags = message["tags"] as? [Any], tags.contains(where: { ($0 as? String)?.hasPrefix("_") ?? true }) {
            return Self.error(400, code: -2, name: "ValidationError", "Validation error: tags starting with an underscore are reserved")
        }
        let headers = Dictionary(((message["headers"] as? [String: Any]) ?? [:]).map { ($0.key, "\($0.value)") }, uniquingKeysWith: { $1 })
        let metadata = Dictionary(((message["metadata"] as? [String: Any]) ?? [:]).map { ($0.key, "\($0.value)") }, uniquingKeysWith: { $1 })
        var recipientMetadata: [String: [String: String]] = [:]
        for entry in (message["recipient_metadata"] as? [Any]) ?? [] {
            guard let entry = entry as? [String: Any], let rcpt = entry["rcpt"] as? String else { continue }
            recipientMetadata[rcpt] = Dictionary(((entry["values"] as? [String: Any]) ?? [:]).map { ($0.key, "\($0.value)") }, uniquingKeysWith: { $1 })
        }
        let queued = to.count > 10 || (root["async"] as? Bool) == true
        var results: [[String: Any]] = []
        var accepted: [RecordedMessage] = []
        for entry in to {
            let email = ((entry as? [String: Any])?["email"] as? String) ?? ""
            let id = SandboxIDs.hex(32)
            var result: [String: Any] = ["email": email, "_id": id, "reject_reason": NSNull(), "queued_reason": NSNull()]
            if !AddressSyntax.isEmail(email) || context.faults.invalid.contains(email) {
                result["status"] = "invalid"
            } else if context.faults.optedOut.contains(email) {
                result["status"] = "rejected"
                result["reject_reason"] = "unsub"
            } else {
                result["status"] = queued ? "queued" : "sent"
                if queued { result["queued_reason"] = "multiple-recipients" }
                accepted.append(RecordedMessage(
                    provider: .mandrill, providerMessageID: id, to: email, from: fromEmail, subject: message["subject"] as? String,
                    text: text, html: html, headers: headers, metadata: metadata.merging(recipientMetadata[email] ?? [:]) { $1 },
                    acceptedAt: context.now.timeIntervalSince1970
                ))
            }
            results.append(result)
        }
        context.log.append(accepted)
        context.events.accepted(accepted, unreachable: context.faults.unreachable, optedOut: [])
        return .json(200, results)
    }
}
