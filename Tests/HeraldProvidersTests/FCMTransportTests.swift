import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox
import HeraldTesting
import Testing

func fcmPush(_ id: Int64, token: String, content: PushContent = PushContent(title: "Winter sale", body: "30% off until Sunday"), expiresAt: Date? = nil) -> OutboundMessage {
    OutboundMessage(
        notificationID: id, occurrenceID: 1, campaignID: "winter-sale", userID: "u-\(id)", channel: .push, provider: "fcm",
        address: token, content: .push(content), attempt: 1, expiresAt: expiresAt
    )
}

/// FCM HTTP v1 against the sandbox's emulator: the OAuth2 flow, the message, every error code.
@Suite(.timeLimit(.minutes(3)))
struct FCMTransportTests {
    static func configuration(_ sandbox: RunningSandbox, concurrency: Int = 32) throws -> FCMTransport.Configuration {
        let file = SandboxFCMServiceAccount.demo.serviceAccountJSON(sandboxBaseURL: sandbox.baseURL(for: .fcm))
        return try FCMTransport.Configuration(serviceAccountJSON: Data(file.utf8), baseURL: sandbox.baseURL(for: .fcm), concurrency: concurrency)
    }

    static func transport(_ sandbox: RunningSandbox, _ http: ProviderHTTPClient, clock: any WallClock = SystemWallClock()) throws -> FCMTransport {
        FCMTransport(name: "fcm", configuration: try configuration(sandbox), http: http, clock: clock)
    }

    /// The requests the sandbox saw: token requests and sends.
    static func counts(_ sandbox: RunningSandbox) -> Counts {
        let requests = sandbox.log.requests.filter { $0.provider == .fcm }
        return Counts(tokens: requests.filter { $0.path == "/token" }.count, sends: requests.filter { $0.path.hasSuffix("messages:send") }.count)
    }

    struct Counts: Equatable, CustomStringConvertible {
        var tokens: Int
        var sends: Int
        var description: String { "\(tokens) token requests, \(sends) sends" }
    }

    static func recording(clock: ManualClock? = nil, faults: FaultPlan = FaultPlan()) -> Sandbox.Configuration {
        var configuration = Sandbox.Configuration(faults: faults, recordsRequests: true)
        if let clock { configuration.clock = clock }
        return configuration
    }

    @Test func aPushIsSentWithAnAccessTokenFromTheServiceAccountFlow() async throws {
        try await withSandbox(Self.recording()) { sandbox, http in
            let outcome = try await Self.transport(sandbox, http).send(fcmPush(1, token: "device-token-1"))
            guard case .accepted(let name) = outcome else { Issue.record("\(outcome)"); return }
            #expect(name.hasPrefix("projects/herald-sandbox-demo/messages/0:"))
            let recorded = try #require(sandbox.log.messages.first)
            #expect(recorded.provider == .fcm && recorded.to == "device-token-1" && recorded.providerMessageID == name)
            #expect(recorded.subject == "Winter sale" && recorded.text == "30% off until Sunday")
            #expect(Self.counts(sandbox) == Counts(tokens: 1, sends: 1))
            let token = try #require(sandbox.log.requests.first { $0.path == "/token" })
            let form = String(decoding: token.body, as: UTF8.self)
            #expect(form.hasPrefix("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="))
        }
    }

