#if canImport(Glibc)
import Glibc
private let closeDescriptor = Glibc.close
#elseif canImport(Darwin)
import Darwin
private let closeDescriptor = Darwin.close
#endif
import Foundation
import HeraldCore
import HeraldSandbox
import HeraldStore
import HeraldTesting
import Testing

/// Shutdown while libcurl is inside an SMTP conversation: libcurl blocks a thread of its own for
/// as long as its timeout (60 s by default), and a worker told to stop must neither wait for it
/// nor lose the messages it held.
@Suite(.tags(.slow), .timeLimit(.minutes(3)))
struct SMTPShutdownTests {
    @Test func sigtermWithSMTPSendsStuckAtAServerExitsAtTheDeadlineAndTheSendsAreRepeatedAfter() async throws {
        try await withTemporaryDirectory { directory in
            try await HeavyEndToEndTests.ChaosTests.makeWorkspace(directory)
            _ = try directory.write("campaigns/chaos.yml", HeavyEndToEndTests.ChaosTests.campaign.replacingOccurrences(of: "[sms, email, push]", with: "[email]"))
            #expect(try await HeraldBinary.run(["users", "generate", "--count", "40"], in: directory.path).status == 0)
            // A server that takes connections and never says a word: every SMTP send waits for
            // the greeting until libcurl's own timeout.
            let silent = try SilentListener()
            defer { silent.close() }
            let original = try String(contentsOfFile: directory.file("herald.yml"), encoding: .utf8)
            @Sendable func useSMTP(_ settings: String) throws {
                try original.replacingOccurrences(of: "providers:\n", with: "providers:\n  smtp: {kind: smtp, from: \"Shop <news@example.com>\", \(settings)}\n")
                    .replacingOccurrences(of: "email: [sendgrid, mandrill]", with: "email: [smtp]")
                    .write(toFile: directory.file("herald.yml"), atomically: true, encoding: .utf8)
            }
            try useSMTP("url: \"smtp://127.0.0.1:\(silent.port)\", username: u, password: p")
            #expect(try await HeraldBinary.run(["send", "chaos", "--now", "--plan-only"], in: directory.path).status == 0)
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            @Sendable func count(_ sql: String) async throws -> Int { Int(try await store.rows(sql: sql)[0][0])! }
            // Generated users without an address or consent are skipped at planning.
            let planned = try await count("SELECT COUNT(*) FROM outbox")
            #expect(planned >= 10)

            let started = try HeraldBinary.start(["worker", "--shutdown-deadline", "1"], in: directory.path)
            let waiting = ContinuousClock.now
            while try await count("SELECT COUNT(*) FROM notifications WHERE state = 'sending'") == 0, ContinuousClock.now - waiting < .seconds(60) {
                try await Task.sleep(for: .milliseconds(20))
            }
            let stuck = try await count("SELECT COUNT(*) FROM notifications WHERE state = 'sending'")
            #expect(stuck > 0, "no SMTP send was under way")
            // Sends already at the server when the signal came: libcurl holds them.
            try await Task.sleep(for: .milliseconds(300))
            let signalled = ContinuousClock.now
            kill(started.process.processIdentifier, SIGTERM)
            let output = await HeraldBinary.finish(started)
            let took = ContinuousClock.now - signalled
            #expect(output.status == 0, "\(output.stderr)")
            // The deadline (1 s) and the bookkeeping, not libcurl's 60-second timeout.
            #expect(took < .seconds(10), "the worker took \(took) to stop")
            #expect(try await count("SELECT COUNT(*) FROM notifications WHERE state = 'sent'") == 0)
            // What was at the server is given back with its lease ended, to be repeated with the
            // same attempt (and Message-ID); nothing is held.
            let now = Date().timeIntervalSince1970
            #expect(try await count("SELECT COUNT(*) FROM outbox WHERE lease_until > \(now)") == 0)
            let released = try await count("""
                SELECT COUNT(*) FROM events WHERE type = 'released' AND detail LIKE '%stopped without an outcome at shutdown%'
                """)
            #expect(released > 0, "\(output.stdout)")

            // A server that answers: everything goes, each message once.
            try await Sandbox.withRunning(Sandbox.Configuration(port: 0, smtpPort: 0)) { sandbox in
                let url = try #require(sandbox.smtpURL)
                let ca = try #require(sandbox.certificateAuthorityFile)
                try useSMTP("url: \"\(url)\", username: \(sandbox.accounts.smtpUsername), password: \(sandbox.accounts.smtpPassword), ca_file: \"\(ca)\"")
                let restart = try await HeraldBinary.run(["deliver"], in: directory.path)
                #expect(restart.status == 0, "\(restart.stderr)")
                #expect(try await count("SELECT COUNT(*) FROM notifications WHERE state = 'sent'") == planned)
                #expect(sandbox.log.count == planned)
                #expect(Set(sandbox.log.messages.map(\.to)).count == planned)
                #expect(try await count("SELECT COUNT(*) FROM events WHERE type = 'reclaimed'") == released)
            }
        }
    }
}

/// A TCP listener on a free loopback port that never accepts: the kernel completes each
/// connection, and the client then waits for a greeting that never comes.
final class SilentListener: Sendable {
    let descriptor: Int32
    let port: Int

    init() throws {
        let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketDescriptor >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(socketDescriptor, 128) == 0 else {
            _ = closeDescriptor(socketDescriptor)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketDescriptor, $0, &length) }
        }
        descriptor = socketDescriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() {
        _ = closeDescriptor(descriptor)
    }
}
