import HeraldCore

/// Each push service's payload limits, checked on a push as its transport builds it: the same
/// refusal a transport gives before sending (the message is `rejected`, never cut), available
/// without a transport, so that `herald validate` can report a template that is over a limit
/// whatever its variables hold.
public enum PushPayloadLimits {
    /// Why `content` cannot be sent through a provider of this service, or nil.
    public static func refusal(_ content: PushContent, service: PushService) -> String? {
        switch service {
        case .apns:
            if let refusal = APNsPayload.refusal(content) ?? collapseKeyRefusal(content.collapseKey, service: .apns) { return refusal }
            let size = APNsPayload.encode(content).count
            guard size > APNsPayload.maximumSize else { return nil }
            return "the APNs payload is \(size) bytes; APNs takes at most \(APNsPayload.maximumSize) (shorten the title, body or data)"
        case .fcm:
            return FCMTransport.sizeRefusal(content)
        case .webpush:
            let size = WebPushTransport.payload(content).count
            guard size > WebPushEncryptor.maximumPlaintextSize else { return nil }
            return "the Web Push payload is \(size) bytes; at most \(WebPushEncryptor.maximumPlaintextSize) fit one encrypted 4,096-byte message"
        case .jpush:
            if case .failure(let refusal) = JPushTransport.notification(content) { return refusal.reason }
            return collapseKeyRefusal(content.collapseKey, service: .jpush)
        case .pushy:
            if case .failure(let refusal) = PushyTransport.data(content) { return refusal.reason }
            return collapseKeyRefusal(content.collapseKey, service: .pushy)
        }
    }

    /// Why a collapse key is too long for the service (APNs and JPush: 64 bytes, Pushy: 32
    /// characters), or nil. FCM and Web Push take any key (Web Push hashes a long one).
    public static func collapseKeyRefusal(_ key: String?, service: PushService) -> String? {
        guard let key, !key.isEmpty else { return nil }
        switch service {
        case .apns where key.utf8.count > 64:
            return "the collapse key is \(key.utf8.count) bytes; APNs takes at most 64 (apns-collapse-id)"
        case .jpush where key.utf8.count > 64:
            return "the collapse key is \(key.utf8.count) bytes; JPush takes at most 64 (apns_collapse_id)"
        case .pushy where key.count > PushyTransport.maximumCollapseKeyLength:
            return "the collapse key has \(key.count) characters; Pushy takes at most \(PushyTransport.maximumCollapseKeyLength)"
        default:
            return nil
        }
    }
}
