import Synchronization

/// Lets a single request through until one has been answered, then every request at once; again
/// after the connection idled past `idleLimit` (the pool will have closed it) or a request
/// failed without an answer (it broke).
///
/// Why: async-http-client opens one connection per waiting request while it does not yet know
/// that the server speaks HTTP/2, and APNs takes a single stream until the first request with a
/// valid token. One request first gives one connection that then carries every stream.
final class WarmUpGate: Sendable {
    enum Role: Sendable {
        /// The request that opens (or re-opens) the connection.
        case warming
        /// Any request on a warm connection.
        case multiplexed
    }

    private struct State {
        var isWarm = false
        var isWarming = false
        var lastAnswer: ContinuousClock.Instant?
        var waiters: [CheckedContinuation<Role, Never>] = []
    }

    private let state = Mutex(State())
    private let idleLimit: Duration

    init(idleLimit: Duration) {
        self.idleLimit = idleLimit
    }

    /// Waits for the caller's turn: at once on a warm connection, else after the warming
    /// request has been answered (or failed, when the caller may become the next warming one).
    func enter() async -> Role {
        let now = ContinuousClock.now
        let immediate: Role? = state.withLock { state in
            if state.isWarm, let last = state.lastAnswer, now - last > idleLimit { state.isWarm = false }
            if state.isWarm { return .multiplexed }
            if !state.isWarming {
                state.isWarming = true
                return .warming
            }
            return nil
        }
        if let immediate { return immediate }
        return await withCheckedContinuation { continuation in
            let role: Role? = state.withLock { state in
                // The warming request may have finished between the two locks.
                if state.isWarm { return .multiplexed }
                if !state.isWarming {
                    state.isWarming = true
                    return .warming
                }
                state.waiters.append(continuation)
                return nil
            }
            if let role { continuation.resume(returning: role) }
        }
    }

    /// Reports how the request went: `connected` when an answer came back.
    func leave(_ role: Role, connected: Bool) {
        let now = ContinuousClock.now
        let resumed: [(CheckedContinuation<Role, Never>, Role)] = state.withLock { state in
            if connected {
                state.lastAnswer = now
                guard role == .warming else { return [] }
                state.isWarm = true
                state.isWarming = false
                defer { state.waiters.removeAll() }
                return state.waiters.map { ($0, .multiplexed) }
            }
            if role == .multiplexed {
                // The connection broke: the next request opens a new one alone.
                state.isWarm = false
                return []
            }
            // The warming request failed: the next waiter tries, or the next caller.
            if state.waiters.isEmpty {
                state.isWarming = false
                return []
            }
            return [(state.waiters.removeFirst(), .warming)]
        }
        for (continuation, role) in resumed { continuation.resume(returning: role) }
    }
}
