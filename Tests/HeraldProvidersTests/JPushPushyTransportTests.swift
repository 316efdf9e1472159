import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox
import NIOHTTP1
import Testing

func pushMessage(_ id: Int64, to token: String, provider: String, _ content: PushContent = PushContent(title: "Order", body: "Your order has shipped")) -> OutboundMessage {
    OutboundMessage(
        notificationID: id, occurrenceID: 1, campaignID: "order-shipped", userID: "u-\(id)", channel: .push, category: "transactional",
        provider: provider, address: token, content: .push(content), attempt: 1
    )
}

@Suite(.timeLimit(.minutes(3)))
struct JPushTransportTests {
    static func transport(_ sandbox: RunningSandbox, _ http: ProviderHTTPClient, secret: String? = nil) -> JPushTransport {
        JPushTransport(name: "jpush", configuration: JPushTransport.Configuration(
            appKey: sandbox.accounts.jpushAppKey, masterSecret: secret ?? sandbox.accounts.jpushMasterSecret, baseURL: sandbox.baseURL(for: .jpush)
        ), http: http)
    }

    @Test func aPushIsAcceptedWithItsMessageIDAndTheBodyJPushDocuments() async throws {
        try await withSandbox(Sandbox.Configuration(smtpPort: nil, recordsRequests: true, apnsPort: nil)) { sandbox, http in
            let content = PushContent(title: "Sale", body: "Größe 42 🎉", url: "https://shop.example.com/42", data: ["order": "42"], badge: 2, sound: "default", ttl: 600)
            let outcome = await Self.transport(sandbox, http).send(pushMessage(7, to: "1a0018970a8f2a2b6c7", provider: "jpush", content))
            guard case .accepted(let id) = outcome else { Issue.record("\(outcome)"); return }
            let record = try #require(sandbox.log.messages.first)
            #expect(record.provider == .jpush && record.providerMessageID == id && !id.isEmpty)
            #expect(record.to == "1a0018970a8f2a2b6c7" && record.subject == "Sale" && record.text == "Größe 42 🎉")
            #expect(record.metadata == ["order": "42", "url": "https://shop.example.com/42"])
            let body = json(String(decoding: try #require(sandbox.log.requests.first).body, as: UTF8.self))
            #expect(body["platform"] as? [String] == ["android", "ios"])
            #expect((body["audience"] as? [String: [String]]) == ["registration_id": ["1a0018970a8f2a2b6c7"]])
            let ios = try #require((body["notification"] as? [String: Any])?["ios"] as? [String: Any])
            #expect(ios["badge"] as? Int == 2 && ios["sound"] as? String == "default")
            let options = try #require(body["options"] as? [String: Any])
            #expect(options["time_to_live"] as? Int == 600 && options["sendno"] as? Int == 8 && options["apns_production"] as? Bool == true)
        }
    }

    @Test func aSilentPushIsACustomMessage() async throws {
        try await withSandbox(Sandbox.Configuration(smtpPort: nil, recordsRequests: true, apnsPort: nil)) { sandbox, http in
            let outcome = await Self.transport(sandbox, http).send(pushMessage(1, to: "abc123", provider: "jpush", PushContent(body: "sync", data: ["k": "v"], silent: true)))
            guard case .accepted = outcome else { Issue.record("\(outcome)"); return }
            let body = json(String(decoding: try #require(sandbox.log.requests.first).body, as: UTF8.self))
            #expect(body["notification"] == nil)
            #expect((body["message"] as? [String: Any])?["msg_content"] as? String == "sync")
        }
    }

    @Test func aWrongMasterSecretIsRefusedAndMisconfiguration() async throws {
        try await withSandbox(Sandbox.Configuration(smtpPort: nil, apnsPort: nil)) { sandbox, http in
            let outcome = await Self.transport(sandbox, http, secret: "wrong").send(pushMessage(1, to: "abc123", provider: "jpush"))
            #expect(kind(of: outcome) == "misconfigured" && reason(of: outcome).hasPrefix("jpush 401 1004: "), "\(outcome)")
            #expect(sandbox.log.count == 0)
        }
    }

    @Test func anUnknownRegistrationIDIsADeadAddress() async throws {
        let faults = FaultPlan(providers: [.jpush: ProviderFaults(invalid: ["dead0001"])])
        try await withSandbox(Sandbox.Configuration(faults: faults, smtpPort: nil, apnsPort: nil)) { sandbox, http in
            let outcome = await Self.transport(sandbox, http).send(pushMessage(1, to: "dead0001", provider: "jpush"))
            #expect(kind(of: outcome) == "deadAddress" && reason(of: outcome).hasPrefix("jpush 400 1011: "), "\(outcome)")
        }
    }

    @Test func aNotificationOverJPushsLimitIsRejectedWithoutARequest() async throws {
        try await withSandbox(Sandbox.Configuration(smtpPort: nil, recordsRequests: true, apnsPort: nil)) { sandbox, http in
            let outcome = await Self.transport(sandbox, http).send(pushMessage(1, to: "abc123", provider: "jpush", PushContent(body: String(repeating: "x", count: 2100))))
            #expect(kind(of: outcome) == "rejected" && reason(of: outcome).contains("JPush takes at most 2000"), "\(outcome)")
            #expect(sandbox.log.requests.isEmpty)
        }
    }

    /// The emulator refuses what JPush refuses, with JPush's codes.
    @Test func theEmulatorRefusesWhatJPushRefuses() async throws {
        try await withSandbox(Sandbox.Configuration(smtpPort: nil, apnsPort: nil)) { sandbox, http in
            try await withRawClient { client in
                let url = sandbox.baseURL(for: .jpush) + "/v3/push"
                let auth = basic(sandbox.accounts.jpushAppKey, sandbox.accounts.jpushMasterSecret)
                let big = String(repeating: "x", count: 2100)
                let cases: [(String?, String, Int, Int)] = [
                    (nil, "{}", 401, 1004),
                    (basic(sandbox.accounts.jpushAppKey, "wrong"), "{}", 401, 1004),
                    (auth, "not json", 400, 1003),
                    (auth, "{\"platform\":\"all\"}", 400, 1002),
                    (auth, "{\"platform\":\"all\",\"audience\":\"all\"}", 400, 1002),
                    (auth, "{\"platform\":\"all\",\"audience\":\"all\",\"notification\":{\"alert\":\"a\"},\"title\":\"x\"}", 400, 1009),
                    (auth, "{\"platform\":[\"ios\"],\"audience\":{\"registration_id\":[\"\"]},\"notification\":{\"alert\":\"a\"}}", 400, 1003),
                    (auth, "{\"platform\":\"all\",\"audience\":\"all\",\"notification\":{\"ios\":{\"alert\":\"\(big)\"}}}", 400, 1005),
                    (auth, "{\"platform\":\"all\",\"audience\":\"all\",\"notification\":{\"android\":{\"title\":\"t\"}}}", 400, 1002),
                ]
                for (authorization, body, status, code) in cases {
                    let answer = try await raw(client, url, headers: authorization.map { [("Authorization", $0)] } ?? [], body: Data(body.utf8))
                    #expect(answer.status == status, "\(body): \(answer)")
                    #expect((json(answer.body)["error"] as? [String: Any])?["code"] as? Int == code, "\(body): \(answer.body)")
                }
                let wrongMethod = try await raw(client, url, method: .GET, headers: [("Authorization", auth)])
                #expect(wrongMethod.status == 405)
            }
        }
    }

    /// The dry run checks the same and answers the same, and delivers nothing.
    @Test func theValidateEndpointChecksWithoutDelivering() async throws {
        try await withSandbox(Sandbox.Configuration(smtpPort: nil, apnsPort: nil)) { sandbox, _ in
            try await withRawClient { client in
                let url = sandbox.baseURL(for: .jpush) + "/v3/push/validate"
                let auth = [("Authorization", basic(sandbox.accounts.jpushAppKey, sandbox.accounts.jpushMasterSecret))]
                let ok = try await raw(client, url, headers: auth, body: Data("{\"platform\":\"all\",\"audience\":{\"registration_id\":[\"abc\"]},\"message\":{\"msg_content\":\"hi\"},\"options\":{\"sendno\":5}}".utf8))
                #expect(ok.status == 200 && json(ok.body)["sendno"] as? String == "5" && json(ok.body)["msg_id"] is String, "\(ok)")
                let bad = try await raw(client, url, headers: auth, body: Data("{\"platform\":\"all\",\"audience\":\"all\",\"message\":{}}".utf8))
                #expect(bad.status == 400 && (json(bad.body)["error"] as? [String: Any])?["code"] as? Int == 1002, "\(bad)")
                #expect(sandbox.log.count == 0)
            }
        }
    }

    @Test func rateLimitsAndOutagesAreRetries() async throws {
        let faults = FaultPlan(providers: [.jpush: ProviderFaults(errorRates: [429: 1], retryAfter: 30)])
        try await withSandbox(Sandbox.Configuration(faults: faults, smtpPort: nil, apnsPort: nil)) { sandbox, http in
            let outcome = await Self.transport(sandbox, http).send(pushMessage(1, to: "abc123", provider: "jpush"))
            guard case .throttled(let after, let reason) = outcome else { Issue.record("\(outcome)"); return }
            #expect(after == .seconds(30) && reason.hasPrefix("provider 429 jpush 429 2002: "), "\(reason)")
        }
        let outage = FaultPlan(providers: [.jpush: ProviderFaults(outages: [.init(start: 0, end: 3600)], retryAfter: 12)])
        try await withSandbox(Sandbox.Configuration(faults: outage, smtpPort: nil, apnsPort: nil)) { sandbox, http in
            let outcome = await Self.transport(sandbox, http).send(pushMessage(1, to: "abc123", provider: "jpush"))
            guard case .retry(let after, let reason) = outcome else { Issue.record("\(outcome)"); return }
            #expect(after == .seconds(12) && reason.contains("503"), "\(reason)")
            #expect(sandbox.log.count == 0)
        }
    }

    /// Every code of the spec's table, as JPush sends it.
    @Test(arguments: [
        (500, 1000, "retry"), (405, 1001, "rejected"), (400, 1002, "rejected"), (400, 1003, "rejected"), (401, 1004, "misconfigured"),
        (400, 1005, "rejected"), (400, 1008, "misconfigured"), (400, 1009, "rejected"), (400, 1011, "deadAddress"), (400, 1012, "retry"),
        (404, 1020, "misconfigured"), (503, 1030, "retry"), (429, 2002, "throttled"), (403, 2003, "misconfigured"), (403, 2004, "misconfigured"),
        (403, 2005, "rejected"), (403, 2006, "misconfigured"), (403, 2007, "misconfigured"),
    ])
    func everyErrorCodeMapsToItsOutcome(status: Int, code: Int, expected: String) {
        let answer = ProviderHTTPClient.Answer(status: status, body: Data("{\"error\":{\"code\":\(code),\"message\":\"m\"},\"msg_id\":\"1\"}".utf8))
        let outcome = JPushClassifier.outcome(answer, now: Date())
        #expect(kind(of: outcome) == expected, "\(outcome)")
        #expect(reason(of: outcome).contains("jpush \(status) \(code): m"))
        if code == 2002 { #expect(reason(of: outcome).hasPrefix("provider 429")) }
    }

    @Test func answersWithoutJPushsBodyAreClassifiedByStatus() {
        let cases: [(Int, String)] = [(502, "retry"), (504, "retry"), (401, "misconfigured"), (429, "throttled"), (400, "retry")]
        for (status, expected) in cases {
            let outcome = JPushClassifier.outcome(ProviderHTTPClient.Answer(status: status, body: Data("<html>oops</html>".utf8)), now: Date())
            #expect(kind(of: outcome) == expected, "\(status): \(outcome)")
            #expect(reason(of: outcome).contains("<html>oops</html>"))
        }
    }
}

@Suite(.timeLimit(.minutes(3)))
struct PushyTransportTests {
    static func transport(_ sandbox: RunningSandbox, _ http: ProviderHTTPClient, key: String? = nil) -> PushyTransport {
        PushyTransport(name: "pushy", configuration: PushyTransport.Configuration(
            apiKey: key ?? sandbox.accounts.pushyAPIKey, baseURL: sandbox.baseURL(for: .pushy)
        ), http: http)
    }

    @Test func aPushIsAcceptedWithItsIDAndTheBodyPushyDocuments() async throws {
        try await withSandbox(Sandbox.Configuration(smtpPort: nil, recordsRequests: true, apnsPort: nil)) { sandbox, http in
            let content = PushContent(title: "Sale", body: "Größe 42 🎉", url: "https://shop.example.com/42", data: ["order": "42"], badge: 1, sound: "ping.aiff", ttl: 3600, collapseKey: "sale")
            let outcome = await Self.transport(sandbox, http).send(pushMessage(1, to: "a6345d0278adc55d3474f5", provider: "pushy", content))
            guard case .accepted(let id) = outcome else { Issue.record("\(outcome)"); return }
            let record = try #require(sandbox.log.messages.first)
            #expect(record.provider == .pushy && record.providerMessageID == id && id.count == 24)
            #expect(record.to == "a6345d0278adc55d3474f5" && record.subject == "Sale" && record.text == "Größe 42 🎉")
            let request = try #require(sandbox.log.requests.first)
            let body = json(String(decoding: request.body, as: UTF8.self))
            #expect(body["to"] as? [String] == ["a6345d0278adc55d3474f5"])
            #expect((body["data"] as? [String: String]) == ["order": "42", "title": "Sale", "message": "Größe 42 🎉", "url": "https://shop.example.com/42"])
            #expect((body["notification"] as? [String: Any])?["sound"] as? String == "ping.aiff")
            #expect(body["time_to_live"] as? Int == 3600 && body["collapse_key"] as? String == "sale")
        }
    }

    @Test func aTokenInInfoFailedIsADeadAddress() async throws {
        let faults = FaultPlan(providers: [.pushy: ProviderFaults(invalid: ["deadbeef01"])])
        try await withSandbox(Sandbox.Configuration(faults: faults, smtpPort: nil, apnsPort: nil)) { sandbox, http in
            let outcome = await Self.transport(sandbox, http).send(pushMessage(1, to: "deadbeef01", provider: "pushy"))
            #expect(kind(of: outcome) == "deadAddress" && reason(of: outcome).contains("info.failed"), "\(outcome)")
            #expect(sandbox.log.count == 0)
        }
    }

    @Test func aWrongAPIKeyIsRefusedAndMisconfiguration() async throws {
        try await withSandbox(Sandbox.Configuration(smtpPort: nil, apnsPort: nil)) { sandbox, http in
            let outcome = await Self.transport(sandbox, http, key: "wrongkey").send(pushMessage(1, to: "abc123", provider: "pushy"))
            #expect(kind(of: outcome) == "misconfigured" && reason(of: outcome).hasPrefix("pushy 401 INVALID_API_KEY: "), "\(outcome)")
        }
    }

    @Test func dataOverFourKilobytesIsRejectedWithoutARequest() async throws {
        try await withSandbox(Sandbox.Configuration(smtpPort: nil, recordsRequests: true, apnsPort: nil)) { sandbox, http in
            let outcome = await Self.transport(sandbox, http).send(pushMessage(1, to: "abc123", provider: "pushy", PushContent(body: String(repeating: "x", count: 4100))))
            #expect(kind(of: outcome) == "rejected" && reason(of: outcome).contains("Pushy takes at most 4096"), "\(outcome)")
            let long = await Self.transport(sandbox, http).send(pushMessage(2, to: "abc123", provider: "pushy", PushContent(body: "b", collapseKey: String(repeating: "k", count: 33))))
            #expect(kind(of: long) == "rejected" && reason(of: long).contains("at most 32"), "\(long)")
            #expect(sandbox.log.requests.isEmpty)
        }
    }

    @Test func theEmulatorRefusesWhatPushyRefuses() async throws {
        try await withSandbox(Sandbox.Configuration(smtpPort: nil, apnsPort: nil)) { sandbox, _ in
            try await withRawClient { client in
                let base = sandbox.baseURL(for: .pushy) + "/push"
                let good = base + "?api_key=" + sandbox.accounts.pushyAPIKey
                let big = String(repeating: "x", count: 4100)
                let cases: [(String, String, Int, String)] = [
                    (base, "{\"to\":[\"abc\"],\"data\":{}}", 401, "INVALID_API_KEY"),
                    (base + "?api_key=nope", "{\"to\":[\"abc\"],\"data\":{}}", 401, "INVALID_API_KEY"),
                    (good, "nope", 400, "INVALID_PARAM"),
                    (good, "{\"data\":{}}", 400, "INVALID_PARAM"),
                    (good, "{\"to\":\"abc\"}", 400, "INVALID_PARAM"),
                    (good, "{\"to\":[\"abc\"],\"data\":{\"m\":\"\(big)\"}}", 400, "PAYLOAD_LIMIT_EXCEEDED"),
                    (good, "{\"to\":[\"abc\"],\"data\":{},\"collapse_key\":\"\(String(repeating: "k", count: 33))\"}", 400, "INVALID_PARAM"),
                    (good, "{\"to\":[\"abc\"],\"data\":{},\"time_to_live\":0}", 400, "INVALID_PARAM"),
                ]
                for (url, body, status, code) in cases {
                    let answer = try await raw(client, url, body: Data(body.utf8))
                    #expect(answer.status == status, "\(body): \(answer)")
                    #expect(json(answer.body)["code"] as? String == code, "\(body): \(answer.body)")
                }
                let ok = try await raw(client, good, body: Data("{\"to\":\"/topics/news\",\"data\":{\"m\":\"hi\"}}".utf8))
                #expect(ok.status == 200 && json(ok.body)["success"] as? Bool == true)
            }
        }
    }

    @Test func rateLimitsAndOutagesAreRetries() async throws {
        let faults = FaultPlan(providers: [.pushy: ProviderFaults(errorRates: [429: 0.5, 503: 0.5], retryAfter: 9)])
        try await withSandbox(Sandbox.Configuration(faults: faults, smtpPort: nil, apnsPort: nil)) { sandbox, http in
            let outcomes = await Self.transport(sandbox, http).send((1...20).map { pushMessage(Int64($0), to: "abc\($0)", provider: "pushy") })
            let throttled = outcomes.filter { kind(of: $0) == "throttled" && reason(of: $0).hasPrefix("provider 429 pushy 429 RATE_LIMIT_EXCEEDED: ") }
            let down = outcomes.filter { kind(of: $0) == "retry" && reason(of: $0).hasPrefix("pushy 503 INTERNAL_SERVER_ERROR: ") }
            #expect(!throttled.isEmpty && !down.isEmpty && throttled.count + down.count == 20, "\(outcomes)")
            #expect(outcomes.allSatisfy {
                switch $0 {
                case .retry(let after, _), .throttled(let after, _): after == .seconds(9)
                default: false
                }
            })
        }
    }

    @Test(arguments: [
        (429, "{\"code\":\"RATE_LIMIT_EXCEEDED\",\"error\":\"slow\"}", "throttled"), (401, "{\"code\":\"INVALID_API_KEY\",\"error\":\"k\"}", "misconfigured"),
        (400, "{\"code\":\"INVALID_PARAM\",\"error\":\"p\"}", "rejected"), (500, "{\"code\":\"INTERNAL_SERVER_ERROR\",\"error\":\"e\"}", "retry"),
        (503, "<html>down</html>", "retry"), (400, "<html>proxy</html>", "retry"), (404, "{\"code\":\"NOT_FOUND\",\"error\":\"n\"}", "misconfigured"),
        (200, "{\"success\":true,\"id\":\"x\",\"info\":{\"devices\":1}}", "accepted"), (200, "{\"error\":\"odd\"}", "retry"),
    ])
    func answersMapToTheirOutcomes(status: Int, body: String, expected: String) {
        let outcome = PushyClassifier.outcome(ProviderHTTPClient.Answer(status: status, body: Data(body.utf8)), token: "abc", now: Date())
        #expect(kind(of: outcome) == expected, "\(outcome)")
        if status == 429 { #expect(reason(of: outcome).hasPrefix("provider 429")) }
    }
}
