import Foundation

/// One provider's HTTP API, emulated: checks a request as the real service does and answers as
/// it would. Faults that hit every request (error rates, outages, latency) are applied around it
/// by the sandbox; faults tied to an address are applied by the emulator.
protocol Emulator: Sendable {
    var provider: SandboxProvider { get }
    func handle(_ request: SandboxRequest, in context: EmulatorContext) -> SandboxResponse
    /// The provider's own answer for an injected status (a 429 with its body and rate headers).
    func injectedError(status: Int, retryAfter: Int?, now: Date) -> SandboxResponse
    /// Whether the fault plan's rates, outages and latency apply to `path` (below the prefix).
    /// False for a path that stands for another service, such as FCM's OAuth2 token endpoint.
    func takesFaults(_ path: String) -> Bool
}

extension Emulator {
    func takesFaults(_ path: String) -> Bool { true }
}

/// What an emulator needs besides the request.
struct EmulatorContext: Sendable {
    var accounts: SandboxAccounts
    var faults: ProviderFaults
    var log: MessageLog
    var now: Date
    var events: any DeliveryEventSink
    /// The largest request body the provider takes, in bytes.
    var maximumBodySize: Int
}

/// Receives what the sandbox accepted, to play delivery events back later (webhooks, opens,
/// clicks). The sandbox without playback uses ``NoEvents``.
protocol DeliveryEventSink: Sendable {
    func accepted(_ messages: [RecordedMessage], unreachable: Set<String>, optedOut: Set<String>)
}

struct NoEvents: DeliveryEventSink {
    func accepted(_ messages: [RecordedMessage], unreachable: Set<String>, optedOut: Set<String>) {}
}

/// Random identifiers in each provider's shape.
enum SandboxIDs {
    static func hex(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in "0123456789abcdef".randomElement(using: &generator)! })
    }

    static func base64URL(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        return String((0..<count).map { _ in alphabet.randomElement(using: &generator)! })
    }
}

extension Date {
    /// RFC 2822, as Twilio writes `date_created`: `Mon, 16 Aug 2010 03:45:01 +0000`.
    var rfc2822: String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: self)
    }
}
