import Foundation
import HeraldPostgres
import PostgresNIO
import Testing

/// `herald_lower` and `herald_len` give what Swift's `lowercased()` and `count` give.
@Suite struct UnicodeFunctionsTests {
    /// Derived once: it asks `String.count` about every scalar several times.
    static let tables = UnicodeTables.derive()

    @Test("The functions of the migration are the ones this standard library implies", .tags(.slow))
    func generatedFunctionsMatchThisStandardLibrary() throws {
        let tables = Self.tables
        if ProcessInfo.processInfo.environment["HERALD_WRITE_UNICODE_FUNCTIONS"] == "1" {
            let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
                "../../Sources/HeraldPostgres/PostgresUnicodeFunctions.swift"
            ).standardizedFileURL
            try tables.source.write(to: path, atomically: true, encoding: .utf8)
            print("wrote \(path.path)")
        }
        // Compared as one Bool: the statements are long.
        let same = tables.statements == PostgresUnicodeFunctions.statements
        #expect(
            same,
            """
            this toolchain's Unicode data differs from the tables of PostgresUnicodeFunctions (migration v2-rules): \
            generate new statements (HERALD_WRITE_UNICODE_FUNCTIONS=1, see that file's header) and run them in a new migration
            """
        )
    }
}
