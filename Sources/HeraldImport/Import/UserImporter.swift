import Foundation
import HeraldCore

/// Imports a users file into the store: streams rows, skips and reports bad ones, and upserts the
/// good ones in batches of one transaction each.
public struct UserImporter: Sendable {
    /// What an import did.
    public struct Result: Sendable, Hashable {
        /// Rows that parsed and were written (inserted, updated or already identical).
        public var accepted = 0
        /// Rows reported and skipped.
        public var rejected = 0
        public var upserts = UpsertSummary()

        public init() {}

        /// `users.csv: 998 rows imported (990 new, 5 updated, 3 unchanged), 2 rejected`
        public func summaryLine(file: String) -> String {
            "\(file): \(accepted) row\(accepted == 1 ? "" : "s") imported (\(upserts.inserted) new, \(upserts.updated) updated, "
                + "\(upserts.unchanged) unchanged), \(rejected) rejected"
        }
    }

    let store: any UserStore
    let schema: AttributeSchema
    let preferenceKeys: PreferenceVocabulary?
    let clock: any WallClock

    /// - Parameter preferenceKeys: the preference keys the workspace knows; a row with any other
    ///   is rejected. `nil` checks only their shape.
    public init(store: any UserStore, schema: AttributeSchema, preferenceKeys: PreferenceVocabulary? = nil, clock: any WallClock) {
        self.store = store
        self.schema = schema
        self.preferenceKeys = preferenceKeys
        self.clock = clock
    }

    /// Imports `path`. A problem with the file as a whole (unreadable, unknown column) throws
    /// before anything is written; a bad row goes to `onRejected` (every problem of the row)
    /// and the import goes on.
    public func importFile(
        _ path: String, batchSize: Int = 1000, onRejected: ([Diagnostic]) -> Void
    ) async throws -> Result {
        precondition(batchSize > 0, "batchSize must be positive")
        var reader = try UserImportReader(path: path, schema: schema, preferenceKeys: preferenceKeys)
        var result = Result()
        while true {
            let rows = try reader.next(maxCount: batchSize)
            guard !rows.isEmpty else { break }
            var users: [User] = []
            users.reserveCapacity(rows.count)
            for row in rows {
                switch row.result {
                case .success(let user):
                    users.append(user)
                case .failure(let rejected):
                    result.rejected += 1
                    onRejected(rejected.diagnostics)
                }
            }
            if !users.isEmpty {
                result.upserts = result.upserts + (try await store.upsertUsers(users, at: clock.now))
                result.accepted += users.count
            }
        }
        return result
    }
}
