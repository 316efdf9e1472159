import GRDB
import Synchronization

/// Writes of many concurrent callers in one transaction (group commit): SQLite takes one writer
/// at a time, and a transaction costs about the same for one small write as for fifty, so the
/// API's sends, each a few rows, are written together.
///
/// A caller whose work throws gets the error and nothing of its work is committed; the others'
/// work is. Every caller learns its result only after the commit, so nobody answers a client for
/// a write that could still be lost. One batch is written at a time; callers who arrive
/// meanwhile form the next one.
///
/// A batch is first written without savepoints: a savepoint per caller made SQLite copy every
/// page a caller touched into a sub-journal, which it spills to a temporary file past 64 KiB, and
/// those writes were a third of the API's writer time. A caller that throws before it changed a
/// row (`sqlite3_total_changes`) leaves nothing to undo, and the batch goes on. A caller that
/// throws after changing rows, or with an SQLite error, undoes the whole transaction, and the
/// batch is written again with each caller in a savepoint of its own, which undoes only the work
/// of those that throw. So a caller's work may run twice; only the committed run's result counts,
/// and the work must do nothing outside the database.
final class GroupCommit: Sendable {
    /// One caller's work: runs in the transaction (in a savepoint when `isolated`) and returns
    /// what to do after the commit (resume the caller), or, when the commit fails, the caller is
    /// resumed with the error. Not isolated, it throws ``Isolate`` when it cannot fail alone.
    private struct Item: Sendable {
        var run: @Sendable (_ db: Database, _ isolated: Bool) throws -> (@Sendable () -> Void)
        var fail: @Sendable (any Error) -> Void
        /// How much work it is (an API send: its recipients), to bound a batch's.
        var weight: Int
    }

    /// A caller threw after it had changed rows, or with an SQLite error: the batch's
    /// transaction is rolled back and written again with a savepoint per caller.
    private struct Isolate: Error {}

    private struct State {
        var items: [Item] = []
        var writing = false
        /// Transactions written so far, and the most callers one held (for tests and diagnostics).
        var batches = 0
        var largestBatch = 0
        /// Batches written again with a savepoint per caller (for tests and diagnostics).
        var isolatedBatches = 0
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

    /// How many batches were written again with a savepoint per caller.
    var isolatedBatches: Int { state.withLock { $0.isolatedBatches } }

    /// Runs `body` in the next batch's transaction; `weight` says how much work it is (default 1).
    ///
    /// `body` may run twice (see ``GroupCommit``): it must have no effect outside `db`. It
    /// should throw its expected errors before it changes a row, so that they cost no second run.
    func submit<T: Sendable>(weight: Int = 1, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let item = Item(
                run: { db, isolated in
                    var result: Result<T, any Error>
                    if isolated {
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
                    } else {
                        let changes = db.totalChangesCount
                        do {
                            result = .success(try body(db))
                        } catch is DatabaseError {
                            // SQLite may have rolled back the transaction itself (SQLITE_FULL, …).
                            throw Isolate()
                        } catch {
                            guard db.totalChangesCount == changes, db.isInsideTransaction else { throw Isolate() }
                            result = .failure(error)
                        }
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
                let resumes: [@Sendable () -> Void]
                do {
                    resumes = try await write { db in try batch.map { try $0.run(db, false) } }
                } catch is Isolate {
                    state.withLock { $0.isolatedBatches += 1 }
                    resumes = try await write { db in try batch.map { try $0.run(db, true) } }
                }
                for resume in resumes { resume() }
            } catch {
                for item in batch { item.fail(error) }
            }
        }
    }
}
