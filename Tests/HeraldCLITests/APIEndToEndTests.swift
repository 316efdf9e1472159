import AsyncHTTPClient
import Foundation
import HeraldCore
import HeraldSandbox
import HeraldStore
import HeraldTesting
import NIOCore
import NIOHTTP1
import Testing

/// The HTTP API over real sockets, in separate processes, as a service and a user meet it: a
/// service sends through `herald serve`, `herald deliver` hands the email to the sandbox's
/// SendGrid, the sandbox posts SendGrid's signed event webhook back (delivered, opened,
/// clicked), the user unsubscribes with their mail client's one-click POST, a later campaign
/// skips them, and `herald report` shows all of it.
@Suite(.tags(.slow)) struct APIEndToEndTests {
    struct Failure: Error, CustomStringConvertible { var description: String }

    @Test func anAPISendIsDeliveredOpenedClickedAndUnsubscribedAndTheReportShowsIt() async throws {
        try await withTemporaryDirectory { directory in
            let workspace = directory.path
            let initialized = try await HeraldBinary.run(["init", workspace, "--force"], in: workspace)
            #expect(initialized.status == 0, "\(initialized.stderr)")
            // Quiet hours would hold a marketing email until the recipient's morning.
            try removeLimits(fromWorkspace: workspace)
            var playback = PlaybackConfiguration(delay: .milliseconds(50), openRate: 1, clickRate: 1, followsLinks: false)
            let yml = directory.file("herald.yml")
            try String(contentsOfFile: yml, encoding: .utf8)
                .replacingOccurrences(of: "from: \"Shop <news@example.com>\", base_url: \"http://127.0.0.1:4010/sendgrid\"", with: "from: \"Shop <news@example.com>\", webhook_public_key: \"\(playback.sendGridPublicKey)\", base_url: \"http://127.0.0.1:4010/sendgrid\"")
                .write(toFile: yml, atomically: true, encoding: .utf8)
            #expect(try String(contentsOfFile: yml, encoding: .utf8).contains("webhook_public_key"), "the sample's SendGrid line changed")

            let keys = try await HeraldBinary.run(["keys", "create", "--scopes", "send,users"], in: workspace)
            let appKey = try #require(keys.stdout.split(separator: "\n").first { $0.hasPrefix("app key:") }?.split(separator: " ").last)
            let secret = try #require(keys.stdout.split(separator: "\n").first { $0.hasPrefix("secret:") }?.split(separator: " ").last)
            let auth = "Basic " + Data("\(appKey):\(secret)".utf8).base64EncodedString()

            let server = try HeraldBinary.start(["serve", "--listen", "127.0.0.1:0"], in: workspace)
            defer { if server.process.isRunning { server.process.terminate() } }
            let banner = await onOwnThread { String(decoding: PipeReading.available(server.stdout.fileHandleForReading), as: UTF8.self) }
            guard let portText = banner.split(separator: ":").last?.split(separator: " ").first, let port = Int(portText) else {
                throw Failure(description: "herald serve printed no address: \(banner)")
            }
            let base = "http://127.0.0.1:\(port)"
            playback.webhookURLs[.sendgrid] = "\(base)/webhooks/sendgrid"

            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                @Sendable func call(_ method: HTTPMethod, _ path: String, body: String? = nil, authorized: Bool = true) async throws -> (Int, String) {
                    var request = HTTPClientRequest(url: base + path)
                    request.method = method
                    if authorized { request.headers.add(name: "Authorization", value: auth) }
                    if let body { request.body = .bytes(ByteBuffer(string: body)) }
                    let response = try await client.execute(request, timeout: .seconds(30))
                    return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
                }
                let user = try await call(.PUT, "/v1/users/u-1", body: #"{"email": "ana@example.com", "locale": "en-US", "first_name": "Ana"}"#)
                #expect(user.0 == 201, "\(user.1)")
                let send = try await call(.POST, "/v1/notifications", body: #"{"to": [{"user_id": "u-1"}], "template": "winter-sale", "category": "marketing", "channels": ["email"]}"#)
                #expect(send.0 == 202, "\(send.1)")
                #expect(send.1.contains(#""state":"planned""#))

                // A guest (named by address) gets the raw email, and is in no campaign's audience.
                let guestSend = try await call(.POST, "/v1/notifications", body: #"{"to": [{"email": "walk-in@example.com"}], "from": {"email": "news@example.com"}, "subject": "Your receipt", "content": [{"type": "text/plain", "value": "Thanks"}]}"#)
                #expect(guestSend.0 == 202, "\(guestSend.1)")
                let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema(), configuration: SQLiteStore.Configuration(access: .readOnly))
                let guest = try #require(try await store.rows(sql: "SELECT id FROM users WHERE email = 'walk-in@example.com'").first?.first)
                #expect(guest.hasPrefix("guest-"))
                let audience = try await HeraldBinary.run(["audience", "winter-sale", "--user", guest], in: workspace)
                #expect(audience.stdout.hasPrefix("\(guest) does not match campaign winter-sale"), "\(audience.stdout)\(audience.stderr)")
                #expect(audience.stdout.contains("because it is a guest"), "\(audience.stdout)")

                let configured = playback
                try await Sandbox.withRunning(Sandbox.Configuration(port: 0, smtpPort: nil, playback: configured)) { sandbox in
                    try String(contentsOfFile: yml, encoding: .utf8)
                        .replacingOccurrences(of: "http://127.0.0.1:4010/", with: "http://127.0.0.1:\(sandbox.port)/")
                        .write(toFile: yml, atomically: true, encoding: .utf8)
                    let delivered = try await HeraldBinary.run(["deliver"], in: workspace)
                    #expect(delivered.status == 0, "\(delivered.stdout)\(delivered.stderr)")
                    let message = try #require(sandbox.log.messages.first { $0.provider == .sendgrid && $0.to == "ana@example.com" })
                    #expect(sandbox.log.messages.contains { $0.to == "walk-in@example.com" && $0.subject == "Your receipt" }, "the guest's email")

                    // The webhook arrives on its own; wait for the report to show it.
                    var report: [String: Any] = [:]
                    for _ in 0..<100 {
                        let output = try await HeraldBinary.run(["report", "--campaign", "api:winter-sale", "--format", "json"], in: workspace)
                        report = ((try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8))) as? [[String: Any]])?.first ?? [:]
                        if report["clicked"] as? Int == 1 { break }
                        try await Task.sleep(for: .milliseconds(200))
                    }
                    #expect(report["delivered"] as? Int == 1 && report["opened"] as? Int == 1 && report["clicked"] as? Int == 1, "\(report)")

                    // The mail client's one-click unsubscribe: a POST to the List-Unsubscribe URL.
                    let header = try #require(message.headers.first { $0.key.lowercased() == "list-unsubscribe" }?.value)
                    let link = try #require(header.split(separator: ",").compactMap { part -> String? in
                        let trimmed = part.trimmingCharacters(in: CharacterSet(charactersIn: " <>"))
                        return trimmed.hasPrefix("http") ? trimmed : nil
                    }.first)
                    let path = try #require(URL(string: link)?.path)
                    #expect(path.hasPrefix("/u/"))
                    let page = try await call(.GET, path, authorized: false)
                    #expect(page.0 == 200 && page.1.contains("<form method=\"post\">"))
                    let unsubscribed = try await call(.POST, path, body: "List-Unsubscribe=One-Click", authorized: false)
                    #expect(unsubscribed.0 == 200 && unsubscribed.1.contains("You are unsubscribed"))

                    // The next marketing email skips her.
                    let next = try await HeraldBinary.run(["send", "winter-sale", "--now", "--user", "u-1"], in: workspace)
                    #expect(next.status == 0, "\(next.stdout)\(next.stderr)")
                    let later = try await HeraldBinary.run(["report", "--campaign", "winter-sale", "--format", "json"], in: workspace)
                    let rows = (try JSONSerialization.jsonObject(with: Data(later.stdout.utf8))) as? [[String: Any]] ?? []
                    let email = try #require(rows.first { $0["channel"] as? String == "email" })
                    #expect((email["skipped"] as? [String: Int])?["opted_out"] == 1, "\(email)")
                    #expect(sandbox.log.messages.filter { $0.provider == .sendgrid && $0.to == "ana@example.com" }.count == 1, "nothing else was emailed to her")

                    let final = try await HeraldBinary.run(["report", "--campaign", "api:winter-sale", "--format", "csv"], in: workspace)
                    let lines = final.stdout.split(separator: "\n").map(String.init)
                    let columns = try #require(lines.first).split(separator: ",").map(String.init)
                    let values = try #require(lines.dropFirst().first).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                    let row = Dictionary(uniqueKeysWithValues: zip(columns, values))
                    #expect(row["delivered"] == "1" && row["opened"] == "1" && row["clicked"] == "1" && row["unsubscribed"] == "1", "\(row)")
                    #expect(row["open_rate"] == "1" && row["click_rate"] == "1")
                    // The link SendGrid reported the click on.
                    let links = try await HeraldBinary.run(["report", "--links", "--campaign", "api:winter-sale", "--format", "csv"], in: workspace)
                    let clicked = links.stdout.split(separator: "\n").map(String.init)
                    #expect(clicked.first == "campaign,url,clicks,people" && clicked.count == 2, "\(links.stdout)\(links.stderr)")
                    #expect(clicked.last?.hasPrefix("api:winter-sale,") == true && clicked.last?.hasSuffix(",1,1") == true, "\(clicked)")
                }
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
            server.process.terminate()
            let stopped = await HeraldBinary.finish(server)
            #expect(stopped.stdout.contains("stopped"), "\(stopped.stdout)\(stopped.stderr)")
        }
    }
}
