import AsyncHTTPClient
import Crypto
import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox
import HeraldTesting
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

/// The APNs transport against the sandbox's APNs emulator: HTTP/2 over TLS on loopback, the
/// sandbox's certificate authority trusted, real ES256 JWTs.
@Suite(.timeLimit(.minutes(4)))
struct APNsTransportTests {
    static let sandboxConfiguration = Sandbox.Configuration(smtpPort: nil, recordsRequests: true, apnsPort: 0)

    /// A request that waits for the connection (APNs takes one stream until the first valid
    /// token) waits against the connect timeout; the tests of this target share two busy event
    /// loops, so that wait is longer than the 5 s default allows.
    static let client = ProviderHTTPClient.Configuration(connectTimeout: .seconds(30))

    static func transport(
        _ sandbox: RunningSandbox, _ http: ProviderHTTPClient, clock: any WallClock = SystemWallClock(),
        privateKeyPEM: String = SandboxAccounts.sandboxAPNsPrivateKeyPEM, topic: String = SandboxAccounts.sandboxAPNsTopic, concurrency: Int = 100
    ) throws -> APNsTransport {
        try APNsTransport(name: "apns", configuration: APNsTransport.Configuration(
            keyID: sandbox.accounts.apnsKeyID, teamID: sandbox.accounts.apnsTeamID, privateKeyPEM: privateKeyPEM, topic: topic,
            baseURL: try #require(sandbox.apnsURL), certificateAuthorityFile: sandbox.certificateAuthorityFile, concurrency: concurrency
        ), http: http, clock: clock)
    }

    /// A 64-hex-digit device token.
    static func deviceToken(_ number: Int) -> String {
        String(repeating: "0", count: 48) + String(format: "%016x", number)
    }

    static func push(_ id: Int64, to token: String, _ content: PushContent = PushContent(title: "Order", body: "Your order has shipped"), expiresAt: Date? = nil) -> OutboundMessage {
        OutboundMessage(
            notificationID: id, occurrenceID: 1, campaignID: "order-shipped", userID: "u-\(id)", channel: .push, category: "transactional",
            provider: "apns", address: token, content: .push(content), attempt: 1, expiresAt: expiresAt
        )
    }

    /// The `authorization` headers the sandbox received, in order.
    static func authorizations(_ sandbox: RunningSandbox) -> [String] {
        sandbox.log.requests.filter { $0.provider == .apns }.compactMap { $0.headers["authorization"] }
    }

