import Crypto
import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox
import Testing

func webPush(
    _ id: Int64, to subscription: WebPushSubscription?, content: PushContent = PushContent(title: "Winter sale", body: "30% off until Sunday"),
    expiresAt: Date? = nil
) -> OutboundMessage {
    OutboundMessage(
        notificationID: id, occurrenceID: 1, campaignID: "winter-sale", userID: "u-\(id)", channel: .push, provider: "webpush",
        address: subscription?.endpoint ?? "", subscription: subscription, content: .push(content), attempt: 1, expiresAt: expiresAt
    )
}

@Suite(.timeLimit(.minutes(3)))
struct WebPushTransportTests {
    static func transport(_ http: ProviderHTTPClient, key: String = SandboxAccounts.demoVAPIDPrivateKey, subject: String = "mailto:ops@example.com") -> WebPushTransport {
        WebPushTransport(name: "webpush", configuration: .init(vapidPrivateKey: key, subject: subject), http: http)
    }

    static func subscription(_ sandbox: RunningSandbox, _ id: String) -> WebPushSubscription {
        SandboxWebPush.subscription(endpointBase: sandbox.baseURL(for: .webpush), id: id)
    }

    @Test func aPushTravelsEncryptedAndTheSandboxDecryptsWhatWasSent() async throws {
        try await withSandbox { sandbox, http in
            let content = PushContent(
                title: "Größe 42 is back", body: "Only today 🎉", url: "https://shop.example.com/p/42", data: ["sku": "42"], badge: 3,
                threadID: "restock", image: "https://cdn.example.com/42.png", ttl: 600, collapseKey: "restock-42", priority: .normal
            )
            let outcome = await Self.transport(http).send(webPush(1, to: Self.subscription(sandbox, "u-1-web"), content: content))
            guard case .accepted(let location) = outcome else { Issue.record("\(outcome)"); return }
            #expect(location.hasPrefix(sandbox.baseURL(for: .webpush) + "/m/"))
            let recorded = try #require(sandbox.log.messages.first)
            #expect(recorded.provider == .webpush)
            #expect(recorded.to == Self.subscription(sandbox, "u-1-web").endpoint)
            #expect(recorded.from == "mailto:ops@example.com")
            #expect(recorded.text.map { Data($0.utf8) } == WebPushTransport.payload(content))
            let payload = json(recorded.text ?? "")
            #expect(payload["title"] as? String == "Größe 42 is back")
            #expect(payload["body"] as? String == "Only today 🎉")
            #expect(payload["url"] as? String == "https://shop.example.com/p/42")
            #expect(payload["image"] as? String == "https://cdn.example.com/42.png")
            #expect(payload["badge"] as? Int == 3)
            #expect(payload["tag"] as? String == "restock")
            #expect(payload["data"] as? [String: String] == ["sku": "42"])
            #expect(recorded.headers == ["TTL": "600", "Urgency": "normal", "Topic": "restock-42"])
        }
    }

    @Test func aSilentPushCarriesNoTitleAndTheTTLComesFromTheExpiry() async throws {
        try await withSandbox { sandbox, http in
            let message = webPush(
                1, to: Self.subscription(sandbox, "u-1-web"), content: PushContent(title: "hidden", body: "hidden", data: ["sync": "1"], silent: true),
                expiresAt: Date().addingTimeInterval(300)
            )
            let outcome = await Self.transport(http).send(message)
            guard case .accepted = outcome else { Issue.record("\(outcome)"); return }
            let recorded = try #require(sandbox.log.messages.first)
            #expect(json(recorded.text ?? "").keys.sorted() == ["data", "silent"])
            #expect((290...300).contains(Int(recorded.headers["TTL"] ?? "") ?? 0))
            #expect(recorded.headers["Urgency"] == "normal")
        }
    }

