import Foundation
import HeraldCore
import NIOHTTP1

/// Posts alerts as JSON to a webhook URL (herald.yml `alerts.webhook`), in a body that a Slack
/// incoming webhook accepts as it is: `text` is the sentence Slack shows, and `herald` carries
/// the same alert as fields for any other receiver.
///
/// ```json
/// {"text":"Herald alert (critical): sms: 34% of 210 attempts failed in the last 5m (threshold 20%)",
///  "herald":{"event":"fired","kind":"failure_rate","channel":"sms","provider":null,"severity":"critical",
///            "message":"sms: 34% of 210 attempts failed in the last 5m (threshold 20%)",
///            "started_at":"2026-12-01T09:00:00Z","at":"2026-12-01T09:00:00Z"}}
/// ```
///
/// A post that is not answered with a 2xx within `timeout` throws ``WebhookAlertError``; the
/// caller (`AlertDispatcher`) logs it. The URL is a secret (a Slack webhook URL is its own
/// credential) and appears in no error.
public struct WebhookAlertSink: AlertSink {
    public struct Configuration: Sendable, Hashable {
        /// The http or https URL to post to. Required.
        public var url: String
        /// The whole post, from connecting to the end of the answer. Default 5 s.
        public var timeout: Duration

        public init(url: String, timeout: Duration = .seconds(5)) {
            self.url = url
            self.timeout = timeout
        }
    }

    public let configuration: Configuration
    let http: ProviderHTTPClient

    /// - Parameter http: the process's shared client; its connect timeout applies too.
    public init(configuration: Configuration, http: ProviderHTTPClient) {
        self.configuration = configuration
        self.http = http
    }

    public func post(_ action: AlertAction) async throws {
        let result = await http.execute(
            method: .POST, url: configuration.url,
            headers: [("Content-Type", "application/json"), ("User-Agent", "herald")],
            body: Data(Self.body(for: action)), timeout: configuration.timeout
        )
        switch result {
        case .failure(let failure):
            throw WebhookAlertError(code: .unreachable, description: "alert webhook: \(failure.description)")
        case .success(let answer) where !(200..<300).contains(answer.status):
            // Slack answers a refused post with a short plain-text reason (`invalid_payload`,
            // `no_service`); a line of it helps, a whole HTML error page does not.
            let said = String(decoding: answer.body.prefix(200), as: UTF8.self)
                .split(whereSeparator: \.isNewline).first.map { ": " + $0.trimmingCharacters(in: .whitespaces) } ?? ""
            throw WebhookAlertError(code: .refused(status: answer.status), description: "alert webhook answered \(answer.status)\(said)")
        case .success:
            return
        }
    }

    /// The JSON body for `action`, with its keys in a fixed order.
    public static func body(for action: AlertAction) -> [UInt8] {
        let alert = action.alert
        let text = switch action {
        case .fire: "Herald alert (\(alert.severity.rawValue)): \(alert.message)"
        case .resolve: "Herald resolved: \(alert.message)"
        }
        var json = JSONWriter(capacity: 256 + 2 * alert.message.utf8.count)
        json.raw("{\"text\":")
        json.string(text)
        json.raw(",\"herald\":{\"event\":")
        json.string(action.event)
        json.raw(",\"kind\":")
        json.string(alert.kind.rawValue)
        json.raw(",\"channel\":")
        json.string(alert.channel.rawValue)
        json.raw(",\"provider\":")
        if let provider = alert.provider { json.string(provider) } else { json.raw("null") }
        json.raw(",\"severity\":")
        json.string(alert.severity.rawValue)
        json.raw(",\"message\":")
        json.string(alert.message)
        json.raw(",\"started_at\":")
        json.string(ISO8601.string(from: alert.startedAt))
        json.raw(",\"at\":")
        json.string(ISO8601.string(from: alert.at))
        json.raw("}}")
        return json.bytes
    }
}

/// Why an alert was not posted.
public struct WebhookAlertError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// No answer: connecting failed, the connection broke, or the timeout passed.
        case unreachable
        /// The receiver answered with a status other than 2xx.
        case refused(status: Int)
    }

    public var code: Code
    /// A sentence without the URL.
    public var description: String
}
