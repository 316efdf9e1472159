import GRDB
import Synchronization

/// Writes of many concurrent callers in one transaction (group commit): SQLite takes one writer
/// at a time, and a transaction costs about the same for one small write as for fifty, so the
/// API's sends, each a few rows, are written together.
///
/// A caller's work runs in a savepoint of the shared transaction: when it throws, only its own
/// changes are undone and it gets the error; the others' are committed. Every caller learns its
/// result only after the commit, so nobody answers a client for a write that could still be lost.
/// One batch is written at a time; callers who arrive meanwhile form the next one.
final class GroupCommit: Sendable {
    /// One caller's work: runs in the transaction and returns what to do after the commit
    /// (resume the caller), or, when the commit fails, the caller is resumed with the error.
    private struct Item: Sendable {
        var run: @Sendable (Database) -> (@Sendable () -> Void)
        var fail: @Sendable (any Error) -> Void
        /// How much work it is (an API send: its recipients), to bound a batch's.
        var weight: Int
    }

    private struct State {
        var items: [Item] = []
        var writing = false
        /// Transactions written so far, and the most callers one held (for tests and diagnostics).
        var batches = 0
        var largestBatch = 0
    }

    private let state = Mutex(State())
    /// The most callers in one transaction.
    let maximumBatch: Int
    /// The most work in one transaction (callers' weights added up; a heavier caller goes
    /// alone), so that one batch does not hold SQLite's single writer for long: other
    /// processes' writers wait on it.
    let maximumWeight: Int
    private let write: @Sendable (@escaping @Sendable (Database) throws -> [@Sendable () -> Void]) async throws -> [@Sendable () -> Void]

    init(maximumBatch: Int = 128, maximumWeight: Int = 2000, write: @escaping @Sendable (@escaping @Sendable (Database) throws -> [@Sendable () -> Void]) async throws -> [@Sendable () -> Void]) {
        self.maximumBatch = maximumBatch
        self.maximumWeight = maximumWeight
        self.write = write
    }

    /// How many transactions have been written.
    var batchesWritten: Int { state.withLock { $0.batches } }

    /// The most callers one transaction has held.
    var largestBatch: Int { state.withLock { $0.largestBatch } }

    /// Runs `body` in the next batch's transaction, in a savepoint of its own; `weight` says how
    /// much work it is (default 1).
    func submit<T: Sendable>(weight: Int = 1, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let item = Item(
                run: { db in
                    var result: Result<T, any Error>
                    do {
                        var value: T?
                        try db.inSavepoint {
                            value = try body(db)
                            return .commit
                        }
                        result = .success(value!)
                    } catch {
                        result = .failure(error)
                    }
                    let outcome = result
                    return { continuation.resume(with: outcome) }
                },
                fail: { continuation.resume(throwing: $0) },
                weight: Swift.max(1, weight)
            )
            let starts = state.withLock { state -> Bool in
                state.items.append(item)
                guard !state.writing else { return false }
                state.writing = true
                return true
            }
            if starts { Task { await self.drain() } }
        }
    }

    /// Writes batches until nobody waits.
    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Item] in
                var count = 0
                var weight = 0
                for item in state.items.prefix(maximumBatch) {
                    guard count == 0 || weight + item.weight <= maximumWeight else { break }
                    count += 1
                    weight += item.weight
                }
                let taken = Array(state.items.prefix(count))
                state.items.removeFirst(count)
                if taken.isEmpty { state.writing = false }
                return taken
            }
            guard !batch.isEmpty else { return }
            state.withLock { state in
                state.batches += 1
                state.largestBatch = Swift.max(state.largestBatch, batch.count)
            }
            do {
                let resumes = try await write { db in batch.map { $0.run(db) } }
                for resume in resumes { resume() }
            } catch {
                for item in batch { item.fail(error) }
            }
        }
    }
}
