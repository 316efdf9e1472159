import Foundation
import HeraldCore
import HeraldPostgres
import HeraldTesting
import Logging
import PostgresNIO
import Testing

/// Herald on PostgreSQL as an operator runs it: herald.yml names the database (its password
/// from the environment), and `herald users import`, `herald send`, two `herald worker`
/// processes, `herald report` and `herald trace` all work on it, against `herald sandbox` as its
/// own process.
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct PostgresEndToEndTests {
    static let users = 1500

    @Test func twoWorkersOnPostgreSQLDeliverEachNotificationOnceAndTheReportAgreesWithTheSandbox() async throws {
        guard let url = ProcessInfo.processInfo.environment["HERALD_TEST_POSTGRES_URL"] else {
            print("skipped: \(#function): the PostgreSQL end-to-end test needs HERALD_TEST_POSTGRES_URL (scripts/postgres-cluster start DIR prints one; make test sets it)")
            return
        }
        try await withScratchDatabase(url) { location in
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            try routePushNowhere(inWorkspace: directory.path)
            try removeLimits(fromWorkspace: directory.path)
            try removeNow(fromWinterSaleIn: directory.path)
            // The password comes from the environment, as in a deployment.
            let store = "postgres://\(location.username):${HERALD_DB_PASSWORD}@\(location.host):\(location.port)/\(location.database)"
            let environment = ["HERALD_DB_PASSWORD": location.password ?? ""]
            try rewrite(directory.file("herald.yml"), "store: sqlite:herald.db", "store: \(store)")

            let sandbox = try HeraldBinary.start(
                ["sandbox", "--listen", "127.0.0.1:0", "--smtp-port", "0", "--apns-port", "0", "--record", "messages.jsonl"], in: directory.path
            )
            defer { if sandbox.process.isRunning { kill(sandbox.process.processIdentifier, SIGKILL) } }
            var banner = ""
            while !banner.contains("Ctrl-C stops it.") {
                let handle = sandbox.stdout.fileHandleForReading
                let data = await onOwnThread { PipeReading.available(handle) }
                guard !data.isEmpty else { break }
                banner += String(decoding: data, as: UTF8.self)
            }
            let port = try #require(banner.split(separator: "\n").first?.split(separator: ":").last.flatMap { Int($0) }, "\(banner)")
            try rewrite(directory.file("herald.yml"), "http://127.0.0.1:4010/", "http://127.0.0.1:\(port)/")

            let generate = try await HeraldBinary.run(["users", "generate", "--count", "\(Self.users)", "--seed", "7", "--output", "users.jsonl"], in: directory.path, environment: environment)
            #expect(generate.status == 0, "\(generate.stderr)")
            let imported = try await HeraldBinary.run(["users", "import", "users.jsonl"], in: directory.path, environment: environment)
            #expect(imported.status == 0, "\(imported.stderr)")
            #expect(imported.stdout.contains("(\(Self.users) new, 0 updated"), "\(imported.stdout)")
            #expect(!FileManager.default.fileExists(atPath: directory.file("herald.db")), "nothing is written to SQLite")

            // Both workers wait for work before it is planned, and there is more than one claims
            // (each worker's lanes claim 10 at a time and wait on the 200/s rate limit): both take part.
            let worker = ["worker", "--lease", "5", "--idle-poll", "0.2", "--batch-size", "10"]
            let workers = [
                try HeraldBinary.start(worker, in: directory.path, environment: environment),
                try HeraldBinary.start(worker, in: directory.path, environment: environment),
            ]
            for started in workers {
                let handle = started.stdout.fileHandleForReading
                let banner = String(decoding: await onOwnThread { PipeReading.available(handle) }, as: UTF8.self)
                #expect(banner.hasPrefix("delivering push, sms, email"), "\(banner)")
            }
            let plan = try await HeraldBinary.run(["send", "winter-sale", "--now", "--plan-only"], in: directory.path, environment: environment)
            #expect(plan.status == 0, "\(plan.stderr)")
            let database = try await PostgresStore(location: location, attributes: AttributeSchema(), maximumConnections: 2)
            let planned = try await database.count("SELECT COUNT(*) FROM notifications WHERE state <> 'skipped'")
            #expect(planned > Self.users / 4, "\(plan.stdout)")
            let start = ContinuousClock.now
            while try await database.count("SELECT COUNT(*) FROM outbox") > 0, ContinuousClock.now - start < .seconds(120) {
                try await Task.sleep(for: .milliseconds(250))
            }
            var outputs: [String] = []
            for started in workers {
                kill(started.process.processIdentifier, SIGTERM)
                let output = await HeraldBinary.finish(started)
                #expect(output.status == 0, "a worker stopped by SIGTERM exits 0: \(output.stderr)")
                outputs.append(output.stdout)
                #expect(!output.stderr.lowercased().contains("error"), "\(output.stderr)")
            }
            #expect(try await database.count("SELECT COUNT(*) FROM outbox") == 0, "the outbox did not empty in 2 minutes")
            // Both workers took part.
            #expect(outputs.allSatisfy { $0.contains("email outbox: ") && !$0.contains("email outbox: 0 sent") }, "\(outputs)")

            kill(sandbox.process.processIdentifier, SIGTERM)
            _ = await HeraldBinary.finish(sandbox)
            let states = try await database.rows("SELECT state FROM notifications GROUP BY state ORDER BY state", as: String.self)
            #expect(states.allSatisfy { ["sent", "skipped"].contains($0) }, "\(states)")
            let sent = Set(try await database.rows("SELECT id::text FROM notifications WHERE state = 'sent'", as: String.self))
            await database.close()

            // Each notification was accepted once: the sandbox's messages name each sent one once.
            let accepted = try String(contentsOfFile: directory.file("messages.jsonl"), encoding: .utf8).split(separator: "\n").compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                    .flatMap { ($0["metadata"] as? [String: String])?["herald_notification_id"] }
            }
            #expect(accepted.count == Set(accepted).count, "a notification was sent twice")
            #expect(Set(accepted) == sent)
            #expect(!sent.isEmpty)

            // The report reads the same store and agrees with the sandbox.
            let report = try await HeraldBinary.run(["report", "--campaign", "winter-sale", "--format", "json"], in: directory.path, environment: environment)
            #expect(report.status == 0, "\(report.stderr)")
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [[String: Any]], "\(report.stdout)")
            let reported = rows.filter { $0["channel"] as? String == "email" && $0["occurrence"] as? Int != nil }.compactMap { $0["sent"] as? Int }
            #expect(reported == [accepted.count], "\(report.stdout)")

            // `herald trace` reads one notification's trail from the same database.
            let traced = try #require(sent.sorted().first)
            let trace = try await HeraldBinary.run(["trace", traced], in: directory.path, environment: environment)
            #expect(trace.status == 0, "\(trace.stderr)")
            #expect(trace.stdout.contains("  state       sent\n") && trace.stdout.contains("winter-sale"), "\(trace.stdout)")
            #expect(trace.stdout.contains("planned") && trace.stdout.contains("sending"), "\(trace.stdout)")
        }
        }
    }

    /// Runs `body` with a database of its own on the test server, dropped after.
    func withScratchDatabase(_ url: String, _ body: (PostgresLocation) async throws -> Void) async throws {
        var location = try PostgresLocation(url: url)
        let name = "herald_e2e_" + String(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12))
        let admin = try await PostgresStore(url: url, attributes: AttributeSchema(), searchPath: "herald_e2e_admin", maximumConnections: 1)
        // From template0, which nobody connects to (a session on template1 makes CREATE DATABASE
        // fail), and again after a moment if the server still refuses: a loaded CI machine's
        // tests create their databases at the same time. The server's own message if it never
        // takes it (PSQLError's description hides it).
        var attempt = 0
        while true {
            do {
                _ = try await admin.client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name) TEMPLATE template0"), logger: Logger(label: "herald.test"))
                break
            } catch {
                attempt += 1
                guard attempt < 5 else {
                    await admin.close()
                    throw ScratchDatabaseError(description: "CREATE DATABASE \(name) failed \(attempt) times: \(String(reflecting: error))")
                }
                try await Task.sleep(for: .seconds(attempt))
            }
        }
        location.database = name
        do {
            try await body(location)
        } catch {
            _ = try? await admin.client.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"), logger: Logger(label: "herald.test"))
            await admin.close()
            throw error
        }
        do {
            _ = try await admin.client.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"), logger: Logger(label: "herald.test"))
        } catch {
            await admin.close()
            throw ScratchDatabaseError(description: "DROP DATABASE \(name) failed: \(String(reflecting: error))")
        }
        await admin.close()
    }

    func rewrite(_ file: String, _ old: String, _ new: String) throws {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.contains(old), "\(file) has no '\(old)'")
        try text.replacingOccurrences(of: old, with: new).write(toFile: file, atomically: true, encoding: .utf8)
    }
}

/// A scratch database the server would not create or drop, with the server's own words.
struct ScratchDatabaseError: Error, CustomStringConvertible {
    let description: String
}

extension PostgresStore {
    func count(_ sql: String) async throws -> Int {
        try await rows(sql, as: Int.self).first ?? 0
    }

    func rows<T: PostgresDecodable & Sendable>(_ sql: String, as type: T.Type) async throws -> [T] {
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "herald.test"))
        var values: [T] = []
        for try await value in rows.decode(T.self) { values.append(value) }
        return values
    }
}