    @Test func theMessageCarriesTheTemplatesPushFieldsInEachPlatformsBlock() async throws {
        try await withSandbox(Self.recording()) { sandbox, http in
            let content = PushContent(
                title: "Größe 42", body: "is back 🎉", url: "https://shop.example.com/p/42", data: ["sku": "42"], badge: 2, sound: "default",
                category: "RESTOCK", threadID: "restock", image: "https://cdn.example.com/42.png", ttl: 600, collapseKey: "restock-42",
                priority: .normal
            )
            let outcome = try await Self.transport(sandbox, http).send(fcmPush(1, token: "t1", content: content))
            guard case .accepted = outcome else { Issue.record("\(outcome)"); return }
            let message = json(try #require(sandbox.log.messages.first?.raw))
            #expect(message["data"] as? [String: String] == ["sku": "42", "url": "https://shop.example.com/p/42"])
            #expect(message["notification"] as? [String: String] == ["title": "Größe 42", "body": "is back 🎉", "image": "https://cdn.example.com/42.png"])
            let android = try #require(message["android"] as? [String: Any])
            #expect(android["priority"] as? String == "normal" && android["ttl"] as? String == "600s" && android["collapseKey"] as? String == "restock-42")
            let notification = try #require(android["notification"] as? [String: Any])
            #expect(notification["sound"] as? String == "default" && notification["tag"] as? String == "restock")
            #expect(notification["clickAction"] as? String == "RESTOCK" && notification["notificationCount"] as? Int == 2)
            let apns = try #require(message["apns"] as? [String: Any])
            let headers = try #require(apns["headers"] as? [String: String])
            #expect(headers["apns-priority"] == "5" && headers["apns-push-type"] == "alert" && headers["apns-collapse-id"] == "restock-42")
            #expect(headers["apns-expiration"].flatMap(Int.init).map { abs($0 - Int(Date().timeIntervalSince1970) - 600) < 30 } == true)
            let aps = try #require((apns["payload"] as? [String: Any])?["aps"] as? [String: Any])
            #expect(aps["badge"] as? Int == 2 && aps["sound"] as? String == "default" && aps["category"] as? String == "RESTOCK")
            #expect(aps["thread-id"] as? String == "restock" && aps["mutable-content"] as? Int == 1)
            let webpush = try #require(message["webpush"] as? [String: Any])
            #expect(webpush["headers"] as? [String: String] == ["TTL": "600", "Urgency": "normal", "Topic": "restock-42"])
        }
    }

    @Test func aSilentPushIsDataOnlyWithBackgroundPriority() async throws {
        try await withSandbox(Self.recording()) { sandbox, http in
            let content = PushContent(title: "not shown", body: "not shown", data: ["sync": "inbox"], silent: true)
            let outcome = try await Self.transport(sandbox, http).send(fcmPush(1, token: "t1", content: content))
            guard case .accepted = outcome else { Issue.record("\(outcome)"); return }
            let message = json(try #require(sandbox.log.messages.first?.raw))
            #expect(message["notification"] == nil)
            #expect(message["data"] as? [String: String] == ["sync": "inbox"])
            let android = try #require(message["android"] as? [String: Any])
            #expect(android["priority"] as? String == "normal" && android["notification"] == nil)
            let apns = try #require(message["apns"] as? [String: Any])
            #expect((apns["headers"] as? [String: String])?["apns-priority"] == "5")
            #expect((apns["headers"] as? [String: String])?["apns-push-type"] == "background")
            #expect(((apns["payload"] as? [String: Any])?["aps"] as? [String: Any])?["content-available"] as? Int == 1)
        }
    }

    @Test func theAccessTokenIsReusedAndRefreshedAFewMinutesBeforeItExpires() async throws {
        let clock = ManualClock(Date())
        try await withSandbox(Self.recording(clock: clock)) { sandbox, http in
            let fcm = try Self.transport(sandbox, http, clock: clock)
            #expect(kind(of: await fcm.send(fcmPush(1, token: "t1"))) == "accepted")
            clock.advance(by: 3000)
            #expect(kind(of: await fcm.send(fcmPush(2, token: "t1"))) == "accepted")
            #expect(Self.counts(sandbox) == Counts(tokens: 1, sends: 2), "still the first token, 10 minutes before it expires")
            clock.advance(by: 400)
            // 3,400 s after it was issued: the sandbox would still take the old token (3,599 s),
            // but fewer than 5 minutes are left, so the transport fetches a new one first.
            #expect(kind(of: await fcm.send(fcmPush(3, token: "t1"))) == "accepted")
            #expect(Self.counts(sandbox) == Counts(tokens: 2, sends: 3))
            clock.advance(by: 7200)
            #expect(kind(of: await fcm.send(fcmPush(4, token: "t1"))) == "accepted")
            #expect(Self.counts(sandbox) == Counts(tokens: 3, sends: 4), "a new token after a long pause, and no 401 on the way")
        }
    }

    @Test func a401GetsANewAccessTokenAndOneMoreTry() async throws {
        try await withSandbox(Self.recording()) { sandbox, http in
            let fcm = try Self.transport(sandbox, http)
            #expect(kind(of: await fcm.send(fcmPush(1, token: "t1"))) == "accepted")
            try await Self.revoke(sandbox)
            #expect(kind(of: await fcm.send(fcmPush(2, token: "t1"))) == "accepted")
            #expect(Self.counts(sandbox) == Counts(tokens: 2, sends: 3), "one refused send, one new token, one resend")
            #expect(sandbox.log.messages.count == 2)
        }
    }

    @Test func a401AgainWithANewAccessTokenIsMisconfiguration() async throws {
        try await withSandbox(Self.recording()) { sandbox, http in
            let fcm = try Self.transport(sandbox, http)
            #expect(kind(of: await fcm.send(fcmPush(1, token: "t1"))) == "accepted")
            try await Self.revoke(sandbox, query: "?mode=all")
            let outcome = await fcm.send(fcmPush(2, token: "t1"))
            #expect(kind(of: outcome) == "misconfigured", "\(outcome)")
            #expect(reason(of: outcome).hasPrefix("fcm 401 UNAUTHENTICATED: Request had invalid authentication credentials"), "\(outcome)")
            #expect(Self.counts(sandbox) == Counts(tokens: 2, sends: 3), "one retry only")
        }
    }

    @Test func concurrentSendsShareOneTokenRequestAndOneRefresh() async throws {
        try await withSandbox(Self.recording()) { sandbox, http in
            let fcm = try Self.transport(sandbox, http)
            let first = await fcm.send((1...40).map { fcmPush(Int64($0), token: "t\($0)") })
            #expect(first.allSatisfy { kind(of: $0) == "accepted" }, "\(first)")
            #expect(Self.counts(sandbox).tokens == 1)
            try await Self.revoke(sandbox)
            let second = await fcm.send((41...80).map { fcmPush(Int64($0), token: "t\($0)") })
            #expect(second.allSatisfy { kind(of: $0) == "accepted" }, "\(second)")
            #expect(Self.counts(sandbox).tokens == 2, "the sends refused at once made one refresh")
            #expect(sandbox.log.messages.count == 80)
        }
    }

    static func revoke(_ sandbox: RunningSandbox, query: String = "") async throws {
        let status = try await withRawClient { client in
            try await raw(client, sandbox.baseURL(for: .fcm) + "/sandbox/revoke" + query).status
        }
        #expect(status == 200)
    }

    /// providers.md section 2's table, code by code, with the sandbox's magic tokens.
    @Test(arguments: [
        ("UNREGISTERED", "deadAddress", "fcm 404 UNREGISTERED: "),
        ("INVALID_ARGUMENT", "deadAddress", "fcm 400 INVALID_ARGUMENT: The registration token is not a valid FCM registration token"),
        ("SENDER_ID_MISMATCH", "misconfigured", "fcm 403 SENDER_ID_MISMATCH: "),
        ("THIRD_PARTY_AUTH_ERROR", "misconfigured", "fcm 401 THIRD_PARTY_AUTH_ERROR: "),
        ("APNS_AUTH_ERROR", "misconfigured", "fcm 401 APNS_AUTH_ERROR: "),
        ("QUOTA_EXCEEDED", "throttled", "provider 429 (fcm 429 QUOTA_EXCEEDED: "),
        ("UNAVAILABLE", "retry", "fcm 503 UNAVAILABLE: "),
        ("INTERNAL", "retry", "fcm 500 INTERNAL: "),
        ("UNSPECIFIED_ERROR", "rejected", "fcm 500 UNSPECIFIED_ERROR: "),
        ("PERMISSION_DENIED", "misconfigured", "fcm 403 PERMISSION_DENIED: "),
    ])
    func everyErrorCodeMapsToItsClass(code: String, expected: String, prefix: String) async throws {
        try await withSandbox(Self.recording()) { sandbox, http in
            let outcome = try await Self.transport(sandbox, http).send(fcmPush(1, token: SandboxFCM.token(failingWith: code)))
            #expect(kind(of: outcome) == expected, "\(outcome)")
            #expect(reason(of: outcome).hasPrefix(prefix), "\(outcome)")
            if code == "QUOTA_EXCEEDED" { #expect(outcome == .throttled(after: .seconds(60), reason: reason(of: outcome))) }
            #expect(Self.counts(sandbox) == Counts(tokens: 1, sends: 1), "no new access token for an error that is not about it")
            #expect(sandbox.log.messages.isEmpty)
        }
    }

    @Test func aTokenInTheFaultPlansDeadListIsUnregistered() async throws {
        let faults = FaultPlan(providers: [.fcm: ProviderFaults(invalid: ["dead-token"])])
        try await withSandbox(Sandbox.Configuration(faults: faults)) { sandbox, http in
            let outcomes = try await Self.transport(sandbox, http).send([fcmPush(1, token: "dead-token"), fcmPush(2, token: "live-token")])
            #expect(outcomes.map(kind(of:)) == ["deadAddress", "accepted"], "\(outcomes)")
        }
    }

    @Test func injectedRateLimitsAndOutagesAreRetriesAndTheTokenEndpointStaysUp() async throws {
        let limited = FaultPlan(providers: [.fcm: ProviderFaults(errorRates: [429: 1], retryAfter: 7)])
        try await withSandbox(Self.recording(faults: limited)) { sandbox, http in
            let outcome = try await Self.transport(sandbox, http).send(fcmPush(1, token: "t1"))
            guard case .throttled(let after, let reason) = outcome else { Issue.record("\(outcome)"); return }
            #expect(after == .seconds(7))
            #expect(reason.hasPrefix("provider 429 (fcm 429 QUOTA_EXCEEDED"))
            // The token request got through; the send was answered by the fault plan, which
            // answers before the sandbox records a request.
            #expect(Self.counts(sandbox) == Counts(tokens: 1, sends: 0))
        }
        let outage = FaultPlan(providers: [.fcm: ProviderFaults(outages: [.init(start: 0, end: 3600)], retryAfter: 30)])
        try await withSandbox(Sandbox.Configuration(faults: outage)) { sandbox, http in
            let outcome = try await Self.transport(sandbox, http).send(fcmPush(1, token: "t1"))
            #expect(outcome == .retry(after: .seconds(30), reason: "fcm 503 UNAVAILABLE: The service is currently unavailable."))
        }
    }

    @Test func oversizedDataAndReservedKeysAreRejectedBeforeSending() async throws {
        try await withSandbox(Self.recording()) { sandbox, http in
            let outcomes = try await Self.transport(sandbox, http).send([
                fcmPush(1, token: "t1", content: PushContent(title: "t", body: "b", data: ["blob": String(repeating: "x", count: 3995)])),
                fcmPush(2, token: "t1", content: PushContent(body: "b", data: ["google.sent_time": "1"])),
                fcmPush(3, token: "", content: PushContent(body: "b")),
                fcmPush(4, token: "t1", expiresAt: Date().addingTimeInterval(-1)),
            ])
            #expect(outcomes.map(kind(of:)) == ["rejected", "rejected", "deadAddress", "rejected"], "\(outcomes)")
            #expect(reason(of: outcomes[0]) == "the FCM payload has 4001 bytes of data and notification text; at most 4000 are sent")
            #expect(reason(of: outcomes[1]).contains("'google.sent_time' is reserved"))
            #expect(Self.counts(sandbox).sends == 0)
        }
    }

    @Test func aServiceAccountTheTokenEndpointRefusesIsMisconfiguration() async throws {
        try await withSandbox { sandbox, http in
            var configuration = try Self.configuration(sandbox)
            configuration.serviceAccount.privateKey = Self.otherKey
            let outcome = await FCMTransport(name: "fcm", configuration: configuration, http: http).send(fcmPush(1, token: "t1"))
            #expect(outcome == .misconfigured(
                reason: "fcm token endpoint 400 invalid_grant: Invalid JWT Signature. (check the service-account file: client_email, private_key and token_uri)"
            ))
            configuration.serviceAccount.privateKey = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
            let unreadable = await FCMTransport(name: "fcm", configuration: configuration, http: http).send(fcmPush(1, token: "t1"))
            #expect(kind(of: unreadable) == "misconfigured" && reason(of: unreadable).contains("private_key is not an RSA private key"), "\(unreadable)")
            #expect(sandbox.log.messages.isEmpty)
        }
    }

    /// The HTTP client tries to connect again until its connect timeout ends (async-http-client's
    /// `retryConnectionEstablishment`), so the test's timeout is short: with the suite's 30 s it
    /// took 30 s here and over a minute on a loaded CI machine.
    @Test func aTokenEndpointThatCannotBeReachedIsARetry() async throws {
        try await withSandbox(client: ProviderHTTPClient.Configuration(connectTimeout: .seconds(2))) { sandbox, http in
            var configuration = try Self.configuration(sandbox)
            configuration.serviceAccount.tokenURI = "http://127.0.0.1:1/token"
            let outcome = await FCMTransport(name: "fcm", configuration: configuration, http: http).send(fcmPush(1, token: "t1"))
            #expect(kind(of: outcome) == "retry" && reason(of: outcome).hasPrefix("fcm token endpoint: "), "\(outcome)")
            #expect(sandbox.log.messages.isEmpty)
        }
    }

    @Test func aServiceAccountFileIsReadAndItsGapsNamed() throws {
        let file = SandboxFCMServiceAccount.demo.serviceAccountJSON(sandboxBaseURL: "http://127.0.0.1:9/fcm/")
        let account = try FCMServiceAccount(json: Data(file.utf8))
        #expect(account.projectID == "herald-sandbox-demo")
        #expect(account.clientEmail == SandboxFCMServiceAccount.demo.clientEmail)
        #expect(account.privateKeyID == "sandbox-demo-key-1")
        #expect(account.tokenURI == "http://127.0.0.1:9/fcm/token")
        #expect(throws: FCMConfigurationError("the service-account file has no client_email")) {
            try FCMServiceAccount(json: Data(#"{"type":"service_account","project_id":"p","private_key":"k"}"#.utf8))
        }
        #expect(throws: FCMConfigurationError.self) { try FCMServiceAccount(json: Data("[]".utf8)) }
    }

    @Test func answersThatAreNotFCMsAreClearRetriesOrMisconfiguration() {
        let html = ProviderHTTPClient.Answer(status: 502, body: Data("<html>Bad Gateway</html>".utf8))
        #expect(FCMClassifier.outcome(html, now: Date()) == .retry(after: nil, reason: "fcm 502: not FCM's error JSON: an unexpected answer: <html>Bad Gateway</html>"))
        let notFound = ProviderHTTPClient.Answer(status: 404, body: Data("Not Found".utf8))
        #expect(kind(of: FCMClassifier.outcome(notFound, now: Date())) == "misconfigured")
        let okGarbage = ProviderHTTPClient.Answer(status: 200, body: Data("ok".utf8))
        #expect(FCMClassifier.outcome(okGarbage, now: Date()) == .accepted(providerMessageID: ""))
        let badRequest = ProviderHTTPClient.Answer(status: 400, body: Data(
            #"{"error":{"code":400,"message":"Invalid value at 'message.android.ttl'","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"INVALID_ARGUMENT"}]}}"#.utf8
        ))
        #expect(FCMClassifier.outcome(badRequest, now: Date()) == .rejected(reason: "fcm 400 INVALID_ARGUMENT: Invalid value at 'message.android.ttl'"))
    }

    /// A second RSA key, not the sandbox account's: its assertions must not verify.
    static let otherKey = """
        -----BEGIN PRIVATE KEY-----
        MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCuzrCCaFAaGZjc
        vA4U/DDGuO8n3j/Y+MVldLdWYFW5S7dtXy/ZZedQJ2TLzxfaqmXtsPZDt2D35Z58
        PqXwV71MmKCMeQBZ5axN0S9qM2Qtk4Bz+Z5mfa6QgNgpycXvFxQpc9PbMyTryS0L
        6fAlqZzn4Mtd3i8IpQiHy7gTIy+n3tGzDGqtJbBvw5nSBskW5Ly67PWR41YAlKmN
        sJ1ztegw1jCH8wYFI9BOrsxBmwvmBObVC7FHrtIg9P23Yya28D+wU1GKh56BJZ2z
        EJYMN6qhJ4hrnxxYbnsb0DgM9THiwO6PqRyMw9DcbaSqnxQmPCycf79kp70tfANV
        Va3PMpwVAgMBAAECggEAGwoVpiuvLZpartTX83RfBx4sFXqnXaR9bt1y+TAa581H
        05SEY5hZA2j/NRdqP9oDvOnr7eWRC5y/uxrlssZKSG2DcrcfeshasrQc0CH1k6cx
        Q2nlOpf48e6RgUVDZ2Gmg2hLPlOBmTHxKdqchEw23RdEiIHfEfM/3TbXLlP5rHmP
        lcK6rFw3JlHMDFv3Irf7YkJadwkhM3Ud6nFlTy9bkHOUFANnDxy+xqWrrBH342PO
        r7T0tEkoCfr+hLbXxf0s4DzBKACluxCb6S7cqetNmgvuXpaYLPWlpOzj5+KmSKN/
        XObGYQEipUkHwDwDbacsDyL0eUj1k2MetE2SN7FEsQKBgQDxT7fWX3kcS5ZCuzyr
        wk9x/OSqTyeuk0/OhBO6pxLZLzy6ew9P6ZlfZKqAYQDbyIMf4UWgdQaeBeCALr0O
        VUO7ZCgg0YUZKsb/K9MN+owPGIQKgNO9eItBMGCGnJxKR25XfHnCqoBzCCDduWSv
        az4bKAtTFJNyr6v4p1NGrXZ3jwKBgQC5cqjYvudhZw6sbIyLEEDkqa9ZzhtxGc68
        rXByUuZUvli7dNhAxKy8235LfyahYjQLwRMG7Qquym3OhQuZyqLH6B/59GS6lBAf
        4V/uI7gCs3aH2pMJZTZLQzg/8sHv1yT/6oYbBps5CH9+NwAM3+W/iueNxpCQwQCT
        dy+pBwwAGwKBgDalP9NK8Ykn0NIxxm565TTB+SJcJHdTIrp4jGMzXIBUQyNTpMcK
        9lF04WuLC/+5a4A3qmXIuoPkfs9oRiXNxzXTW4b7C3IEjuXQDc5Xk4oDmjsqq0h3
        2MkdZG53XqkvfdxP8t7Tb50dFRxA1H0pAvpxWgcpXK6W+5GmiqQxuecfAoGAemOF
        s6YqJkpRkNIC3zRW35JtO6Oe0MHrgvIkKA82G++TuAOhRP2H0ww5CbJc2F1rY+aE
        nCmMx1apqYZ85X6qd6xmjhwQ7mIRUjj3ir7gDkhKjdZe+/BkKL+wO+QGwjcHIC6z
        Wtq9TqKhIbdCvTx28DbIIvVNK3t02d3rAm64KMkCgYAJCa4xCA9jugaNzgzfo+A0
        WBakqoqbwDcWHS6a/02ebTecEG57ZOJdBDpt8vpmqdfmuFY/NZwdGz/688Lg9RRl
        18eH3RQliY+ioNURz4Saen5aaqStsyRlDgvUfqk6TzIebK4QL5Q7MhLM2GpGEjP2
        c3gU4ZGzHiKhOSMVk1M1iA==
        -----END PRIVATE KEY-----
        """
}
