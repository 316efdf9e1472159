import Foundation
import HeraldCore

/// APNs answers as outcomes (providers.md, section 1).
///
/// Differences from the table, on purpose: `BadTopic`, `TopicDisallowed` and `MissingTopic`
/// are `misconfigured`, because the topic comes from configuration and every later push would
/// fail the same way; a 404 (`BadPath`) is `misconfigured` too (the base URL is wrong); and an
/// error answer without APNs's `{"reason": …}` body did not come from APNs (a proxy or load
/// balancer in between), so it is retried with the body's start in the reason.
public enum APNsClassifier {
    /// The reasons after which the transport mints a new JWT and tries once more.
    public static let reauthorizingReasons: Set<String> = ["ExpiredProviderToken", "InvalidProviderToken"]

    /// The `reason` of an error body, or nil when the body is not APNs's JSON.
    public static func reason(_ answer: ProviderHTTPClient.Answer) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any] else { return nil }
        return object["reason"] as? String
    }

    public static func outcome(_ answer: ProviderHTTPClient.Answer, now: Date) -> DeliveryOutcome {
        if answer.status == 200 {
            // The body is empty on success; the id is the header (ours echoed, or APNs's own).
            return .accepted(providerMessageID: answer.header("apns-id") ?? "")
        }
        let retryAfter = RetryAfter.parse(answer.header("Retry-After"), now: now)
        guard let reason = reason(answer) else {
            let what = answer.isTruncated ? "an answer too large to read" : TwilioClassifier.snippet(answer.body)
            let prefix = answer.status == 429 ? "provider 429 (apns)" : "apns \(answer.status)"
            let reason = "\(prefix): \(what), not an APNs error body ({\"reason\": …})"
            return answer.status == 429 ? .throttled(after: retryAfter, reason: reason) : .retry(after: retryAfter, reason: reason)
        }
        let text = "apns \(answer.status) \(reason)"
        switch (answer.status, reason) {
        case (400, "BadDeviceToken"), (400, "DeviceTokenNotForTopic"):
            return .deadAddress(reason: text)
        case (410, _):
            var detail = text
            if let object = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any],
               let stamp = (object["timestamp"] as? NSNumber)?.doubleValue {
                detail += " (the token was invalid from \(ISO8601.string(from: Date(timeIntervalSince1970: stamp / 1000))))"
            }
            return .deadAddress(reason: detail)
        case (400, "IdleTimeout"):
            return .retry(after: nil, reason: text + " (a new connection is opened)")
        case (400, "BadTopic"), (400, "TopicDisallowed"), (400, "MissingTopic"):
            return .misconfigured(reason: text + " (check the APNs topic: the app's bundle id)")
        case (400, _), (405, _), (413, _):
            return .rejected(reason: text)
        case (403, "ExpiredProviderToken"), (403, "InvalidProviderToken"), (403, "MissingProviderToken"):
            return .misconfigured(reason: text + " (check key_id, team_id and the .p8 key, and that the clock is right)")
        case (403, "UnrelatedKeyIdInToken"), (403, "BadEnvironmentKeyIdInToken"):
            return .misconfigured(reason: text + " (the key belongs to another team or environment: check key_id and base_url)")
        case (403, _):
            return .misconfigured(reason: text)
        case (404, _):
            return .misconfigured(reason: text + " (check base_url)")
        case (429, _):
            return .throttled(after: retryAfter, reason: "provider 429 \(reason) (apns)")
        case (500...599, _):
            return .retry(after: retryAfter, reason: text)
        default:
            return .rejected(reason: text)
        }
    }
}
