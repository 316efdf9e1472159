import Foundation

/// JPush Push API v3: `POST /v3/push` and the dry run `POST /v3/push/validate` (providers.md,
/// section 11).
///
/// Checks, as JPush answers them: POST only (405, 1001); HTTP Basic with the app's appKey and
/// masterSecret (401, 1004); a JSON object (400, 1003) with no key JPush does not know (400,
/// 1009), `platform` and `audience` and one of `notification`/`message` (400, 1002), a valid
/// platform and `registration_id` list (400, 1003), `alert` in the android and ios blocks and
/// `msg_content` in a message (400, 1002); the size limits, ios at most 2,000 bytes and android
/// plus message at most 4,000 (400, 1005); `time_to_live` at most 10 days and a non-zero
/// `sendno` (400, 1003). Registration ids in the fault plan's `invalid` list are unknown: when
/// none is left, 400 1011.
struct JPushEmulator: Emulator {
    let provider = SandboxProvider.jpush

    static let topLevelKeys: Set<String> = [
        "platform", "audience", "notification", "message", "options", "cid", "sms_message", "inapp_message", "callback", "notification_3rd",
    ]

    static func error(_ status: Int, code: Int, _ message: String, headers: [(name: String, value: String)] = []) -> SandboxResponse {
        .json(status, ["error": ["code": code, "message": message]], headers: headers)
    }

    func injectedError(status: Int, retryAfter: Int?, now: Date) -> SandboxResponse {
        switch status {
        case 429:
            // The docs name the quota header two ways; both are sent.
            let reset = String(retryAfter ?? 60)
            return Self.error(429, code: 2002, "Rate limit exceeded", headers: [
                ("X-Rate-Limit-Quota", "600"), ("X-Rate-Limit-Limit", "600"), ("X-Rate-Limit-Remaining", "0"), ("X-Rate-Limit-Reset", reset),
            ])
        case 401: return Self.error(401, code: 1004, "Authen failed")
        case 503: return Self.error(503, code: 1030, "Internal service timeout", headers: retryAfter.map { [("Retry-After", String($0))] } ?? [])
        case 500..<600: return Self.error(status, code: 1000, "Server Internal error.")
        default: return Self.error(status, code: 1000, "Injected error")
        }
    }

