import Foundation
import HeraldCore
import HeraldPostgres
import Testing

/// Opening a store on a server that refuses it says why, as the server said it.
@Suite struct PostgresOpeningTests {
    @Test func aWrongPasswordAndAnUnknownDatabaseAreNamed() async throws {
        guard let url = TestPostgres.url, var components = URLComponents(string: url) else { return TestPostgres.skip() }
        components.password = "not-the-password"
        let wrongPassword = await #expect(throws: StoreError.self) {
            _ = try await PostgresStore(url: components.string!, attributes: AttributeSchema())
        }
        #expect(wrongPassword?.message.contains("password authentication failed") == true, "\(String(describing: wrongPassword))")
        #expect(wrongPassword?.message.contains("not-the-password") == false)

        var unknown = try #require(URLComponents(string: url))
        unknown.path = "/no_such_database"
        let missing = await #expect(throws: StoreError.self) {
            _ = try await PostgresStore(url: unknown.string!, attributes: AttributeSchema())
        }
        #expect(missing?.message.contains("database \"no_such_database\" does not exist") == true, "\(String(describing: missing))")
    }
}
