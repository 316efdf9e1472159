import Foundation
import HeraldCore
import Synchronization

/// A clock that only moves when a test moves it. A task that sleeps on it wakes when the test
/// advances the clock to its deadline, so services run in virtual time.
public final class ManualClock: WallClock {
    private struct Sleeper {
        var deadline: Date
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Date
        var sleepers: [UUID: Sleeper] = [:]
    }

    private let state: Mutex<State>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_796_000_000)) {
        state = Mutex(State(now: start))
    }

    public var now: Date { state.withLock { $0.now } }

    public func advance(by seconds: TimeInterval) {
        move { $0.addingTimeInterval(seconds) }
    }

    public func set(_ date: Date) {
        move { _ in date }
    }

    /// The deadlines of the tasks sleeping on this clock now, earliest first.
    public var sleepingUntil: [Date] {
        state.withLock { $0.sleepers.values.map(\.deadline).sorted() }
    }

    /// Waits (in real time, briefly) until `count` tasks sleep on this clock, so that a test
    /// advances time only once the code under test is waiting for it. The timeout is generous:
    /// on a loaded machine running many tests at once, the code under test may start late.
    ///
    /// - Throws: when that does not happen within `timeout` seconds of real time.
    public func waitForSleepers(_ count: Int = 1, timeout: TimeInterval = 90) async throws {
        let start = ContinuousClock.now
        while state.withLock({ $0.sleepers.count }) < count {
            guard ContinuousClock.now - start < .seconds(timeout) else {
                throw ManualClockError(message: "fewer than \(count) tasks slept on the clock within \(timeout) s")
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Waits (in real time, briefly) until a task sleeps on this clock until exactly `deadline`:
    /// the code under test has done what it had to and waits for that moment.
    ///
    /// - Throws: when that does not happen within `timeout` seconds of real time.
    public func waitForSleeper(until deadline: Date, timeout: TimeInterval = 90) async throws {
        let start = ContinuousClock.now
        while !state.withLock({ $0.sleepers.values.contains { $0.deadline == deadline } }) {
            guard ContinuousClock.now - start < .seconds(timeout) else {
                throw ManualClockError(message: "nothing slept on the clock until \(deadline) within \(timeout) s; sleeping until: \(sleepingUntil)")
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    public func sleep(until deadline: Date) async throws {
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Checked under the lock that the cancellation handler also takes: either the
                // handler finds this sleeper, or this sees the task already cancelled.
                let wake: Result<Void, any Error>? = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if state.now >= deadline { return .success(()) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return nil
                }
                if let wake { continuation.resume(with: wake) }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    private func move(_ change: (Date) -> Date) {
        let woken: [Sleeper] = state.withLock { state in
            state.now = change(state.now)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.sorted { $0.deadline < $1.deadline }
        }
        for sleeper in woken { sleeper.continuation.resume() }
    }
}

/// A test waited for something the clock never saw.
public struct ManualClockError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    public init(message: String) {
        self.message = message
    }
}
