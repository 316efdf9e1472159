import HeraldCore
import Synchronization

/// A transport whose outcomes a test scripts, in order, per address; it remembers every message
/// and every batch it was given. For unit tests of the dispatcher and recorder; the real
/// transports are tested against the sandbox.
public final class ScriptedTransport: Transport {
    public let name: String
    private let state: Mutex<(scripts: [String: [DeliveryOutcome]], batches: [[OutboundMessage]])>
    private let fallback: DeliveryOutcome

    /// - Parameters:
    ///   - scripts: outcomes to return for an address, one per message; when they run out, `fallback`.
    public init(name: String, scripts: [String: [DeliveryOutcome]] = [:], fallback: DeliveryOutcome = .accepted(providerMessageID: "ok")) {
        self.name = name
        self.state = Mutex((scripts, []))
        self.fallback = fallback
    }

    /// Every message handed to `send`, in call order.
    public var messages: [OutboundMessage] { state.withLock { $0.batches.flatMap { $0 } } }

    /// Every batch handed to `send`, in call order.
    public var batches: [[OutboundMessage]] { state.withLock { $0.batches } }

    public func send(_ messages: [OutboundMessage]) async -> [DeliveryOutcome] {
        state.withLock { state in
            state.batches.append(messages)
            return messages.map { message in
                guard var script = state.scripts[message.address], !script.isEmpty else { return fallback }
                let outcome = script.removeFirst()
                state.scripts[message.address] = script
                return outcome
            }
        }
    }
}
