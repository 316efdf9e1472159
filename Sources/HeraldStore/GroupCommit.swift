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
    }

    private struct State {
        var items: [Item] = []
        var writing = false
        /// Transactions written so far (for tests and diagnostics).
        var batches = 0
    }

    private let state = Mutex(State())
    /// The most callers in one transaction.
    let maximumBatch: Int
    private let write: @Sendable (@escaping @Sendable (Database) throws -> [@Sendable () -> Void]) async throws -> [@Sendable () -> Void]

    init(maximumBatch: Int = 128, write: @escaping @Sendable (@escaping @Sendable (Database) throws -> [@Sendable () -> Void]) async throws -> [@Sendable () -> Void]) {
        self.maximumBatch = maximumBatch
        self.write = write
    }

    /// How many transactions have been written.
    var batchesWritten: Int { state.withLock { $0.batches } }

    /// Runs `body` in the next batch's transaction, in a savepoint of its own.
    func submit<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
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
                fail: { continuation.resume(throwing: $0) }
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
                let taken = Array(state.items.prefix(maximumBatch))
                state.items.removeFirst(taken.count)
                if taken.isEmpty { state.writing = false }
                return taken
            }
            guard !batch.isEmpty else { return }
            state.withLock { $0.batches += 1 }
            do {
                let resumes = try await write { db in batch.map { $0.run(db) } }
                for resume in resumes { resume() }
            } catch {
                for item in batch { item.fail(error) }
            }
        }
    }
}