    @Test func manyPushesToManySubscriptionsEachDecryptWithTheirOwnKeys() async throws {
        try await withSandbox { sandbox, http in
            let messages = (1...20).map { index in
                webPush(Int64(index), to: Self.subscription(sandbox, "u-\(index)-web"), content: PushContent(title: "n\(index)", body: "hello \(index)"))
            }
            let outcomes = await Self.transport(http).send(messages)
            #expect(outcomes.allSatisfy { kind(of: $0) == "accepted" }, "\(outcomes)")
            let byEndpoint = Dictionary(uniqueKeysWithValues: sandbox.log.messages.map { ($0.to, $0) })
            for index in 1...20 {
                #expect(byEndpoint[Self.subscription(sandbox, "u-\(index)-web").endpoint]?.subject == "n\(index)")
            }
        }
    }

    @Test func aSubscriptionThePushServiceCallsGoneIsADeadAddress() async throws {
        try await withSandbox(Sandbox.Configuration(faults: FaultPlan(providers: [.webpush: ProviderFaults(invalid: ["u-gone"])]))) { sandbox, http in
            let outcome = await Self.transport(http).send(webPush(1, to: Self.subscription(sandbox, "u-gone")))
            #expect(kind(of: outcome) == "deadAddress", "\(outcome)")
            #expect(reason(of: outcome).hasPrefix("webpush 410: "))
            #expect(sandbox.log.messages.isEmpty)
        }
    }

    @Test func aRateLimitIsARetryAfterRetryAfterAndAnOutageARetry() async throws {
        let faults = FaultPlan(providers: [.webpush: ProviderFaults(errorRates: [429: 1], retryAfter: 9)])
        try await withSandbox(Sandbox.Configuration(faults: faults)) { sandbox, http in
            let outcome = await Self.transport(http).send(webPush(1, to: Self.subscription(sandbox, "u-1")))
            guard case .throttled(let after, let reason) = outcome else { Issue.record("\(outcome)"); return }
            #expect(after == .seconds(9))
            #expect(reason.hasPrefix("provider 429"))
        }
        let outage = FaultPlan(providers: [.webpush: ProviderFaults(outages: [.init(start: 0, end: 3600)])])
        try await withSandbox(Sandbox.Configuration(faults: outage)) { sandbox, http in
            let outcome = await Self.transport(http).send(webPush(1, to: Self.subscription(sandbox, "u-1")))
            #expect(kind(of: outcome) == "retry" && reason(of: outcome).hasPrefix("webpush 503"), "\(outcome)")
        }
    }

    @Test func aVAPIDKeyOtherThanTheSubscriptionsIsMisconfiguration() async throws {
        try await withSandbox { sandbox, http in
            let other = Base64URL.encode(P256.Signing.PrivateKey().rawRepresentation)
            let outcome = await Self.transport(http, key: other).send(webPush(1, to: Self.subscription(sandbox, "u-1")))
            #expect(kind(of: outcome) == "misconfigured", "\(outcome)")
            #expect(reason(of: outcome).hasPrefix("webpush 403"), "\(outcome)")
            #expect(sandbox.log.messages.isEmpty)
        }
    }

    @Test func anUnreadableKeyOrSubjectIsMisconfigurationAndNothingIsSent() async throws {
        try await withSandbox(Sandbox.Configuration(recordsRequests: true)) { sandbox, http in
            let badKey = await Self.transport(http, key: "nope").send(webPush(1, to: Self.subscription(sandbox, "u-1")))
            #expect(kind(of: badKey) == "misconfigured" && reason(of: badKey).contains("VAPID private key"), "\(badKey)")
            let badSubject = await Self.transport(http, subject: "ops@example.com").send(webPush(1, to: Self.subscription(sandbox, "u-1")))
            #expect(kind(of: badSubject) == "misconfigured" && reason(of: badSubject).contains("mailto:"), "\(badSubject)")
            #expect(sandbox.log.messages.isEmpty)
            #expect(sandbox.log.requests.isEmpty)
        }
    }

