import AsyncHTTPClient
import Foundation
import HeraldCore
import HeraldPostgres
import HeraldSandbox
import HeraldTesting
import NIOCore
import NIOHTTP1
import Testing

/// The HTTP API with herald.yml's `store:` a `postgres://` URL: two `herald serve` processes on
/// one database, reached directly (no balancer), as servers on two machines are. A key made with
/// `herald keys create` authenticates; the same idempotent send taken by both servers at the same
/// moment is planned once; `herald deliver` hands it to the sandbox's SendGrid; and the sandbox's
/// signed event webhook, posted to one server, is applied once.
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct PostgresAPIEndToEndTests {
    struct Failure: Error, CustomStringConvertible { var description: String }

    @Test func twoServersOnOneDatabaseSendOnceAndApplyTheWebhook() async throws {
        try await PostgresOperatorCommandTests().withPostgresWorkspace { directory, environment, location in
            let workspace = directory.path
            var playback = PlaybackConfiguration(delay: .milliseconds(50), openRate: 1, clickRate: 0, followsLinks: false)
            let yml = directory.file("herald.yml")
            try OperatorCommandTests.rewrite(yml, [(
                "from: \"Shop <news@example.com>\", base_url: \"http://127.0.0.1:4010/sendgrid\"",
                "from: \"Shop <news@example.com>\", webhook_public_key: \"\(playback.sendGridPublicKey)\", base_url: \"http://127.0.0.1:4010/sendgrid\""
            )])
            let keys = try await HeraldBinary.run(["keys", "create", "--scopes", "send,users"], in: workspace, environment: environment)
            #expect(keys.status == 0, "\(keys.stderr)")
            let appKey = try #require(keys.stdout.split(separator: "\n").first { $0.hasPrefix("app key:") }?.split(separator: " ").last)
            let secret = try #require(keys.stdout.split(separator: "\n").first { $0.hasPrefix("secret:") }?.split(separator: " ").last)
            let auth = "Basic " + Data("\(appKey):\(secret)".utf8).base64EncodedString()

            var servers: [(process: Process, stdout: Pipe, stderr: Pipe)] = []
            defer { for server in servers where server.process.isRunning { server.process.terminate() } }
            var bases: [String] = []
            for _ in 0..<2 {
                let server = try HeraldBinary.start(["serve", "--listen", "127.0.0.1:0"], in: workspace, environment: environment)
                servers.append(server)
                let banner = await onOwnThread { String(decoding: PipeReading.available(server.stdout.fileHandleForReading), as: UTF8.self) }
                guard let portText = banner.split(separator: ":").last?.split(separator: " ").first, let port = Int(portText) else {
                    server.process.terminate()
                    let failed = await HeraldBinary.finish(server)
                    throw Failure(description: "herald serve printed no address: \(banner)\(failed.stderr)")
                }
                bases.append("http://127.0.0.1:\(port)")
            }
            playback.webhookURLs[.sendgrid] = "\(bases[1])/webhooks/sendgrid"

            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                @Sendable func call(_ base: String, _ method: HTTPMethod, _ path: String, body: String? = nil, key: String? = nil) async throws -> (Int, String) {
                    var request = HTTPClientRequest(url: base + path)
                    request.method = method
                    request.headers.add(name: "Authorization", value: auth)
                    if let key { request.headers.add(name: "Idempotency-Key", value: key) }
                    if let body { request.body = .bytes(ByteBuffer(string: body)) }
                    let response = try await client.execute(request, timeout: .seconds(30))
                    return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
                }
                #expect(try await call(bases[0], .GET, "/readyz").0 == 200)
                let user = try await call(bases[0], .PUT, "/v1/users/u-1", body: #"{"email": "ana@example.com", "locale": "en-US", "first_name": "Ana"}"#)
                #expect(user.0 == 201, "\(user.1)")
                let send = #"{"to": [{"user_id": "u-1"}], "template": "winter-sale", "category": "marketing", "channels": ["email"]}"#
                // The same Idempotency-Key on both servers at the same moment, a few times over.
                for round in 0..<3 {
                    let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                        for base in bases { group.addTask { try await call(base, .POST, "/v1/notifications", body: send, key: "order-\(round)") } }
                        var answers: [(Int, String)] = []
                        for try await answer in group { answers.append(answer) }
                        return answers
                    }
                    #expect(answers.map(\.0) == [202, 202], "\(answers)")
                    #expect(answers[0].1 == answers[1].1, "both servers give the first answer")
                    #expect(answers[0].1.contains(#""state":"planned""#), "\(answers[0].1)")
                }
                let planned = try await PostgresOperatorCommandTests().withDatabase(location) { database in
                    try await database.count("SELECT COUNT(*) FROM notifications WHERE campaign_id = 'api:winter-sale'")
                }
                #expect(planned == 3, "one notification per key")

                let configured = playback
                try await Sandbox.withRunning(Sandbox.Configuration(port: 0, smtpPort: nil, playback: configured)) { sandbox in
                    try OperatorCommandTests.rewrite(yml, [("http://127.0.0.1:4010/", "http://127.0.0.1:\(sandbox.port)/")])
                    let delivered = try await HeraldBinary.run(["deliver"], in: workspace, environment: environment)
                    #expect(delivered.status == 0, "\(delivered.stdout)\(delivered.stderr)")
                    #expect(sandbox.log.messages.filter { $0.provider == .sendgrid && $0.to == "ana@example.com" }.count == 3)
                    // The signed webhook arrives on its own: every email delivered and opened once.
                    var states: [String] = []
                    var opens = 0
                    for _ in 0..<100 {
                        (states, opens) = try await PostgresOperatorCommandTests().withDatabase(location) { database in
                            (
                                try await database.rows("SELECT state FROM notifications WHERE campaign_id = 'api:winter-sale' ORDER BY id", as: String.self),
                                try await database.count("SELECT COUNT(*) FROM events WHERE type = 'opened' AND campaign_id = 'api:winter-sale'")
                            )
                        }
                        if states == ["delivered", "delivered", "delivered"], opens == 3 { break }
                        try await Task.sleep(for: .milliseconds(200))
                    }
                    #expect(states == ["delivered", "delivered", "delivered"] && opens == 3, "\(states), \(opens) opens")
                    let receipts = try await PostgresOperatorCommandTests().withDatabase(location) { try await $0.count("SELECT COUNT(*) FROM webhook_receipts") }
                    #expect(receipts >= 6, "each SendGrid event kept for dedupe")
                }
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
            for server in servers {
                server.process.terminate()
                let stopped = await HeraldBinary.finish(server)
                #expect(stopped.stdout.contains("stopped"), "\(stopped.stdout)\(stopped.stderr)")
            }
        }
    }
}
