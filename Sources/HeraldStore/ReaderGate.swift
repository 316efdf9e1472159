import Synchronization

/// At most `permits` reads at once, waited for without blocking a thread.
///
/// GRDB's `DatabasePool` hands out at most `maximumReaderCount` readers; one more async read
/// blocks a Dispatch thread on a semaphore until a reader is free. On Linux, Dispatch's threads
/// are Swift concurrency's, one per core: two stores short of readers at once (several test
/// suites in one process, or a server under load next to a worker) can block every thread, and
/// then nothing can release a reader. Waiting here instead suspends the task, and GRDB never
/// waits.
final class ReaderGate: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    init(permits: Int) {
        state = Mutex(State(available: max(1, permits)))
    }

    func withPermit<T>(_ body: () async throws -> T) async rethrows -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        let acquired = state.withLock { state -> Bool in
            guard state.available > 0 else { return false }
            state.available -= 1
            return true
        }
        if acquired { return }
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                // A permit may have come back meanwhile.
                if state.available > 0 {
                    state.available -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.available += 1
                return nil
            }
            // The permit passes straight to the first waiter.
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
