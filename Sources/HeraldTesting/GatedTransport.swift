import HeraldCore
import Synchronization

/// A transport that holds every `send` until the test opens it: a provider that is slow or
/// hangs. It accepts every message once let through, and counts the calls that wait and the
/// most that were ever inside `send` at once.
public final class GatedTransport: Transport {
    private struct Waiting {
        var messages: [OutboundMessage]
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var isOpen = false
        var waiting: [Int: Waiting] = [:]
        var nextID = 0
        var received: [OutboundMessage] = []
        var answered: [OutboundMessage] = []
        var calls = 0
        var mostCalls = 0
    }

    public let name: String
    private let state = Mutex(State())

    public init(name: String) {
        self.name = name
    }

    /// Every message handed to `send`, answered or not.
    public var received: [OutboundMessage] { state.withLock { $0.received } }

    /// The messages whose `send` has returned.
    public var answered: [OutboundMessage] { state.withLock { $0.answered } }

    /// Calls of `send` waiting for the gate.
    public var waitingCalls: Int { state.withLock { $0.waiting.count } }

    /// The most calls of `send` that were in it at once (waiting, or let through and not yet
    /// returned).
    public var mostConcurrentCalls: Int { state.withLock { $0.mostCalls } }

    /// Lets every waiting and later `send` through.
    public func open() {
        let waiting = state.withLock { state in
            state.isOpen = true
            defer { state.waiting.removeAll() }
            return Array(state.waiting.values)
        }
        for call in waiting { call.continuation.resume() }
    }

    /// Lets the longest-waiting call through, alone; the gate stays closed for the others.
    ///
    /// - Returns: the messages of that call; empty when no call was waiting.
    @discardableResult
    public func letOneThrough() -> [OutboundMessage] {
        let first = state.withLock { state -> Waiting? in
            guard let id = state.waiting.keys.min() else { return nil }
            return state.waiting.removeValue(forKey: id)
        }
        first?.continuation.resume()
        return first?.messages ?? []
    }

    /// Waits (in real time, briefly) until `count` calls of `send` wait at the gate.
    public func waitForCalls(_ count: Int, timeout: Duration = .seconds(60)) async throws {
        let start = ContinuousClock.now
        while waitingCalls < count {
            guard ContinuousClock.now - start < timeout else {
                throw ManualClockError(message: "fewer than \(count) sends waited at \(name) within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Waits for the gate; a cancelled call returns a retry for each message, as a request cut
    /// off by the client would.
    public func send(_ messages: [OutboundMessage]) async -> [DeliveryOutcome] {
        let id = state.withLock { state in
            state.nextID += 1
            state.calls += 1
            state.mostCalls = max(state.mostCalls, state.calls)
            return state.nextID
        }
        defer { state.withLock { $0.calls -= 1 } }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let passes = state.withLock { state -> Bool in
                    state.received += messages
                    if state.isOpen || Task.isCancelled { return true }
                    state.waiting[id] = Waiting(messages: messages, continuation: continuation)
                    return false
                }
                if passes { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiting.removeValue(forKey: id) }?.continuation.resume()
        }
        if Task.isCancelled {
            return messages.map { _ in .retry(after: nil, reason: "\(name): cancelled") }
        }
        state.withLock { $0.answered += messages }
        return messages.map { .accepted(providerMessageID: "\(name)-\($0.notificationID)") }
    }
}