    /// The claims of a `bearer <JWT>` header.
    static func claims(_ authorization: String) -> [String: Any] {
        let parts = authorization.dropFirst("bearer ".count).split(separator: ".")
        guard parts.count == 3 else { return [:] }
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64.append("=") }
        return Data(base64Encoded: base64).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
    }

    /// herald.yml's `timeout:` gives a provider a ``ProviderHTTPClient`` of its own that only its
    /// transport holds: the transport keeps it, and with it its connection, alive.
    @Test func aTransportKeepsAClientThatNobodyElseHolds() async throws {
        try await withSandbox(Self.sandboxConfiguration, client: Self.client) { sandbox, _ in
            let transport = try Self.transport(sandbox, ProviderHTTPClient(configuration: Self.client))
            for round in 0..<2 {
                let outcomes = await transport.send((1...30).map { Self.push(Int64(round * 100 + $0), to: Self.deviceToken($0)) })
                #expect(outcomes.allSatisfy { if case .accepted = $0 { true } else { false } }, "\(outcomes)")
            }
            #expect(sandbox.log.messages.count == 60)
        }
    }

    @Test func anAlertIsAcceptedWithItsHeadersAndPayloadAsAPNsWantsThem() async throws {
        try await withSandbox(Self.sandboxConfiguration, client: Self.client) { sandbox, http in
            let clock = ManualClock(Date())
            let content = PushContent(
                title: "Winter sale", body: "Größe 42 is back 🎉", url: "https://shop.example.com/s/42", data: ["order": "42", "kind": "sale"],
                badge: 3, sound: "default", category: "SALE", threadID: "sales", image: "https://cdn.example.com/42.png", ttl: 3600,
                collapseKey: "sale-42"
            )
            let message = Self.push(1, to: Self.deviceToken(1), content)
            let outcome = try await Self.transport(sandbox, http, clock: clock).send(message)
            #expect(outcome == .accepted(providerMessageID: message.idempotencyID.uuidString.lowercased()))
            let record = try #require(sandbox.log.messages.first)
            #expect(record.provider == .apns && record.to == Self.deviceToken(1) && record.from == SandboxAccounts.sandboxAPNsTopic)
            #expect(record.subject == "Winter sale" && record.text == "Größe 42 is back 🎉")
            #expect(record.headers["apns-push-type"] == "alert" && record.headers["apns-priority"] == "10")
            #expect(record.headers["apns-expiration"] == String(Int64(clock.now.timeIntervalSince1970) + 3600))
            #expect(record.headers["apns-collapse-id"] == "sale-42")
            #expect(record.metadata == ["order": "42", "kind": "sale", "url": "https://shop.example.com/s/42", "image": "https://cdn.example.com/42.png"])
            let payload = json(try #require(record.raw))
            let aps = try #require(payload["aps"] as? [String: Any])
            #expect((aps["alert"] as? [String: String]) == ["title": "Winter sale", "body": "Größe 42 is back 🎉"])
            #expect(aps["badge"] as? Int == 3 && aps["sound"] as? String == "default" && aps["category"] as? String == "SALE")
            #expect(aps["thread-id"] as? String == "sales" && aps["mutable-content"] as? Int == 1 && aps["content-available"] == nil)
            let request = try #require(sandbox.log.requests.first)
            #expect(request.path == "/3/device/\(Self.deviceToken(1))")
            #expect(request.headers["apns-id"] == message.idempotencyID.uuidString.lowercased())
            let claims = Self.claims(try #require(request.headers["authorization"]))
            #expect(claims["iss"] as? String == SandboxAccounts.sandboxAPNsTeamID)
            #expect((claims["iat"] as? NSNumber)?.int64Value == Int64(clock.now.timeIntervalSince1970))
        }
    }

    /// `apns-expiration` is the notification's expiry (`expires_after`), or the template's
    /// `ttl` when that ends first: APNs then stops retrying an offline device in time.
    @Test func apnsExpirationIsTheNotificationsExpiryOrTheTTLWhicheverEndsFirst() async throws {
        try await withSandbox(Self.sandboxConfiguration, client: Self.client) { sandbox, http in
            // A whole second now (the sandbox checks the JWT's iat against its own clock).
            let start = Int64(Date().timeIntervalSince1970)
            let clock = ManualClock(Date(timeIntervalSince1970: TimeInterval(start)))
            let transport = try Self.transport(sandbox, http, clock: clock)
            let expiry = clock.now.addingTimeInterval(7200.6)
            let plain = await transport.send(Self.push(1, to: Self.deviceToken(1), expiresAt: expiry))
            let withTTL = PushContent(title: "Order", body: "Shipped", ttl: 600)
            let shorter = await transport.send(Self.push(2, to: Self.deviceToken(2), withTTL, expiresAt: expiry))
            let longTTL = PushContent(title: "Order", body: "Shipped", ttl: 86_400)
            let longer = await transport.send(Self.push(3, to: Self.deviceToken(3), longTTL, expiresAt: expiry))
            for outcome in [plain, shorter, longer] {
                guard case .accepted = outcome else { Issue.record("\(outcome)"); return }
            }
            let expirations = Dictionary(uniqueKeysWithValues: sandbox.log.messages.map { ($0.to, $0.headers["apns-expiration"]) })
            #expect(expirations[Self.deviceToken(1)] == "\(start + 7200)")
            #expect(expirations[Self.deviceToken(2)] == "\(start + 600)")
            #expect(expirations[Self.deviceToken(3)] == "\(start + 7200)")
        }
    }

    /// An outage window of the fault plan: APNs answers 503 ServiceUnavailable, a retry after
    /// the plan's Retry-After, and nothing is delivered.
    @Test func anOutageIsARetryAndNothingIsDelivered() async throws {
        var configuration = Self.sandboxConfiguration
        configuration.faults = FaultPlan(providers: [.apns: ProviderFaults(outages: [.init(start: 0, end: 3600)], retryAfter: 20)])
        try await withSandbox(configuration, client: Self.client) { sandbox, http in
            let outcome = try await Self.transport(sandbox, http).send(Self.push(1, to: Self.deviceToken(1)))
            guard case .retry(let after, let reason) = outcome else { Issue.record("\(outcome)"); return }
            #expect(after == .seconds(20) && reason.contains("503"), "\(reason)")
            #expect(sandbox.log.count == 0)
        }
    }

    @Test func aSilentPushIsABackgroundPushAtPriorityFiveWithContentAvailableOnly() async throws {
        try await withSandbox(Self.sandboxConfiguration, client: Self.client) { sandbox, http in
            let content = PushContent(title: "ignored", body: "ignored", data: ["sync": "inbox"], badge: 1, priority: .high, silent: true)
            let outcome = try await Self.transport(sandbox, http).send(Self.push(1, to: Self.deviceToken(2), content))
            guard case .accepted = outcome else { Issue.record("\(outcome)"); return }
            let record = try #require(sandbox.log.messages.first)
            #expect(record.headers["apns-push-type"] == "background" && record.headers["apns-priority"] == "5")
            #expect(record.headers["apns-expiration"] == "0")
            let payload = json(try #require(record.raw))
            #expect((payload["aps"] as? [String: Int]) == ["content-available": 1])
            #expect(payload["sync"] as? String == "inbox")
        }
    }

    /// Several hundred pushes at once: every one accepted, all of them streams of one HTTP/2
    /// connection, several open at the same time. Each answer takes 50 ms; on one connection,
    /// two requests open at once can only be HTTP/2 streams (HTTP/1.1 would need a second
    /// connection, and async-http-client does not pipeline). How many overlap depends on how
    /// fast a debug build on a busy machine makes requests (about 10 ms each here), so the
    /// bound is low.
    @Test(.tags(.slow)) func hundredsOfConcurrentPushesShareOneHTTP2Connection() async throws {
        var configuration = Self.sandboxConfiguration
        configuration.faults = FaultPlan(providers: [.apns: ProviderFaults(latency: .fixed(50))])
        try await withSandbox(configuration, client: Self.client) { sandbox, http in
            let messages = (1...600).map { Self.push(Int64($0), to: Self.deviceToken($0)) }
            let outcomes = try await Self.transport(sandbox, http, concurrency: 200).send(messages)
            #expect(outcomes.allSatisfy { kind(of: $0) == "accepted" }, "\(outcomes.first { kind(of: $0) != "accepted" }.map { "\($0)" } ?? "")")
            #expect(sandbox.log.count == 600)
            #expect(sandbox.apnsConnectionCount == 1)
            #expect(sandbox.apnsPeakConcurrentStreams >= 3, "peak streams \(sandbox.apnsPeakConcurrentStreams)")
            // One token for all of them.
            #expect(Set(Self.authorizations(sandbox)).count == 1)
        }
    }

    /// The emulator speaks HTTP/2 only, and a client that trusts the sandbox's authority gets it.
    @Test func theEmulatorAnswersOverHTTP2WithAPNsReasonBodies() async throws {
        try await withSandbox(Self.sandboxConfiguration, client: Self.client) { sandbox, _ in
            let certificates = try NIOSSLCertificate.fromPEMFile(try #require(sandbox.certificateAuthorityFile))
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(certificates)
            var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
            configuration.httpVersion = .automatic
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            do {
                let result = try await Self.rawRequest(client, url: try #require(sandbox.apnsURL) + "/3/device/" + Self.deviceToken(1), headers: [
                    ("apns-topic", SandboxAccounts.sandboxAPNsTopic), ("apns-push-type", "alert"),
                ], body: "{\"aps\":{\"alert\":\"hi\"}}")
                #expect(result.version == .http2)
                #expect(result.status == 403 && json(result.body)["reason"] as? String == "MissingProviderToken")
                try await client.shutdown()
            } catch {
                try? await client.shutdown()
                throw error
            }
            // A client limited to HTTP/1.1 gets no answer at all, as from APNs.
            var http1 = HTTPClient.Configuration(tlsConfiguration: tls)
            http1.httpVersion = .http1Only
            let old = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: http1)
            let url = try #require(sandbox.apnsURL) + "/3/device/" + Self.deviceToken(1)
            await #expect(throws: (any Error).self) {
                _ = try await Self.rawRequest(old, url: url, headers: [], body: "{}")
            }
            try await old.shutdown()
        }
    }

    /// Requests that the transport never sends, refused by the emulator with APNs's reasons.
    @Test func theEmulatorRefusesBadRequestsWithAPNsReasons() async throws {
        try await withSandbox(Self.sandboxConfiguration, client: Self.client) { sandbox, _ in
            let client = try Self.trustingClient(sandbox)
            do {
                let signer = try APNsProviderToken(
                    keyID: SandboxAccounts.sandboxAPNsKeyID, teamID: SandboxAccounts.sandboxAPNsTeamID,
                    privateKeyPEM: SandboxAccounts.sandboxAPNsPrivateKeyPEM, clock: SystemWallClock()
                )
                let bearer = "bearer " + signer.current().jwt
                let url = try #require(sandbox.apnsURL) + "/3/device/" + Self.deviceToken(1)
                let topic = ("apns-topic", SandboxAccounts.sandboxAPNsTopic)
                let alert = "{\"aps\":{\"alert\":\"hi\"}}"
                let cases: [([(String, String)], String, Int, String)] = [
                    ([("authorization", bearer), topic], alert, 400, "InvalidPushType"),
                    ([("authorization", bearer), topic, ("apns-push-type", "shout")], alert, 400, "InvalidPushType"),
                    ([("authorization", bearer), topic, ("apns-push-type", "background"), ("apns-priority", "10")], alert, 400, "BadPriority"),
                    ([("authorization", bearer), topic, ("apns-push-type", "alert"), ("apns-id", "not-a-uuid")], alert, 400, "BadMessageId"),
                    ([("authorization", bearer), topic, ("apns-push-type", "alert"), ("apns-expiration", "soon")], alert, 400, "BadExpirationDate"),
                    ([("authorization", bearer), topic, ("apns-push-type", "alert"), ("apns-collapse-id", String(repeating: "c", count: 65))], alert, 400, "BadCollapseId"),
                    ([("authorization", bearer), ("apns-push-type", "alert")], alert, 400, "MissingTopic"),
                    ([("authorization", bearer), topic, ("apns-push-type", "alert")], "", 400, "PayloadEmpty"),
                    ([("authorization", bearer), topic, ("apns-push-type", "alert")], "{\"aps\":", 400, "BadPayload"),
                    ([("authorization", bearer), topic, ("apns-push-type", "alert")], "{\"aps\":{\"alert\":\"\(String(repeating: "x", count: 4100))\"}}", 413, "PayloadTooLarge"),
                    // Past both HTTP/2 receive windows (65,535 bytes): read to its end all the same.
                    ([("authorization", bearer), topic, ("apns-push-type", "alert")], "{\"aps\":{\"alert\":\"\(String(repeating: "x", count: 200_000))\"}}", 413, "PayloadTooLarge"),
                    ([("authorization", "bearer not.a.jwt"), topic, ("apns-push-type", "alert")], alert, 403, "InvalidProviderToken"),
                ]
                for (headers, body, status, reason) in cases {
                    let answer = try await Self.rawRequest(client, url: url, headers: headers, body: body)
                    #expect(answer.status == status && json(answer.body)["reason"] as? String == reason, "\(headers): \(answer)")
                }
                for path in ["/3/device/\(Self.deviceToken(1))/more", "/3/devices/\(Self.deviceToken(1))", "/2/device/\(Self.deviceToken(1))", "/3/device"] {
                    let answer = try await Self.rawRequest(
                        client, url: try #require(sandbox.apnsURL) + path, headers: [("authorization", bearer), topic, ("apns-push-type", "alert")], body: alert
                    )
                    #expect(answer.status == 404 && json(answer.body)["reason"] as? String == "BadPath", "\(path): \(answer)")
                }
                // A second token minted within 20 minutes on the same connection.
                let other = try APNsProviderToken(
                    keyID: SandboxAccounts.sandboxAPNsKeyID, teamID: SandboxAccounts.sandboxAPNsTeamID,
                    privateKeyPEM: SandboxAccounts.sandboxAPNsPrivateKeyPEM, clock: SystemWallClock()
                )
                let update = try await Self.rawRequest(client, url: url, headers: [("authorization", "bearer " + other.current().jwt), topic, ("apns-push-type", "alert")], body: alert)
                #expect(update.status == 429 && json(update.body)["reason"] as? String == "TooManyProviderTokenUpdates", "\(update)")
                #expect(sandbox.apnsConnectionCount == 1)
                #expect(sandbox.log.count == 0)
                try await client.shutdown()
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
    }

    /// The published sandbox key pair is one pair: what `herald init` writes as the demo .p8
    /// signs tokens the sandbox accepts.
    @Test func theSandboxDemoKeyPairMatches() throws {
        let key = try P256.Signing.PrivateKey(pemRepresentation: SandboxAccounts.sandboxAPNsPrivateKeyPEM)
        let published = try P256.Signing.PublicKey(pemRepresentation: SandboxAccounts.sandboxAPNsPublicKeyPEM)
        #expect(key.publicKey.rawRepresentation == published.rawRepresentation)
        #expect(SandboxAccounts.sandboxAPNsKeyID.count == 10 && SandboxAccounts.sandboxAPNsTeamID.count == 10)
    }

    /// An HTTP client that trusts the sandbox's certificate authority.
    static func trustingClient(_ sandbox: RunningSandbox) throws -> HTTPClient {
        let certificates = try NIOSSLCertificate.fromPEMFile(try #require(sandbox.certificateAuthorityFile))
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(certificates)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: HTTPClient.Configuration(tlsConfiguration: tls))
    }

    static func rawRequest(_ client: HTTPClient, url: String, headers: [(String, String)], body: String) async throws -> (version: HTTPVersion, status: Int, body: String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(30))
        let data = try await response.body.collect(upTo: 1 << 20)
        return (response.version, Int(response.status.code), String(buffer: data))
    }

    /// One JWT for 50 minutes of the injected clock, then a new one (which the sandbox accepts:
    /// its `iat` is 20 minutes or more after the first's on the same connection).
    @Test func theJWTIsReusedForFiftyMinutesThenRefreshed() async throws {
        try await withSandbox(Self.sandboxConfiguration, client: Self.client) { sandbox, http in
            let clock = ManualClock(Date())
            let start = Int64(clock.now.timeIntervalSince1970)
            let transport = try Self.transport(sandbox, http, clock: clock)
            var outcomes = [await transport.send(Self.push(1, to: Self.deviceToken(1)))]
            clock.advance(by: 30 * 60)
            outcomes.append(await transport.send(Self.push(2, to: Self.deviceToken(2))))
            clock.advance(by: 19 * 60 + 59)
            outcomes.append(await transport.send(Self.push(3, to: Self.deviceToken(3))))
            clock.advance(by: 1)
            outcomes.append(await transport.send(Self.push(4, to: Self.deviceToken(4))))
            #expect(outcomes.allSatisfy { kind(of: $0) == "accepted" }, "\(outcomes)")
            let seen = Self.authorizations(sandbox)
            #expect(seen.count == 4)
            #expect(seen[0] == seen[1] && seen[1] == seen[2])
            #expect(seen[3] != seen[0])
            #expect((Self.claims(seen[0])["iat"] as? NSNumber)?.int64Value == start)
            #expect((Self.claims(seen[3])["iat"] as? NSNumber)?.int64Value == start + 50 * 60)
        }
    }

    /// A token APNs declares expired is replaced and the push sent once more, and accepted.
    @Test func expiredProviderTokenIsRefreshedAndThePushRetriedOnce() async throws {
        try await withSandbox(Self.sandboxConfiguration, client: Self.client) { sandbox, http in
            let transport = try Self.transport(sandbox, http, clock: ManualClock(Date()))
            let first = await transport.send(Self.push(1, to: Self.deviceToken(1)))
            guard case .accepted = first else { Issue.record("\(first)"); return }
            sandbox.expireAPNsProviderTokens()
            let second = await transport.send(Self.push(2, to: Self.deviceToken(2)))
            guard case .accepted = second else { Issue.record("\(second)"); return }
            let seen = Self.authorizations(sandbox)
            #expect(seen.count == 3)
            #expect(seen[0] == seen[1] && seen[2] != seen[1])
            #expect(sandbox.log.count == 2)
        }
    }

    /// A burst of pushes that all meet the expired token mints one new token between them (a
    /// second one on the connection would get 429 TooManyProviderTokenUpdates).
    @Test func aBurstAfterExpiryMintsOneNewToken() async throws {
        try await withSandbox(Self.sandboxConfiguration, client: Self.client) { sandbox, http in
            let transport = try Self.transport(sandbox, http, clock: ManualClock(Date()))
            let first = await transport.send(Self.push(1, to: Self.deviceToken(1)))
            guard case .accepted = first else { Issue.record("\(first)"); return }
            sandbox.expireAPNsProviderTokens()
            let outcomes = await transport.send((2...61).map { Self.push(Int64($0), to: Self.deviceToken($0)) })
            #expect(outcomes.allSatisfy { kind(of: $0) == "accepted" }, "\(outcomes.first { kind(of: $0) != "accepted" }.map { "\($0)" } ?? "")")
            #expect(Set(Self.authorizations(sandbox)).count == 2)
            #expect(sandbox.log.count == 61)
        }
    }

    /// A clock an hour and more behind: every token it mints is expired; one retry, then misconfigured.
    @Test func aTokenThatStaysExpiredIsMisconfigurationAfterOneRetry() async throws {
        try await withSandbox(Self.sandboxConfiguration, client: Self.client) { sandbox, http in
            let transport = try Self.transport(sandbox, http, clock: ManualClock(Date().addingTimeInterval(-2 * 3600)))
            let outcome = await transport.send(Self.push(1, to: Self.deviceToken(1)))
            #expect(kind(of: outcome) == "misconfigured" && reason(of: outcome).contains("403 ExpiredProviderToken"), "\(outcome)")
            #expect(Self.authorizations(sandbox).count == 2)
            #expect(sandbox.log.count == 0)
        }
    }

    @Test func aJWTSignedWithAnotherKeyIsRefusedAsInvalidProviderToken() async throws {
        try await withSandbox(Self.sandboxConfiguration, client: Self.client) { sandbox, http in
            let otherKey = P256.Signing.PrivateKey().pemRepresentation
            let outcome = try await Self.transport(sandbox, http, privateKeyPEM: otherKey).send(Self.push(1, to: Self.deviceToken(1)))
            #expect(kind(of: outcome) == "misconfigured" && reason(of: outcome).contains("apns 403 InvalidProviderToken"), "\(outcome)")
            #expect(Self.authorizations(sandbox).count == 2)
            #expect(sandbox.log.count == 0)
        }
    }

    @Test func aTopicOtherThanTheAppsIsRefusedAsTopicDisallowed() async throws {
        try await withSandbox(Self.sandboxConfiguration, client: Self.client) { sandbox, http in
            let outcome = try await Self.transport(sandbox, http, topic: "com.example.other").send(Self.push(1, to: Self.deviceToken(1)))
            #expect(kind(of: outcome) == "misconfigured" && reason(of: outcome).contains("apns 400 TopicDisallowed"), "\(outcome)")
            #expect(sandbox.log.count == 0)
        }
    }

    /// An unregistered token (the fault plan's `invalid` list) and a malformed one are dead;
    /// a token that is not hex is dead without a request.
    @Test func deadTokensAreDeadAddresses() async throws {
        var configuration = Self.sandboxConfiguration
        configuration.faults = FaultPlan(providers: [.apns: ProviderFaults(invalid: [Self.deviceToken(7)])])
        try await withSandbox(configuration, client: Self.client) { sandbox, http in
            let transport = try Self.transport(sandbox, http)
            let outcomes = await transport.send([
                Self.push(1, to: Self.deviceToken(7)), Self.push(2, to: String(Self.deviceToken(8).dropLast(2))), Self.push(3, to: "not-a-token"),
                Self.push(4, to: Self.deviceToken(9)),
            ])
            #expect(kind(of: outcomes[0]) == "deadAddress" && reason(of: outcomes[0]).contains("apns 410 Unregistered"), "\(outcomes[0])")
            #expect(kind(of: outcomes[1]) == "deadAddress" && reason(of: outcomes[1]).contains("apns 400 BadDeviceToken"), "\(outcomes[1])")
            #expect(kind(of: outcomes[2]) == "deadAddress" && reason(of: outcomes[2]).contains("not an APNs device token"), "\(outcomes[2])")
            #expect(kind(of: outcomes[3]) == "accepted")
            #expect(Self.authorizations(sandbox).count == 3)
        }
    }

    @Test func aPayloadOverFourKilobytesIsRejectedWithoutARequest() async throws {
        try await withSandbox(Self.sandboxConfiguration, client: Self.client) { sandbox, http in
            let content = PushContent(title: "Long", body: String(repeating: "x", count: 4100))
            let outcome = try await Self.transport(sandbox, http).send(Self.push(1, to: Self.deviceToken(1), content))
            let size = APNsPayload.encode(content).count
            #expect(outcome == .rejected(reason: "the APNs payload is \(size) bytes; APNs takes at most 4096 (shorten the title, body or data)"))
            #expect(sandbox.log.requests.isEmpty)
            // Just under the limit goes through whole.
            let fits = PushContent(body: String(repeating: "y", count: 4096 - APNsPayload.encode(PushContent(body: "")).count))
            #expect(APNsPayload.encode(fits).count == 4096)
            let accepted = try await Self.transport(sandbox, http).send(Self.push(2, to: Self.deviceToken(2), fits))
            #expect(kind(of: accepted) == "accepted", "\(accepted)")
        }
    }

    @Test func tooManyRequestsIsARetryThatTheThrottleRecognises() async throws {
        var configuration = Self.sandboxConfiguration
        configuration.faults = FaultPlan(providers: [.apns: ProviderFaults(errorRates: [429: 1], retryAfter: 7)])
        try await withSandbox(configuration, client: Self.client) { sandbox, http in
            let outcome = try await Self.transport(sandbox, http).send(Self.push(1, to: Self.deviceToken(1)))
            guard case .throttled(let after, let reason) = outcome else { Issue.record("\(outcome)"); return }
            #expect(after == .seconds(7))
            #expect(reason.hasPrefix("provider 429 TooManyRequests"), "\(reason)")
        }
    }

    @Test func anAnswerThatIsNotAPNsJSONIsARetryThatSaysWhatCame() async throws {
        var configuration = Self.sandboxConfiguration
        configuration.faults = FaultPlan(providers: [.apns: ProviderFaults(errorRates: [502: 1])])
        try await withSandbox(configuration, client: Self.client) { sandbox, http in
            let outcome = try await Self.transport(sandbox, http).send(Self.push(1, to: Self.deviceToken(1)))
            guard case .retry(_, let reason) = outcome else { Issue.record("\(outcome)"); return }
            #expect(reason.hasPrefix("apns 502: an unexpected answer: <html>"), "\(reason)")
            #expect(reason.contains("not an APNs error body"))
        }
    }

    @Test func anUnavailableServiceIsARetry() async throws {
        var configuration = Self.sandboxConfiguration
        configuration.faults = FaultPlan(providers: [.apns: ProviderFaults(errorRates: [503: 1])])
        try await withSandbox(configuration, client: Self.client) { sandbox, http in
            let outcome = try await Self.transport(sandbox, http).send(Self.push(1, to: Self.deviceToken(1)))
            #expect(kind(of: outcome) == "retry" && reason(of: outcome) == "apns 503 ServiceUnavailable", "\(outcome)")
        }
    }

    @Test func aKeyFileThatIsNotAP8IsAClearError() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-key-\(UUID()).p8").path
        try "hello".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: APNsConfigurationError.self) { try APNsTransport.Configuration.readPrivateKey(atPath: path) }
        #expect(throws: APNsConfigurationError.self) { try APNsTransport.Configuration.readPrivateKey(atPath: path + ".missing") }
        #expect(throws: APNsConfigurationError.self) {
            try APNsTransport(name: "apns", configuration: .init(keyID: "K", teamID: "T", privateKeyPEM: "nope", topic: "a.b"), http: ProviderHTTPClient())
        }
    }
}

