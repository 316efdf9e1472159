import HeraldCore
import Synchronization

/// A transport whose outcomes a test scripts, in order, per address; it remembers every message
/// it was given. For unit tests of the dispatcher and recorder; the real transports are tested
/// against the sandbox.
public final class ScriptedTransport: Transport {
    public let name: String
    private let state: Mutex<(scripts: [String: [DeliveryOutcome]], sent: [OutboundMessage])>
    private let fallback: DeliveryOutcome

    /// - Parameters:
    ///   - scripts: outcomes to return for an address, one per call; when they run out, `fallback`.
    public init(name: String, scripts: [String: [DeliveryOutcome]] = [:], fallback: DeliveryOutcome = .accepted(providerMessageID: "ok")) {
        self.name = name
        self.state = Mutex((scripts, []))
        self.fallback = fallback
    }

    /// Every message handed to `send`, in call order.
    public var messages: [OutboundMessage] { state.withLock { $0.sent } }

    public func send(_ message: OutboundMessage) async -> DeliveryOutcome {
        state.withLock { state in
            state.sent.append(message)
            guard var script = state.scripts[message.address], !script.isEmpty else { return fallback }
            let outcome = script.removeFirst()
            state.scripts[message.address] = script
            return outcome
        }
    }
}
