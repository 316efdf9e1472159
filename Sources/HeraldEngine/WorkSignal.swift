import Foundation
import HeraldCore
import Synchronization

/// Wakes sleeping dispatcher lanes: new work was planned, or the process is stopping.
///
/// A lane reads ``generation`` before it looks for work and, finding none, waits for a ring
/// after that generation; a ring between the two is not missed. Rings from other processes
/// cannot reach it, so a lane also wakes at its idle poll interval.
public final class WorkSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var isStopping = false
        var stopsAt: Date?
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Increases with every ring.
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// True once ``stop(deadline:)`` was called.
    public var isStopping: Bool { state.withLock { $0.isStopping } }

    /// When sends still at a provider are abandoned, once stopping.
    public var stopsAt: Date? { state.withLock { $0.stopsAt } }

    /// Wakes every waiter: there may be new work.
    public func ring() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Stops claiming: every lane finishes what it holds, and gives up on sends still at a
    /// provider at `deadline`.
    public func stop(deadline: Date) {
        state.withLock { state in
            if !state.isStopping { state.stopsAt = deadline }
            state.isStopping = true
        }
        ring()
    }

    /// Returns at the first ring after `generation` (at once when there was one), or when the
    /// task is cancelled.
    public func wait(after generation: UInt64) async {
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.generation != generation || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Sleeps on `clock` until `wake`, or returns earlier once stopping (or when the task is
    /// cancelled): the pause of a loop that runs until stopped.
    public func sleep(until wake: Date, on clock: any WallClock) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await clock.sleep(until: wake) }
            group.addTask { await self.waitUntilStopping() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Returns once stopping (or when the task is cancelled).
    public func waitUntilStopping() async {
        while !Task.isCancelled {
            let generation = self.generation
            if isStopping { return }
            await wait(after: generation)
        }
    }
}