    @Test func anOversizedPayloadIsRejectedBeforeEncryptionNeverCut() async throws {
        try await withSandbox { sandbox, http in
            let big = PushContent(title: "t", body: String(repeating: "x", count: 3990))
            let outcome = await Self.transport(http).send(webPush(1, to: Self.subscription(sandbox, "u-1"), content: big))
            #expect(kind(of: outcome) == "rejected", "\(outcome)")
            #expect(reason(of: outcome).contains("at most 3993"), "\(outcome)")
            #expect(sandbox.log.messages.isEmpty)
        }
    }

    @Test func brokenSubscriptionsAreDeadAndAnExpiredMessageIsRejected() async throws {
        try await withSandbox { sandbox, http in
            let good = Self.subscription(sandbox, "u-1")
            let outcomes = await Self.transport(http).send([
                webPush(1, to: WebPushSubscription(endpoint: good.endpoint, p256dh: "AAAA", auth: good.auth)),
                webPush(2, to: WebPushSubscription(endpoint: good.endpoint, p256dh: good.p256dh, auth: "AAAA")),
                webPush(3, to: WebPushSubscription(endpoint: "not a url", p256dh: good.p256dh, auth: good.auth)),
                webPush(4, to: nil),
                webPush(5, to: good, expiresAt: Date().addingTimeInterval(-5)),
            ])
            #expect(outcomes.map(kind(of:)) == ["deadAddress", "deadAddress", "deadAddress", "rejected", "rejected"], "\(outcomes)")
            #expect(sandbox.log.messages.isEmpty)
        }
    }

    // MARK: What the sandbox refuses, sent raw

    /// A request as the transport would build it, with parts replaced.
    static func request(
        to subscription: WebPushSubscription, key: P256.Signing.PrivateKey, audience: String? = nil, expires: Date = Date().addingTimeInterval(3600),
        tamper: Bool = false, ttl: String? = "60", body: Data? = nil
    ) throws -> (headers: [(String, String)], body: Data) {
        let signer = VAPIDSigner(key: VAPIDKey(key), subject: "mailto:ops@example.com")
        var token = signer.token(audience: audience ?? VAPIDSigner.audience(of: subscription.endpoint)!, expires: expires)
        if tamper {
            // Another valid-looking signature: the same claims signed by another key.
            let other = VAPIDSigner(key: VAPIDKey(P256.Signing.PrivateKey()), subject: "mailto:ops@example.com")
            let forged = other.token(audience: audience ?? VAPIDSigner.audience(of: subscription.endpoint)!, expires: expires)
            token = token.split(separator: ".").prefix(2).joined(separator: ".") + "." + forged.split(separator: ".")[2]
        }
        let encrypted = try WebPushEncryptor.encrypt(
            Data("{}".utf8), userAgentPublicKey: Base64URL.decode(subscription.p256dh)!, authSecret: Base64URL.decode(subscription.auth)!
        )
        let payload = body ?? encrypted
        var headers: [(String, String)] = [
            ("Authorization", "vapid t=\(token), k=\(Base64URL.encode(key.publicKey.x963Representation))"), ("Content-Encoding", "aes128gcm"),
        ]
        if let ttl { headers.append(("TTL", ttl)) }
        return (headers, payload)
    }

    static func anyKeyConfiguration() -> Sandbox.Configuration {
        Sandbox.Configuration(accounts: SandboxAccounts(webPushVAPIDPublicKey: nil))
    }

