import Foundation

/// Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`
/// (providers.md, section 3), with Twilio's documented test numbers.
///
/// Checks, in Twilio's order: the resource exists, HTTP Basic with the account's SID and auth
/// token (or an API key and its secret), then the fields: `To` required and E.164 (or a
/// `whatsapp:` address), one of `From`/`MessagingServiceSid`, one of `Body`/`MediaUrl`/`ContentSid`,
/// the body at most 1,600 characters, a valid StatusCallback URL, a ValidityPeriod of 1–36000 s.
struct TwilioEmulator: Emulator {
    let provider = SandboxProvider.twilio

    /// Twilio's magic test numbers: `To` numbers and the error each one gives.
    static let magicTo: [String: (code: Int, message: @Sendable (String, String) -> String)] = [
        "+15005550001": (21211, { to, _ in "The 'To' number \(to) is not a valid phone number." }),
        "+15005550002": (21612, { to, from in "The 'To' phone number: \(to), is not currently reachable using the 'From' phone number: \(from) via SMS." }),
        "+15005550003": (21408, { to, _ in "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: \(to)." }),
        "+15005550004": (21610, { _, _ in "Attempt to send to unsubscribed recipient" }),
        "+15005550009": (21614, { to, _ in "'To' number \(to) is not a valid mobile number" }),
    ]

    /// Magic `From` numbers and their errors.
    static let magicFrom: [String: (code: Int, message: @Sendable (String) -> String)] = [
        "+15005550001": (21212, { from in "The 'From' number \(from) is not a valid phone number, shortcode, or alphanumeric sender ID." }),
        "+15005550007": (21606, { from in "The From phone number \(from) is not a valid, SMS-capable inbound phone number or short code for your account." }),
        "+15005550008": (21611, { _ in "This 'From' number has exceeded the maximum number of queued messages" }),
    ]

    static func error(_ status: Int, code: Int, _ message: String, headers: [(name: String, value: String)] = []) -> SandboxResponse {
        .json(status, ["code": code, "message": message, "more_info": "https://www.twilio.com/docs/errors/\(code)", "status": status], headers: headers)
    }

    func injectedError(status: Int, retryAfter: Int?, now: Date) -> SandboxResponse {
        let headers = retryAfter.map { [("Retry-After", String($0))] } ?? []
        switch status {
        case 429: return Self.error(429, code: 20429, "Too Many Requests", headers: headers)
        case 401: return Self.error(401, code: 20003, "Authenticate", headers: [("WWW-Authenticate", "Basic realm=\"Twilio API\"")])
        case 500..<600: return Self.error(status, code: 20500, "An internal server error has occurred", headers: headers)
        default: return Self.error(status, code: 20001, "Injected error", headers: headers)
        }
    }

