import HeraldCore

/// A transport that sends nothing: it writes each message to the store's sent-message log and
/// reports it accepted. A test double for tests that need a store-backed record of every send
/// without a sandbox; Herald itself sends through the real transports.
public struct StoreRecordingTransport: Transport {
    public let name: String
    let log: any SentMessageLog
    let clock: any WallClock

    public init(name: String, log: any SentMessageLog, clock: any WallClock) {
        self.name = name
        self.log = log
        self.clock = clock
    }

    public func send(_ messages: [OutboundMessage]) async -> [DeliveryOutcome] {
        do {
            try await log.appendSentMessages(messages, at: clock.now)
            return messages.map { .accepted(providerMessageID: "recorded-\($0.notificationID)") }
        } catch {
            return messages.map { _ in .retry(after: nil, reason: "could not record the message: \(error)") }
        }
    }
}
