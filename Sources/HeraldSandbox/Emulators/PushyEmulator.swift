import Foundation

/// Pushy's send API: `POST /push?api_key=…` (providers.md, section 12).
///
/// Checks: POST only (405); the Secret API Key in the query (401 `INVALID_API_KEY`); a JSON
/// object (400 `INVALID_PARAM`) with `to` (a token, a `/topics/…` name or a list of 1 to 100,000
/// of them), `data` an object of at most 4 KB (400 `PAYLOAD_LIMIT_EXCEEDED`; Pushy's code name
/// for it is not documented), `time_to_live` 1 s to 365 days, `collapse_key` at most 32
/// characters, `notification` an object. Tokens in the fault plan's `invalid` list are unknown
/// to Pushy: they come back in `info.failed` of a 200 answer, as Pushy reports them.
struct PushyEmulator: Emulator {
    let provider = SandboxProvider.pushy

    static func error(_ status: Int, code: String, _ message: String, headers: [(name: String, value: String)] = []) -> SandboxResponse {
        .json(status, ["code": code, "error": message], headers: headers)
    }

    func injectedError(status: Int, retryAfter: Int?, now: Date) -> SandboxResponse {
        let headers = retryAfter.map { [("Retry-After", String($0))] } ?? []
        switch status {
        case 429: return Self.error(429, code: "RATE_LIMIT_EXCEEDED", "You have exceeded the API rate limit.", headers: headers)
        case 401: return Self.error(401, code: "INVALID_API_KEY", "The provided Secret API Key is invalid.")
        case 500..<600: return Self.error(status, code: "INTERNAL_SERVER_ERROR", "An internal server error occurred.", headers: headers)
        default: return Self.error(status, code: "INJECTED_ERROR", "Injected error", headers: headers)
        }
    }

    func handle(_ request: SandboxRequest, in context: EmulatorContext) -> SandboxResponse {
        guard request.path == "/push" else { return Self.error(404, code: "NOT_FOUND", "The requested resource \(request.path) was not found.") }
        guard request.method == "POST" else { return Self.error(405, code: "METHOD_NOT_ALLOWED", "Only POST is supported.") }
        let key = FormCoding.decode(request.query).first { $0.name == "api_key" }?.value
        guard let key, key == context.accounts.pushyAPIKey else {
            return Self.error(401, code: "INVALID_API_KEY", "The provided Secret API Key is invalid.")
        }
        if request.bodyTooLarge { return Self.error(413, code: "PAYLOAD_LIMIT_EXCEEDED", "The request body is too large.") }
        guard let object = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any] else {
            return Self.error(400, code: "INVALID_PARAM", "The request body is not valid JSON.")
        }
        let targets: [String]
        switch object["to"] {
        case let one as String: targets = [one]
        case let many as [String]: targets = many
        case nil: return Self.error(400, code: "INVALID_PARAM", "Please provide the 'to' parameter.")
        default: return Self.error(400, code: "INVALID_PARAM", "The 'to' parameter must be a device token, a topic, or an array of them.")
        }
        guard (1...100_000).contains(targets.count), targets.allSatisfy(Self.isTarget) else {
            return Self.error(400, code: "INVALID_PARAM", "The 'to' parameter must hold 1 to 100,000 device tokens or /topics/ names.")
        }
        guard let data = object["data"] as? [String: Any] else {
            return Self.error(400, code: "INVALID_PARAM", "Please provide the 'data' parameter as an object.")
        }
        let dataSize = (try? JSONSerialization.data(withJSONObject: data, options: [.withoutEscapingSlashes]))?.count ?? 0
        guard dataSize <= 4096 else {
            return Self.error(400, code: "PAYLOAD_LIMIT_EXCEEDED", "The 'data' payload is \(dataSize) bytes; the limit is 4096.")
        }
        if let ttl = object["time_to_live"] {
            guard let seconds = (ttl as? NSNumber)?.intValue, (1...(365 * 86_400)).contains(seconds) else {
                return Self.error(400, code: "INVALID_PARAM", "'time_to_live' must be 1 to 31536000 seconds.")
            }
        }
        if let collapse = object["collapse_key"] {
            guard let text = collapse as? String, text.count <= 32 else {
                return Self.error(400, code: "INVALID_PARAM", "'collapse_key' must be at most 32 characters.")
            }
        }
        if let notification = object["notification"], !(notification is [String: Any]) {
            return Self.error(400, code: "INVALID_PARAM", "'notification' must be an object.")
        }
        let failed = targets.filter { context.faults.invalid.contains($0) }
        let delivered = targets.filter { !context.faults.invalid.contains($0) }
        let id = SandboxIDs.hex(24)
        let notification = object["notification"] as? [String: Any]
        var metadata: [String: String] = [:]
        for (key, value) in data { metadata[key] = value as? String ?? "\(value)" }
        context.log.append(delivered.map { token in
            RecordedMessage(
                provider: .pushy, providerMessageID: id, to: token, from: "pushy", subject: notification?["title"] as? String ?? data["title"] as? String,
                text: notification?["body"] as? String ?? data["message"] as? String, metadata: metadata, acceptedAt: context.now.timeIntervalSince1970,
                raw: String(decoding: request.body, as: UTF8.self)
            )
        })
        var info: [String: Any] = ["devices": delivered.count]
        if !failed.isEmpty { info["failed"] = failed }
        return .json(200, ["success": true, "id": id, "info": info])
    }

    /// A device token (letters and digits) or `/topics/<name>`.
    static func isTarget(_ text: String) -> Bool {
        let name = text.hasPrefix("/topics/") ? String(text.dropFirst("/topics/".count)) : text
        return (1...200).contains(name.utf8.count) && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.~%".contains($0)) }
    }
}
