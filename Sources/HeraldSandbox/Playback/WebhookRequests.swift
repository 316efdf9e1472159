import Foundation

/// The webhooks each provider sends about one accepted message, in their real shapes.
enum WebhookRequests {
    static func make(
        for message: RecordedMessage, delivered: Bool, opens: Bool, clicks: Bool, optedOut: Bool,
        configuration: PlaybackConfiguration, accounts: SandboxAccounts, now: Date = Date()
    ) -> [WebhookRequest] {
        let timestamp = Int(now.timeIntervalSince1970)
        switch message.provider {
        case .twilio:
            guard let url = message.callbackURL ?? configuration.webhookURLs[.twilio] else { return [] }
            return (delivered ? ["sent", "delivered"] : ["sent", "undelivered"]).map { status in
                var parameters: [(String, String)] = [
                    ("MessageSid", message.providerMessageID), ("SmsSid", message.providerMessageID), ("MessageStatus", status),
                    ("SmsStatus", status), ("AccountSid", accounts.twilioAccountSID), ("From", message.from), ("To", message.to),
                    ("ApiVersion", "2010-04-01"),
                ]
                if status == "undelivered" { parameters.append(("ErrorCode", "30003")) }
                let signature = WebhookSignature.twilio(authToken: accounts.twilioAuthToken, url: url, parameters: parameters)
                return WebhookRequest(
                    provider: .twilio, event: status, url: url,
                    headers: [["Content-Type", "application/x-www-form-urlencoded"], ["X-Twilio-Signature", signature]],
                    body: Data(FormCoding.encode(parameters).utf8)
                )
            }
        case .vonage:
            guard let url = message.callbackURL ?? configuration.webhookURLs[.vonage] else { return [] }
            var receipt: [String: Any] = [
                "msisdn": String(message.to.dropFirst()), "to": message.from, "network-code": "23410", "messageId": message.providerMessageID,
                "price": "0.03330000", "status": delivered ? "delivered" : "failed", "err-code": delivered ? "0" : "1",
                "message-timestamp": ISO8601DateFormatter().string(from: now),
            ]
            if let reference = message.metadata["client-ref"] { receipt["client-ref"] = reference }
            return [WebhookRequest(
                provider: .vonage, event: delivered ? "delivered" : "failed", url: url, headers: [["Content-Type", "application/json"]],
                body: (try? JSONSerialization.data(withJSONObject: receipt, options: [.sortedKeys])) ?? Data()
            )]
        case .sendgrid:
            guard let url = configuration.webhookURLs[.sendgrid] else { return [] }
            func event(_ name: String, _ extra: [String: Any] = [:]) -> [String: Any] {
                var event: [String: Any] = [
                    "email": message.to, "timestamp": timestamp, "event": name, "sg_event_id": SandboxIDs.base64URL(22),
                    "sg_message_id": "\(message.providerMessageID).filterdrecv-sandbox-\(SandboxIDs.hex(8))",
                    "smtp-id": "<\(message.providerMessageID)@sandbox.herald.test>",
                ]
                for (key, value) in message.metadata { event[key] = value }
                return event.merging(extra) { $1 }
            }
            var events = [event("processed")]
            if optedOut {
                events.append(event("dropped", ["reason": "Unsubscribed Address"]))
            } else if !delivered {
                events.append(event("bounce", ["type": "bounce", "status": "5.1.1", "reason": "550 5.1.1 The email account that you tried to reach does not exist."]))
            } else {
                events.append(event("delivered", ["response": "250 2.0.0 OK", "tls": 1]))
                if opens { events.append(event("open", ["useragent": "Mozilla/5.0", "ip": "127.0.0.1", "sg_machine_open": false])) }
                if clicks, let link = message.html.flatMap({ LinkExtractor.links(in: $0).anchors.first }) {
                    events.append(event("click", ["url": link, "useragent": "Mozilla/5.0", "ip": "127.0.0.1"]))
                }
            }
            let body = (try? JSONSerialization.data(withJSONObject: events, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            let stamp = String(timestamp)
            let signature = (try? WebhookSignature.sendGrid(privateKey: configuration.sendGridSigningKey, timestamp: stamp, body: body)) ?? ""
            return [WebhookRequest(
                provider: .sendgrid, event: events.compactMap { $0["event"] as? String }.joined(separator: ","), url: url,
                headers: [
                    ["Content-Type", "application/json"], ["X-Twilio-Email-Event-Webhook-Signature", signature],
                    ["X-Twilio-Email-Event-Webhook-Timestamp", stamp],
                ],
                body: body
            )]
        case .mandrill:
            guard let url = configuration.webhookURLs[.mandrill] else { return [] }
            func event(_ name: String, state: String, _ extra: [String: Any] = [:]) -> [String: Any] {
                let msg: [String: Any] = [
                    "ts": timestamp, "_id": message.providerMessageID, "state": state, "email": message.to, "sender": message.from,
                    "subject": message.subject ?? "", "tags": [String](), "metadata": message.metadata,
                ]
                return ["event": name, "_id": message.providerMessageID, "ts": timestamp, "msg": msg].merging(extra) { $1 }
            }
            var events = [event("send", state: "sent")]
            if !delivered {
                events.append(event("hard_bounce", state: "bounced", ["bounce_description": "bad_mailbox", "diag": "smtp;550 5.1.1 User unknown"]))
            } else {
                events.append(event("delivered", state: "sent"))
                if opens { events.append(event("open", state: "sent", ["ip": "127.0.0.1", "user_agent": "Mozilla/5.0"])) }
                if clicks, let link = message.html.flatMap({ LinkExtractor.links(in: $0).anchors.first }) {
                    events.append(event("click", state: "sent", ["ip": "127.0.0.1", "user_agent": "Mozilla/5.0", "url": link]))
                }
            }
            let json = String(decoding: (try? JSONSerialization.data(withJSONObject: events, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data(), as: UTF8.self)
            let parameters = [("mandrill_events", json)]
            let signature = WebhookSignature.mandrill(key: configuration.mandrillWebhookKey, url: url, parameters: parameters)
            return [WebhookRequest(
                provider: .mandrill, event: events.compactMap { $0["event"] as? String }.joined(separator: ","), url: url,
                headers: [["Content-Type", "application/x-www-form-urlencoded"], ["X-Mandrill-Signature", signature]],
                body: Data(FormCoding.encode(parameters).utf8)
            )]
        case .smtp, .apns, .jpush, .pushy:
            return []
        case .fcm, .webpush:
            // FCM and Web Push services post no delivery webhooks.
            return []
        }
    }
}