    @Test func theSandboxRefusesAForgedSignatureAWrongAudienceAndAnExpiryPast24Hours() async throws {
        try await withSandbox(Self.anyKeyConfiguration()) { sandbox, _ in
            try await withRawClient { client in
                let subscription = Self.subscription(sandbox, "u-1")
                let key = P256.Signing.PrivateKey()
                let good = try Self.request(to: subscription, key: key)
                #expect(try await raw(client, subscription.endpoint, headers: good.headers, body: good.body).status == 201)
                let forged = try Self.request(to: subscription, key: key, tamper: true)
                let forgedAnswer = try await raw(client, subscription.endpoint, headers: forged.headers, body: forged.body)
                #expect(forgedAnswer.status == 401 && forgedAnswer.body.contains("signature does not verify"), "\(forgedAnswer)")
                let elsewhere = try Self.request(to: subscription, key: key, audience: "https://push.example.com")
                let elsewhereAnswer = try await raw(client, subscription.endpoint, headers: elsewhere.headers, body: elsewhere.body)
                #expect(elsewhereAnswer.status == 401 && elsewhereAnswer.body.contains("aud"), "\(elsewhereAnswer)")
                let late = try Self.request(to: subscription, key: key, expires: Date().addingTimeInterval(25 * 3600))
                let lateAnswer = try await raw(client, subscription.endpoint, headers: late.headers, body: late.body)
                #expect(lateAnswer.status == 401 && lateAnswer.body.contains("24 hours"), "\(lateAnswer)")
                let expired = try Self.request(to: subscription, key: key, expires: Date().addingTimeInterval(-60))
                #expect(try await raw(client, subscription.endpoint, headers: expired.headers, body: expired.body).status == 401)
                #expect(sandbox.log.messages.count == 1)
            }
        }
    }

    @Test func theSandboxRefusesAMissingTTLABodyItCannotDecryptAndOneOver4096Bytes() async throws {
        try await withSandbox(Self.anyKeyConfiguration()) { sandbox, _ in
            try await withRawClient { client in
                let subscription = Self.subscription(sandbox, "u-1")
                let key = P256.Signing.PrivateKey()
                let noTTL = try Self.request(to: subscription, key: key, ttl: nil)
                let noTTLAnswer = try await raw(client, subscription.endpoint, headers: noTTL.headers, body: noTTL.body)
                #expect(noTTLAnswer.status == 400 && json(noTTLAnswer.body)["errno"] as? Int == 111, "\(noTTLAnswer)")
                // Encrypted for another subscription's keys.
                let other = Self.subscription(sandbox, "u-2")
                let misdirected = try Self.request(to: subscription, key: key, body: try Self.request(to: other, key: key).body)
                let misdirectedAnswer = try await raw(client, subscription.endpoint, headers: misdirected.headers, body: misdirected.body)
                #expect(misdirectedAnswer.status == 400 && misdirectedAnswer.body.contains("does not decrypt"), "\(misdirectedAnswer)")
                let huge = try Self.request(to: subscription, key: key, body: Data(count: 4097))
                #expect(try await raw(client, subscription.endpoint, headers: huge.headers, body: huge.body).status == 413)
                #expect(sandbox.log.messages.isEmpty)
            }
        }
    }

    @Test func everyStatusOfProvidersSection5MapsToItsOutcome() {
        let answer = ProviderHTTPClient.Answer(status: 413, body: Data(#"{"code":413,"errno":104,"message":"Data payload too large"}"#.utf8))
        #expect(WebPushClassifier.outcome(answer, now: Date()) == .rejected(reason: "webpush 413: the push service refused the payload as too large: Data payload too large (errno 104)"))
        let notFound = ProviderHTTPClient.Answer(status: 404, body: Data("no such subscription".utf8))
        #expect(kind(of: WebPushClassifier.outcome(notFound, now: Date())) == "deadAddress")
        let badRequest = ProviderHTTPClient.Answer(status: 400, body: Data())
        #expect(kind(of: WebPushClassifier.outcome(badRequest, now: Date())) == "rejected")
        let unauthorized = ProviderHTTPClient.Answer(status: 401, body: Data())
        #expect(kind(of: WebPushClassifier.outcome(unauthorized, now: Date())) == "misconfigured")
    }
}
