import AsyncHTTPClient
import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox
import Testing

/// What the sandbox's FCM emulator accepts and refuses, sent raw: the token endpoint's checks of
/// the assertion, and proto3 JSON field names in either spelling.
@Suite(.timeLimit(.minutes(3)))
struct FCMEmulatorTests {
    static func account(_ sandbox: RunningSandbox) -> FCMServiceAccount {
        let demo = SandboxFCMServiceAccount.demo
        return FCMServiceAccount(
            projectID: demo.projectID, clientEmail: demo.clientEmail, privateKey: demo.privateKeyPEM, privateKeyID: demo.privateKeyID,
            tokenURI: sandbox.baseURL(for: .fcm) + "/token"
        )
    }

    static func tokenRequest(_ client: HTTPClient, _ sandbox: RunningSandbox, assertion: String, grant: String = "urn:ietf:params:oauth:grant-type:jwt-bearer") async throws -> (status: Int, body: [String: Any]) {
        let form = "grant_type=" + (grant.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") + "&assertion=" + assertion
        let answer = try await raw(client, sandbox.baseURL(for: .fcm) + "/token", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Data(form.utf8))
        return (answer.status, json(answer.body))
    }

    static func accessToken(_ client: HTTPClient, _ sandbox: RunningSandbox) async throws -> String {
        let answer = try await tokenRequest(client, sandbox, assertion: FCMTransport.makeAssertion(for: account(sandbox), now: Date()))
        #expect(answer.status == 200 && answer.body["token_type"] as? String == "Bearer" && answer.body["expires_in"] as? Int == 3599)
        return try #require(answer.body["access_token"] as? String)
    }

    static func send(_ client: HTTPClient, _ sandbox: RunningSandbox, token: String, body: String, project: String = SandboxFCMServiceAccount.demo.projectID) async throws -> (status: Int, body: String) {
        let answer = try await raw(
            client, sandbox.baseURL(for: .fcm) + "/v1/projects/\(project)/messages:send",
            headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")], body: Data(body.utf8)
        )
        return (answer.status, answer.body)
    }

    @Test func theTokenEndpointRefusesAForeignKeyAWrongAudienceAScopeAndAStaleAssertion() async throws {
        try await withSandbox { sandbox, _ in
            try await withRawClient { client in
                let account = Self.account(sandbox)
                _ = try await Self.accessToken(client, sandbox)
                var foreign = account
                foreign.privateKey = FCMTransportTests.otherKey
                let forged = try await Self.tokenRequest(client, sandbox, assertion: FCMTransport.makeAssertion(for: foreign, now: Date()))
                #expect(forged.status == 400 && forged.body["error_description"] as? String == "Invalid JWT Signature.")
                var elsewhere = account
                elsewhere.tokenURI = "https://login.example.com/token"
                let audience = try await Self.tokenRequest(client, sandbox, assertion: FCMTransport.makeAssertion(for: elsewhere, now: Date()))
                #expect(audience.status == 400 && (audience.body["error_description"] as? String ?? "").contains("aud"))
                var google = account
                google.tokenURI = FCMServiceAccount.googleTokenURI
                let constant = try await Self.tokenRequest(client, sandbox, assertion: FCMTransport.makeAssertion(for: google, now: Date()))
                #expect(constant.status == 200, "Google's constant audience is taken as google-auth sends it")
                let scope = try await Self.tokenRequest(
                    client, sandbox, assertion: FCMTransport.makeAssertion(for: account, now: Date(), scope: "https://www.googleapis.com/auth/drive")
                )
                #expect(scope.status == 400 && scope.body["error"] as? String == "invalid_scope")
                let stale = try await Self.tokenRequest(client, sandbox, assertion: FCMTransport.makeAssertion(for: account, now: Date().addingTimeInterval(-7200)))
                #expect(stale.status == 400 && (stale.body["error_description"] as? String ?? "").contains("Check your iat and exp"))
                var stranger = account
                stranger.clientEmail = "someone@else.iam.gserviceaccount.com"
                let issuer = try await Self.tokenRequest(client, sandbox, assertion: FCMTransport.makeAssertion(for: stranger, now: Date()))
                #expect(issuer.status == 400 && issuer.body["error"] as? String == "invalid_grant")
                let grant = try await Self.tokenRequest(client, sandbox, assertion: FCMTransport.makeAssertion(for: account, now: Date()), grant: "client_credentials")
                #expect(grant.status == 400 && grant.body["error"] as? String == "unsupported_grant_type")
            }
        }
    }

    @Test func snakeCaseAndLowerCamelCaseBodiesAreBothAccepted() async throws {
        try await withSandbox { sandbox, _ in
            try await withRawClient { client in
                let token = try await Self.accessToken(client, sandbox)
                let snake = #"{"validate_only":false,"message":{"token":"t1","data":{"order_id":"42"},"android":{"collapse_key":"orders","priority":"high","ttl":"60s","notification":{"click_action":"OPEN","notification_count":3}},"fcm_options":{"analytics_label":"x"}}}"#
                let camel = #"{"validateOnly":false,"message":{"token":"t2","data":{"order_id":"42"},"android":{"collapseKey":"orders","priority":"HIGH","ttl":"60s","notification":{"clickAction":"OPEN","notificationCount":3}},"fcmOptions":{"analyticsLabel":"x"}}}"#
                let first = try await Self.send(client, sandbox, token: token, body: snake)
                let second = try await Self.send(client, sandbox, token: token, body: camel)
                #expect(first.status == 200 && second.status == 200, "\(first) \(second)")
                let recorded = sandbox.log.messages
                #expect(recorded.count == 2)
                for message in recorded {
                    let body = json(message.raw ?? "")
                    #expect((body["android"] as? [String: Any])?["collapseKey"] as? String == "orders")
                    #expect(body["data"] as? [String: String] == ["order_id": "42"], "map keys are data, never renamed")
                }
                let dryRun = try await Self.send(client, sandbox, token: token, body: #"{"validate_only":true,"message":{"token":"t3"}}"#)
                #expect(dryRun.status == 200 && dryRun.body.contains("fake_message_id"))
                #expect(sandbox.log.messages.count == 2)
            }
        }
    }

    @Test(arguments: [
        (#"{"message":{"token":"t","colour":"red"}}"#, "Unknown name \"colour\""),
        (#"{"message":{"token":"t","android":{"collapse_key":"a","collapseKey":"b"}}}"#, "set twice"),
        (#"{"message":{"token":"t","data":{"n":1}}}"#, "TYPE_STRING"),
        (#"{"message":{"token":"t","data":{"from":"x"}}}"#, "Invalid data payload key"),
        (#"{"message":{"token":"t","topic":"news"}}"#, "Exactly one of token, topic or condition"),
        (#"{"message":{"notification":{"title":"t"}}}"#, "Exactly one of token, topic or condition"),
        (#"{"message":{"token":"t","android":{"priority":"urgent"}}}"#, "message.android.priority"),
        (#"{"message":{"token":"t","android":{"ttl":"1 hour"}}}"#, "message.android.ttl"),
        (#"{"message":{"token":"t","apns":{"headers":{"apns-priority":10}}}}"#, "header values must be strings"),
        (#"{"message":{"token":"has space"}}"#, "not a valid FCM registration token"),
        (#"{"msg":{}}"#, "Unknown name \"msg\""),
    ])
    func whatFCMRefusesIsRefusedWithItsErrorBody(body: String, expected: String) async throws {
        try await withSandbox { sandbox, _ in
            try await withRawClient { client in
                let token = try await Self.accessToken(client, sandbox)
                let answer = try await Self.send(client, sandbox, token: token, body: body)
                #expect(answer.status == 400, "\(answer)")
                let error = try #require(json(answer.body)["error"] as? [String: Any])
                #expect((error["message"] as? String ?? "").contains(expected), "\(answer)")
                #expect(error["status"] as? String == "INVALID_ARGUMENT")
                #expect(sandbox.log.messages.isEmpty)
            }
        }
    }

    @Test func aMessageOverTheSizeLimitIsTooBig() async throws {
        try await withSandbox { sandbox, _ in
            try await withRawClient { client in
                let token = try await Self.accessToken(client, sandbox)
                let big = String(repeating: "x", count: 4100)
                let answer = try await Self.send(client, sandbox, token: token, body: #"{"message":{"token":"t","data":{"k":"\#(big)"}}}"#)
                #expect(answer.status == 400 && answer.body.contains("Message is too big"), "\(answer)")
                let topic = try await Self.send(client, sandbox, token: token, body: #"{"message":{"topic":"news","data":{"k":"\#(String(repeating: "x", count: 2100))"}}}"#)
                #expect(topic.status == 400 && topic.body.contains("the limit is 2048"), "\(topic)")
            }
        }
    }

    @Test func noOrAnUnknownAccessTokenIs401AndAnotherProjectIs403() async throws {
        try await withSandbox { sandbox, _ in
            try await withRawClient { client in
                let unknown = try await Self.send(client, sandbox, token: "ya29.made-up", body: #"{"message":{"token":"t"}}"#)
                #expect(unknown.status == 401 && unknown.body.contains("UNAUTHENTICATED"))
                let token = try await Self.accessToken(client, sandbox)
                let other = try await Self.send(client, sandbox, token: token, body: #"{"message":{"token":"t"}}"#, project: "someone-else")
                #expect(other.status == 403 && other.body.contains("PERMISSION_DENIED"))
            }
        }
    }
}
