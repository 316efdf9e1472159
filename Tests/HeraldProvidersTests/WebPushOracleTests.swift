import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox
import Testing

/// Herald's sender against the Python reference implementations (http_ece, py_vapid), through
/// the push service of `scripts/webpush-oracle`, which sets HERALD_WEBPUSH_ORACLE. Skipped
/// otherwise: the suite never needs Python or a network.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["HERALD_WEBPUSH_ORACLE"] != nil), .timeLimit(.minutes(3)))
struct WebPushOracleTests {
    @Test func whatHeraldSendsDecryptsWithHTTPECEAndVerifiesWithPyVAPID() async throws {
        let oracle = try #require(ProcessInfo.processInfo.environment["HERALD_WEBPUSH_ORACLE"])
        // The RFC 8291 example's user agent keys: the oracle holds the private half.
        let subscription = WebPushSubscription(
            endpoint: oracle + "/push/rfc8291", p256dh: WebPushEncryptionTests.Vector.userAgentPublic, auth: WebPushEncryptionTests.Vector.auth
        )
        let http = ProviderHTTPClient()
        let transport = WebPushTransport(
            name: "webpush", configuration: .init(vapidPrivateKey: SandboxAccounts.demoVAPIDPrivateKey, subject: "mailto:ops@example.com"), http: http
        )
        let contents = [
            PushContent(title: "Größe 42", body: "is back 🎉", url: "https://shop.example.com/p/42", ttl: 60),
            PushContent(title: "long", body: String(repeating: "x", count: 3900)),
        ]
        let outcomes = await transport.send(contents.enumerated().map { webPush(Int64($0.offset), to: subscription, content: $0.element) })
        try await http.shutdown()
        for (content, outcome) in zip(contents, outcomes) {
            guard case .accepted(let location) = outcome else { Issue.record("\(outcome)"); continue }
            let echoed = try #require(location.split(separator: "/").last.flatMap { Base64URL.decode(String($0)) })
            #expect(echoed == WebPushTransport.payload(content))
        }
    }
}