    func handle(_ request: SandboxRequest, in context: EmulatorContext) -> SandboxResponse {
        let parts = request.path.split(separator: "/")
        guard parts.count == 4, parts[0] == "2010-04-01", parts[1] == "Accounts", parts[3] == "Messages.json" else {
            return Self.error(404, code: 20404, "The requested resource \(request.path) was not found")
        }
        guard request.method == "POST" else {
            return Self.error(405, code: 20004, "Method not allowed", headers: [("Allow", "GET, POST")])
        }
        let accountSID = String(parts[2])
        let accounts = context.accounts
        let authenticated: Bool
        if let credentials = request.basicCredentials {
            authenticated = accountSID == accounts.twilioAccountSID && (
                (credentials.user == accounts.twilioAccountSID && credentials.password == accounts.twilioAuthToken)
                    || (credentials.user == accounts.twilioAPIKeySID && credentials.password == accounts.twilioAPIKeySecret)
            )
        } else {
            authenticated = false
        }
        guard authenticated else {
            return Self.error(401, code: 20003, "Authenticate", headers: [("WWW-Authenticate", "Basic realm=\"Twilio API\"")])
        }
        if request.bodyTooLarge {
            return Self.error(413, code: 20413, "Request entity too large")
        }
        var fields: [String: String] = [:]
        var mediaURLs: [String] = []
        if request.mediaType == "application/x-www-form-urlencoded" {
            for (name, value) in request.formFields {
                if name == "MediaUrl" { mediaURLs.append(value) } else { fields[name] = value }
            }
        }
        guard let to = fields["To"], !to.isEmpty else {
            return Self.error(400, code: 21604, "A 'To' phone number is required.")
        }
        let number = to.hasPrefix("whatsapp:") ? String(to.dropFirst("whatsapp:".count)) : to
        guard AddressSyntax.isE164(number) else {
            return Self.error(400, code: 21211, "The 'To' number \(to) is not a valid phone number.")
        }
        let from = fields["From"].flatMap { $0.isEmpty ? nil : $0 }
        let service = fields["MessagingServiceSid"].flatMap { $0.isEmpty ? nil : $0 }
        guard from != nil || service != nil else {
            return Self.error(400, code: 21603, "A 'From' phone number is required.")
        }
        if let service, !Self.isMessagingServiceSID(service) {
            return Self.error(400, code: 21701, "The Messaging Service Sid \(service) is invalid.")
        }
        if let from {
            if let magic = Self.magicFrom[from] {
                return Self.error(400, code: magic.code, magic.message(from))
            }
            guard Self.isSender(from) else {
                return Self.error(400, code: 21212, "The 'From' number \(from) is not a valid phone number, shortcode, or alphanumeric sender ID.")
            }
        }
        let body = fields["Body"] ?? ""
        guard !body.isEmpty || !mediaURLs.isEmpty || !(fields["ContentSid"] ?? "").isEmpty else {
            return Self.error(400, code: 21602, "Message body is required.")
        }
        guard body.count <= 1600 else {
            return Self.error(400, code: 21617, "The concatenated message body exceeds the 1600 character limit.")
        }
        if let callback = fields["StatusCallback"], !Self.isCallbackURL(callback) {
            return Self.error(400, code: 21609, "The StatusCallback URL \(callback) is not a valid URL.")
        }
        if let validity = fields["ValidityPeriod"], !(Int(validity).map { (1...36_000).contains($0) } ?? false) {
            return Self.error(400, code: 21623, "The ValidityPeriod \(validity) is not valid: expected a number of seconds from 1 to 36000.")
        }
        if let magic = Self.magicTo[number] {
            return Self.error(400, code: magic.code, magic.message(to, from ?? service ?? ""))
        }
        if context.faults.invalid.contains(number) {
            return Self.error(400, code: 21211, "The 'To' number \(to) is not a valid phone number.")
        }
        if context.faults.optedOut.contains(number) {
            return Self.error(400, code: 21610, "Attempt to send to unsubscribed recipient")
        }
        let sid = "SM" + SandboxIDs.hex(32)
        let message = RecordedMessage(
            provider: .twilio, providerMessageID: sid, to: to, from: from ?? service ?? "", text: body,
            callbackURL: fields["StatusCallback"], acceptedAt: context.now.timeIntervalSince1970
        )
        context.log.append([message])
        context.events.accepted([message], unreachable: context.faults.unreachable, optedOut: [])
        let date = context.now.rfc2822
        let uri = "/2010-04-01/Accounts/\(accountSID)/Messages/\(sid).json"
        let resource: [String: Any] = [
            "account_sid": accountSID, "api_version": "2010-04-01", "body": body, "date_created": date, "date_sent": NSNull(),
            "date_updated": date, "direction": "outbound-api", "error_code": NSNull(), "error_message": NSNull(),
            "from": from ?? NSNull(), "messaging_service_sid": service ?? NSNull(), "num_media": String(mediaURLs.count),
            "num_segments": String(Self.segments(body)), "price": NSNull(), "price_unit": "USD", "sid": sid,
            "status": service == nil ? "queued" : "accepted",
            "subresource_uris": ["media": "/2010-04-01/Accounts/\(accountSID)/Messages/\(sid)/Media.json"], "to": to, "uri": uri,
        ]
        return .json(201, resource)
    }

    static func isMessagingServiceSID(_ text: String) -> Bool {
        text.count == 34 && text.hasPrefix("MG") && text.dropFirst(2).allSatisfy(\.isHexDigit)
    }

    /// E.164, a short code (5–6 digits) or an alphanumeric sender ID (1–11 characters, at least one letter).
    static func isSender(_ text: String) -> Bool {
        if AddressSyntax.isE164(text) { return true }
        if (5...6).contains(text.count), text.allSatisfy(\.isNumber) { return true }
        return (1...11).contains(text.count) && text.contains(where: \.isLetter)
            && text.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == " ") }
    }

    static func isCallbackURL(_ text: String) -> Bool {
        guard text.count <= 4000, let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty, !host.contains("_")
        else { return false }
        return true
    }

    /// GSM-7's basic set and extension table.
    static let gsm7: Set<Character> = Set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
    )

    /// Segments of an SMS: 160 GSM-7 characters (153 when split) or 70 UTF-16 units (67 when split).
    static func segments(_ body: String) -> Int {
        if body.allSatisfy({ gsm7.contains($0) }) {
            let length = body.reduce(0) { $0 + ("^{}\\[~]|€".contains($1) ? 2 : 1) }
            return length <= 160 ? 1 : (length + 152) / 153
        }
        let units = body.utf16.count
        return units <= 70 ? 1 : (units + 66) / 67
    }
}
