import Foundation

/// Vonage (Nexmo) SMS API: `POST /sms/json` (providers.md, section 9). Credentials in the body
/// (form or JSON) or the query; the answer is 200 even for a refused message, with a `status`
/// per message part, "0" for success.
struct VonageEmulator: Emulator {
    let provider = SandboxProvider.vonage

    static func refused(_ status: String, _ text: String) -> SandboxResponse {
        .json(200, ["message-count": "1", "messages": [["status": status, "error-text": text]]])
    }

    func injectedError(status: Int, retryAfter: Int?, now: Date) -> SandboxResponse {
        switch status {
        case 429: return Self.refused("1", "Throughput Rate Exceeded - please wait [ \((retryAfter ?? 1) * 1000) ] and retry")
        case 401: return Self.refused("4", "Bad Credentials")
        default:
            let headers = retryAfter.map { [("Retry-After", String($0))] } ?? []
            return SandboxResponse(status: status, headers: [("Content-Type", "text/html")] + headers, body: Data("<html><body>\(status)</body></html>".utf8))
        }
    }

    func handle(_ request: SandboxRequest, in context: EmulatorContext) -> SandboxResponse {
        guard request.path == "/sms/json" else {
            return SandboxResponse(status: 404, headers: [("Content-Type", "text/html")], body: Data("<html><body>Not Found</body></html>".utf8))
        }
        guard request.method == "POST" || request.method == "GET" else {
            return SandboxResponse(status: 405, headers: [("Allow", "GET, POST")])
        }
        if request.bodyTooLarge { return SandboxResponse(status: 413) }
        var fields: [String: String] = [:]
        for (name, value) in FormCoding.decode(request.query) { fields[name] = value }
        if request.mediaType == "application/json" {
            for (name, value) in (try? JSONSerialization.jsonObject(with: request.body) as? [String: Any]) ?? [:] { fields[name] = "\(value)" }
        } else {
            for (name, value) in request.formFields { fields[name] = value }
        }
        guard let key = fields["api_key"], !key.isEmpty else { return Self.refused("2", "Missing api_key") }
        guard let secret = fields["api_secret"], !secret.isEmpty else { return Self.refused("2", "Missing api_secret") }
        guard key == context.accounts.vonageAPIKey, secret == context.accounts.vonageAPISecret else {
            return Self.refused("4", "Bad Credentials")
        }
        guard let from = fields["from"], !from.isEmpty else { return Self.refused("2", "Missing from param") }
        guard let to = fields["to"], !to.isEmpty else { return Self.refused("2", "Missing to param") }
        guard (7...15).contains(to.count), to.allSatisfy(\.isNumber), !to.hasPrefix("0") else {
            return Self.refused("3", "Invalid to address")
        }
        let text = fields["text"] ?? ""
        guard !text.isEmpty else { return Self.refused("2", "Missing text param") }
        let isUnicode = fields["type"] == "unicode"
        if !isUnicode, !text.allSatisfy({ TwilioEmulator.gsm7.contains($0) }) {
            // Vonage sends non-GSM text without type=unicode as '?' characters; refusing it
            // here shows the sender's bug instead of mangling the message.
            return Self.refused("3", "Invalid text: characters outside GSM-7 need type=unicode")
        }
        if context.faults.invalid.contains("+" + to) { return Self.refused("6", "Unroutable message - rejected") }
        if context.faults.optedOut.contains("+" + to) { return Self.refused("7", "Number barred") }
        let parts = TwilioEmulator.segments(text)
        let clientRef = fields["client-ref"]
        var messages: [[String: Any]] = []
        var ids: [String] = []
        for _ in 0..<parts {
            let id = SandboxIDs.hex(16).uppercased()
            ids.append(id)
            var message: [String: Any] = [
                "to": to, "message-id": id, "status": "0", "remaining-balance": "100.00000000", "message-price": "0.03330000", "network": "23410",
            ]
            if let clientRef { message["client-ref"] = clientRef }
            messages.append(message)
        }
        let recorded = RecordedMessage(
            provider: .vonage, providerMessageID: ids[0], to: "+" + to, from: from, text: text,
            metadata: clientRef.map { ["client-ref": $0] } ?? [:], callbackURL: fields["callback"], acceptedAt: context.now.timeIntervalSince1970
        )
        context.log.append([recorded])
        context.events.accepted([recorded], unreachable: context.faults.unreachable, optedOut: [])
        return .json(200, ["message-count": String(parts), "messages": messages])
    }
}