    func handle(_ request: SandboxRequest, in context: EmulatorContext) -> SandboxResponse {
        guard request.path == "/v3/push" || request.path == "/v3/push/validate" else {
            return .json(404, ["error": ["code": 404, "message": "the requested resource \(request.path) was not found"]])
        }
        guard request.method == "POST" else { return Self.error(405, code: 1001, "Only support HTTP Post method.") }
        guard let credentials = request.basicCredentials, credentials.user == context.accounts.jpushAppKey,
              credentials.password == context.accounts.jpushMasterSecret
        else {
            return Self.error(401, code: 1004, "Authen failed")
        }
        if request.bodyTooLarge { return Self.error(400, code: 1005, "Msg content too long") }
        guard let object = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any] else {
            return Self.error(400, code: 1003, "Invalid parameter: the body is not a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { !Self.topLevelKeys.contains($0) }) {
            return Self.error(400, code: 1009, "Unsupported key '\(unknown)' in the push object; put custom fields in extras")
        }
        guard let platform = object["platform"], let audience = object["audience"] else {
            return Self.error(400, code: 1002, "Missing parameter: platform and audience are required")
        }
        let notification = object["notification"] as? [String: Any]
        let message = object["message"] as? [String: Any]
        guard notification != nil || message != nil else {
            return Self.error(400, code: 1002, "Missing parameter: notification or message is required")
        }
        if let text = platform as? String {
            guard text == "all" else { return Self.error(400, code: 1003, "Invalid platform '\(text)'") }
        } else if let list = platform as? [String], !list.isEmpty {
            if let bad = list.first(where: { !["android", "ios", "winphone", "hmos", "quickapp"].contains($0) }) {
                return Self.error(400, code: 1003, "Invalid platform '\(bad)'")
            }
        } else {
            return Self.error(400, code: 1003, "platform must be \"all\" or a list of platforms")
        }
        var ids: [String] = []
        if let text = audience as? String {
            guard text == "all" else { return Self.error(400, code: 1003, "Invalid audience '\(text)'") }
        } else if let fields = audience as? [String: Any] {
            if let list = fields["registration_id"] {
                guard let list = list as? [String], (1...1000).contains(list.count),
                      list.allSatisfy({ (1...64).contains($0.utf8.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } })
                else {
                    return Self.error(400, code: 1003, "Invalid registration_id: 1 to 1000 ids of letters and digits")
                }
                ids = list
            }
        } else {
            return Self.error(400, code: 1003, "audience must be \"all\" or an object")
        }
        var iosSize = 0, androidSize = 0
        if let notification {
            if let android = notification["android"] {
                guard let android = android as? [String: Any], android["alert"] is String else {
                    return Self.error(400, code: 1002, "Missing parameter: notification.android.alert")
                }
                androidSize += Self.size(android)
            }
            if let ios = notification["ios"] {
                guard let ios = ios as? [String: Any], ios["alert"] is String || ios["alert"] is [String: Any] else {
                    return Self.error(400, code: 1002, "Missing parameter: notification.ios.alert")
                }
                iosSize = Self.size(ios)
            }
        }
        if let message {
            guard message["msg_content"] is String else { return Self.error(400, code: 1002, "Missing parameter: message.msg_content") }
            androidSize += Self.size(message)
        }
        if iosSize > 2000 || androidSize > 4000 { return Self.error(400, code: 1005, "Msg content too long") }
        let options = object["options"] as? [String: Any] ?? [:]
        if let ttl = options["time_to_live"] {
            guard let ttl = (ttl as? NSNumber)?.intValue, (0...864_000).contains(ttl) else {
                return Self.error(400, code: 1003, "Invalid time_to_live: 0 to 864000 seconds")
            }
        }
        var sendno = "0"
        if let value = options["sendno"] {
            guard let number = (value as? NSNumber)?.intValue, number != 0 else { return Self.error(400, code: 1003, "Invalid sendno: a non-zero integer") }
            sendno = String(number)
        }
        if let collapse = options["apns_collapse_id"] as? String, collapse.utf8.count > 64 {
            return Self.error(400, code: 1003, "Invalid apns_collapse_id: at most 64 bytes")
        }
        let reachable = ids.filter { !context.faults.invalid.contains($0) }
        if !ids.isEmpty, reachable.isEmpty {
            return Self.error(400, code: 1011, "cannot find user by this audience or has been inactive for more than 255 days")
        }
        let msgID = String(UInt64.random(in: 1_000_000_000...9_999_999_999_999))
        if request.path == "/v3/push" {
            let android = notification?["android"] as? [String: Any]
            let ios = notification?["ios"] as? [String: Any]
            let title = android?["title"] as? String ?? (ios?["alert"] as? [String: Any])?["title"] as? String ?? message?["title"] as? String
            let text = notification?["alert"] as? String ?? android?["alert"] as? String ?? message?["msg_content"] as? String
            let extras = (android?["extras"] ?? ios?["extras"] ?? message?["extras"]) as? [String: Any] ?? [:]
            var metadata: [String: String] = [:]
            for (key, value) in extras { metadata[key] = value as? String ?? "\(value)" }
            let records = reachable.map { id in
                RecordedMessage(
                    provider: .jpush, providerMessageID: msgID, to: id, from: context.accounts.jpushAppKey, subject: title, text: text,
                    metadata: metadata, acceptedAt: context.now.timeIntervalSince1970, raw: String(decoding: request.body, as: UTF8.self)
                )
            }
            context.log.append(records)
        }
        return .json(200, ["sendno": sendno, "msg_id": msgID])
    }

    static func size(_ object: [String: Any]) -> Int {
        (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes]))?.count ?? 0
    }
}