/// The classification table of providers.md section 1, answer by answer.
struct APNsClassifierTests {
    @Test(arguments: [
        (400, "BadDeviceToken", "deadAddress"), (400, "DeviceTokenNotForTopic", "deadAddress"), (410, "Unregistered", "deadAddress"),
        (410, "ExpiredToken", "deadAddress"), (400, "BadCollapseId", "rejected"), (400, "BadExpirationDate", "rejected"),
        (400, "BadMessageId", "rejected"), (400, "BadPriority", "rejected"), (400, "DuplicateHeaders", "rejected"),
        (400, "InvalidPushType", "rejected"), (400, "PayloadEmpty", "rejected"), (400, "MissingDeviceToken", "rejected"),
        (400, "BadTopic", "misconfigured"), (400, "TopicDisallowed", "misconfigured"), (400, "MissingTopic", "misconfigured"),
        (400, "IdleTimeout", "retry"), (403, "ExpiredProviderToken", "misconfigured"), (403, "InvalidProviderToken", "misconfigured"),
        (403, "MissingProviderToken", "misconfigured"), (403, "UnrelatedKeyIdInToken", "misconfigured"),
        (403, "BadEnvironmentKeyIdInToken", "misconfigured"), (403, "Forbidden", "misconfigured"), (404, "BadPath", "misconfigured"),
        (405, "MethodNotAllowed", "rejected"), (413, "PayloadTooLarge", "rejected"), (429, "TooManyRequests", "throttled"),
        (429, "TooManyProviderTokenUpdates", "throttled"), (500, "InternalServerError", "retry"), (503, "ServiceUnavailable", "retry"),
        (503, "Shutdown", "retry"),
    ])
    func everyDocumentedReasonMapsToItsOutcome(status: Int, reasonText: String, expected: String) {
        let answer = ProviderHTTPClient.Answer(status: status, body: Data("{\"reason\":\"\(reasonText)\"}".utf8))
        let outcome = APNsClassifier.outcome(answer, now: Date())
        #expect(kind(of: outcome) == expected, "\(outcome)")
        #expect(reason(of: outcome).contains(reasonText))
        if status == 429 { #expect(reason(of: outcome).hasPrefix("provider 429 ")) }
    }

    @Test func unreadableAnswersAreRetriesThatQuoteTheBody() {
        for body in ["", "{", "[1,2]", "{\"reason\": 5}", String(repeating: "\u{1}", count: 10)] {
            let outcome = APNsClassifier.outcome(ProviderHTTPClient.Answer(status: 400, body: Data(body.utf8)), now: Date())
            #expect(kind(of: outcome) == "retry" && reason(of: outcome).contains("not an APNs error body"), "\(outcome)")
        }
        let throttled = APNsClassifier.outcome(ProviderHTTPClient.Answer(status: 429, body: Data("slow down".utf8)), now: Date())
        #expect(reason(of: throttled).hasPrefix("provider 429"))
        let accepted = APNsClassifier.outcome(ProviderHTTPClient.Answer(status: 200, headers: ["apns-id": "abc"], body: Data("garbage".utf8)), now: Date())
        #expect(accepted == .accepted(providerMessageID: "abc"))
    }
}
