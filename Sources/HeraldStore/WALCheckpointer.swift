import Dispatch
import GRDB
import Synchronization

/// Copies the write-ahead log into the database file from a connection of its own, shortly
/// after writes, so that the writer does not wait for the disk.
///
/// SQLite's own checkpoint runs in the connection that commits, once the log holds 1,000 pages:
/// that writer copies the pages into the database file and waits for two `fsync`s, and every
/// write queued behind it (a delivery lane's claims and outcomes) waits as well. On a slow disk
/// that was a fifth of the push lane's time (`herald bench deliver --channel push`: claims of 25
/// rows at 30 ms p99 instead of 9). Here a passive checkpoint runs ``delay`` after a write, on
/// another connection (a passive checkpoint never blocks the writer, nor waits for it), and the
/// writer checkpoints by itself only past ``writerLimit`` pages: the log grows no larger than
/// that if this connection cannot keep up or cannot run (and only past it can the writer
/// restart the log from its beginning while writes keep coming: a checkpoint beside the writer
/// rarely finds the log fully copied).
///
/// A checkpointer belongs to one store of one process; other processes on the file checkpoint
/// with their own.
final class WALCheckpointer: Sendable {
    /// Pages of log at which the writer checkpoints by itself (`PRAGMA wal_autocheckpoint`).
    static let writerLimit = 10_000
    /// How long after a write the checkpoint runs: writes in between share it.
    static let delay = DispatchTimeInterval.milliseconds(100)

    private let connection: DatabaseQueue
    /// Whether a checkpoint is due already (a write in between needs no other).
    private let isScheduled = Atomic<Bool>(false)
    /// Checkpoints run, for tests.
    private let runs = Atomic<Int>(0)

    /// Opens a connection to the database at `path`, which must exist and be in WAL mode.
    init(path: String) throws {
        var configuration = GRDB.Configuration()
        configuration.label = "herald.checkpointer"
        connection = try DatabaseQueue(path: path, configuration: configuration)
    }

    /// After a write: a checkpoint within ``delay`` (if none is due yet).
    func wrote() {
        guard !isScheduled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.delay) { [weak self] in
            self?.checkpoint()
        }
    }

    /// How many checkpoints ran.
    var count: Int { runs.load(ordering: .relaxed) }

    private func checkpoint() {
        // Cleared first: a write during the checkpoint schedules the next one.
        isScheduled.store(false, ordering: .releasing)
        // A failure (another process's checkpoint holds the lock) leaves the log to the next
        // checkpoint, or to the writer past its limit.
        _ = try? connection.writeWithoutTransaction { db in try db.checkpoint(.passive) }
        runs.add(1, ordering: .relaxed)
    }
}
