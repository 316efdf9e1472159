import Foundation
import HTTPTypes
import HeraldCore
import HeraldServer
import HeraldStore
import HeraldTesting
import Testing

/// `POST /v1/notifications` and the channel shorthands.
@Suite struct APISendTests {
    static let ana = APIRouteTests.ana
    static let order = #"{"to": [{"user_id": "u1"}], "template": "order-shipped", "params": {"order_id": "B-7"}, "channels": ["sms", "push"]}"#

    /// A harness with Ana (u1) and a key for each scope used here.
    static func run(_ body: @Sendable (APIHarness, APIClient, _ send: String) async throws -> Void) async throws {
        try await APIHarness.run { harness, client in
            let users = try await harness.key([.users])
            #expect(try await client.call(.put, "/v1/users/u1", auth: users, body: ana).status == .created)
            try await body(harness, client, try await harness.key([.send]))
        }
    }

    @Test func aTemplatedSendIsPlannedInTheOutboxAndAnsweredWithEachNotification() async throws {
        try await Self.run { harness, client, send in
            let response = try await client.call(.post, "/v1/notifications", auth: send, body: Self.order)
            #expect(response.status == .accepted, "\(response.text)")
            let notifications = try #require(response.json["notifications"] as? [[String: Any]])
            #expect(notifications.map { "\($0["user_id"]!) \($0["channel"]!) \($0["state"]!) \($0["reason"] ?? "-")" } == [
                "u1 sms planned -", "u1 push skipped not_needed",
            ])
            #expect(notifications.first?["due_at"] as? String == "2026-11-30T00:53:20Z", "due now")
            let id = try #require(notifications.first?["id"] as? Int)
            let stored = try await harness.rows("SELECT campaign_id, category, state, content FROM notifications WHERE id = ?", [String(id)])
            #expect(stored.first?[0...2] == ["api:order-shipped", "transactional", "planned"])
            #expect(stored.first?[3].contains("order B-7 has shipped") == true)
            #expect(try await harness.rows("SELECT COUNT(*) FROM outbox WHERE notification_id = ?", [String(id)]) == [["1"]])
        }
    }

    @Test func aMarketingSendRespectsOptOutsAndQuietHours() async throws {
        try await Self.run { harness, client, send in
            let body = #"{"to": [{"user_id": "u1"}], "template": "winter-sale", "category": "marketing", "channels": ["email", "push"], "delivery": "all"}"#
            harness.clock.set(try #require(ISO8601DateFormatter().date(from: "2026-11-30T08:00:00Z")))
            let response = try await client.call(.post, "/v1/notifications", auth: send, body: body)
            #expect(response.status == .accepted, "\(response.text)")
            let notifications = try #require(response.json["notifications"] as? [[String: Any]])
            // 03:00 in New York: quiet hours (21:00 to 08:00, then: delay) move it to 08:00 there.
            #expect(notifications.first?["channel"] as? String == "email")
            #expect(notifications.first?["due_at"] as? String == "2026-11-30T13:00:00Z")
            // A transactional send at the same moment goes now.
            let receipt = try await client.call(.post, "/v1/notifications", auth: send, body: Self.order)
            #expect((receipt.json["notifications"] as? [[String: Any]])?.first?["due_at"] as? String == "2026-11-30T08:00:00Z")

            let users = try await harness.key([.users])
            _ = try await client.call(.patch, "/v1/users/u1/preferences", auth: users, body: #"{"email:marketing": false}"#)
            let again = try await client.call(.post, "/v1/notifications", auth: send, body: body)
            let states = try #require(again.json["notifications"] as? [[String: Any]]).map { "\($0["channel"]!) \($0["state"]!) \($0["reason"] ?? "-")" }
            #expect(states == ["email skipped opted_out", "push skipped no_address"])
        }
    }

    @Test func theAnswerNamesEachNotificationAsTheStoreReadsItBack() async throws {
        try await Self.run { harness, client, send in
            let users = try await harness.key([.users])
            _ = try await client.call(.patch, "/v1/users/u1/preferences", auth: users, body: #"{"email:marketing": false}"#)
            let bodies = [
                Self.order,
                #"{"to": [{"user_id": "u1"}], "template": "winter-sale", "category": "marketing", "channels": ["email", "push"], "delivery": "all"}"#,
                // The second marketing SMS of the day is capped, with the cap named in its detail.
                #"{"to": [{"user_id": "u1"}], "template": "order-shipped", "category": "marketing", "channels": ["sms", "push"], "delivery": "all"}"#,
                #"{"to": [{"user_id": "u1"}], "template": "order-shipped", "category": "marketing", "channels": ["sms", "push"], "delivery": "all"}"#,
            ]
            var answers: [String] = []
            for body in bodies {
                let response = try await client.call(.post, "/v1/notifications", auth: send, body: body)
                #expect(response.status == .accepted, "\(response.text)")
                let answered = try #require(response.json["notifications"] as? [[String: Any]]).map { notification in
                    ["id", "user_id", "channel", "device", "state", "reason", "detail", "due_at"].map { "\(notification[$0] ?? "-")" }.joined(separator: " ")
                }
                let sendID = try #require(response.json["send_id"] as? Int)
                let stored = try await harness.store.decisions(occurrenceID: Int64(sendID)).map { decision in
                    [
                        "\(decision.notificationID)", decision.userID, decision.channel.rawValue, decision.device.isEmpty ? "-" : decision.device,
                        decision.state.rawValue, decision.reason ?? "-", decision.detail ?? "-", ISO8601.string(from: decision.dueAt),
                    ].joined(separator: " ")
                }
                #expect(answered == stored)
                #expect(answered.count >= 2)
                answers += answered
            }
            #expect(answers.contains { $0.contains(" sms - skipped capped at most 1 per calendar_day") }, "\(answers)")
        }
    }

    @Test func theSameIdempotencyKeyAndBodyGetTheFirstAnswerAndAnotherBodyGets422() async throws {
        try await Self.run { harness, client, send in
            let first = try await client.call(.post, "/v1/notifications", auth: send, body: Self.order, headers: ["Idempotency-Key": "order-B-7"])
            #expect(first.status == .accepted)
            harness.clock.advance(by: 60)
            let repeated = try await client.call(.post, "/v1/notifications", auth: send, body: Self.order, headers: ["Idempotency-Key": "order-B-7"])
            #expect(repeated.status == .accepted && repeated.text == first.text)
            #expect(repeated.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(try await harness.rows("SELECT COUNT(*) FROM notifications") == [["2"]], "planned once")

            let other = try await client.call(
                .post, "/v1/notifications", auth: send, body: Self.order.replacingOccurrences(of: "B-7", with: "B-8"), headers: ["Idempotency-Key": "order-B-7"]
            )
            #expect(other.status == .unprocessableContent && other.errorCode == "idempotency.key_reused")
            #expect(try await harness.rows("SELECT COUNT(*) FROM notifications") == [["2"]])

            // Without a key, or with a new one, each request is a send of its own.
            #expect(try await client.call(.post, "/v1/notifications", auth: send, body: Self.order).status == .accepted)
            #expect(try await client.call(.post, "/v1/notifications", auth: send, body: Self.order, headers: ["Idempotency-Key": "order-B-7-bis"]).status == .accepted)
            #expect(try await harness.rows("SELECT COUNT(*) FROM notifications") == [["6"]])

            // After 24 hours the key is forgotten.
            harness.clock.advance(by: 86_400)
            let later = try await client.call(.post, "/v1/notifications", auth: send, body: Self.order, headers: ["Idempotency-Key": "order-B-7"])
            #expect(later.status == .accepted && later.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
        }
    }

    @Test func concurrentRequestsWithOneIdempotencyKeyPlanOnce() async throws {
        try await Self.run { harness, client, send in
            try await withThrowingTaskGroup(of: APIResponse.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await client.call(.post, "/v1/notifications", auth: send, body: Self.order, headers: ["Idempotency-Key": "k-1"]) }
                }
                var ids: Set<String> = []
                for try await response in group {
                    #expect(response.status == .accepted)
                    let notifications = try #require(response.json["notifications"] as? [[String: Any]])
                    ids.insert(notifications.map { "\($0["id"]!)" }.joined(separator: ","))
                }
                #expect(ids.count == 1, "every answer names the same notifications")
            }
            #expect(try await harness.rows("SELECT COUNT(*) FROM notifications") == [["2"]])
        }
    }

    @Test func sendsOfOneTemplateInTheSameMillisecondAreEachDueAtTheirRequestsTime() async throws {
        try await Self.run { harness, client, send in
            var due: Set<String> = []
            var sends: Set<Int> = []
            for _ in 0..<20 {
                let response = try await client.call(.post, "/v1/sms/send", auth: send, body: #"{"to": [{"user_id": "u1"}], "template": "order-shipped"}"#)
                sends.insert(try #require(response.json["send_id"] as? Int))
                due.formUnion((response.json["notifications"] as? [[String: Any]] ?? []).compactMap { $0["due_at"] as? String })
            }
            #expect(sends.count == 20, "twenty sends")
            #expect(due == ["2026-11-30T00:53:20Z"], "each due when it was asked for, though each occurrence has an instant of its own")
            #expect(try await harness.rows("SELECT COUNT(DISTINCT fire_at) FROM occurrences") == [["20"]])
        }
    }

    @Test func theShorthandSendsOnItsChannelOnly() async throws {
        try await Self.run { harness, client, send in
            let response = try await client.call(.post, "/v1/push/send", auth: send, body: #"{"to": [{"user_id": "u1"}], "template": "order-shipped"}"#)
            #expect(response.status == .accepted)
            let notifications = try #require(response.json["notifications"] as? [[String: Any]])
            #expect(notifications.map { "\($0["channel"]!) \($0["state"]!) \($0["reason"] ?? "-")" } == ["push skipped no_address"], "Ana has no device")
            let channels = try await client.call(.post, "/v1/sms/send", auth: send, body: #"{"to": [{"user_id": "u1"}], "template": "order-shipped", "channels": ["sms"]}"#)
            #expect(channels.status == .unprocessableContent && channels.errorField == "channels")
            let noEmail = try await client.call(.post, "/v1/email/send", auth: send, body: #"{"to": [{"user_id": "u1"}], "template": "order-shipped"}"#)
            #expect(noEmail.status == .unprocessableContent && noEmail.errorMessage.contains("has no email content"))
        }
    }

    @Test func aBadSendIsRefusedWithTheFieldNamedAndWritesNothing() async throws {
        try await Self.run { harness, client, send in
            let cases: [(String, HTTPResponse.Status, String, String?)] = [
                (#"{"to": [{"user_id": "u1"}], "template": "order-shiped"}"#, .notFound, "template.not_found", "template"),
                (#"{"to": [{"user_id": "u1"}, {"user_id": "u9"}], "template": "order-shipped"}"#, .notFound, "user.not_found", "to"),
                (#"{"to": [{"user_id": "u1"}], "template": "order-shipped", "channels": ["fax"]}"#, .unprocessableContent, "request.invalid_field", "channels[0]"),
                (#"{"to": [{"user_id": "u1"}], "template": "order-shipped", "channels": ["email"]}"#, .unprocessableContent, "request.invalid_field", "channels[0]"),
                (#"{"to": [], "template": "order-shipped"}"#, .unprocessableContent, "request.invalid_field", "to"),
                (#"{"template": "order-shipped"}"#, .unprocessableContent, "request.missing_field", "to"),
                (#"{"to": [{"user_id": "u1"}]}"#, .unprocessableContent, "request.missing_field", "template"),
                (#"{"to": [{"user_id": 7}], "template": "order-shipped"}"#, .unprocessableContent, "request.invalid_field", "to[0].user_id"),
                (#"{"to": [{"user_id": "u1"}], "template": "order-shipped", "category": "promos"}"#, .unprocessableContent, "request.invalid_field", "category"),
                (#"{"to": [{"user_id": "u1"}], "template": "order-shipped", "delivery": "some"}"#, .unprocessableContent, "request.invalid_field", "delivery"),
                (#"{"to": [{"user_id": "u1"}], "template": "order-shipped", "params": "x"}"#, .unprocessableContent, "request.invalid_field", "params"),
                (#"{"to": [{"user_id": "u1"}], "template": "order-shipped", "chanels": ["sms"]}"#, .unprocessableContent, "request.invalid_field", "chanels"),
                (#"{"to": [{"email": "bo@"}], "template": "order-shipped"}"#, .unprocessableContent, "request.invalid_field", "to[0].email"),
                (#"{"to": [{"user_id": "u1"}], "template": "order-shipped", "subject": "Hi", "content": [{"type": "text/plain", "value": "Hello"}]}"#, .unprocessableContent, "request.invalid_field", "subject"),
                (#"{"to": [{"user_id": "u1"}"#, .badRequest, "request.invalid_json", nil),
                ("[]", .unprocessableContent, "request.invalid_body", nil),
            ]
            for (body, status, code, field) in cases {
                let response = try await client.call(.post, "/v1/notifications", auth: send, body: body)
                #expect(response.status == status, "\(body): \(response.text)")
                #expect(response.errorCode == code, "\(body)")
                #expect(response.errorField == field, "\(body)")
            }
            let suggestion = try await client.call(.post, "/v1/notifications", auth: send, body: cases[0].0)
            #expect(suggestion.errorMessage.contains("did you mean 'order-shipped'?"))
            let many = #"{"to": ["# + (0...1000).map { #"{"user_id": "u\#($0)"}"# }.joined(separator: ",") + #"], "template": "order-shipped"}"#
            let tooMany = try await client.call(.post, "/v1/notifications", auth: send, body: many)
            #expect(tooMany.status == .unprocessableContent && tooMany.errorMessage.contains("at most 1000"))
            let badKey = try await client.call(.post, "/v1/notifications", auth: send, body: Self.order, headers: ["Idempotency-Key": String(repeating: "k", count: 300)])
            #expect(badKey.status == .unprocessableContent && badKey.errorField == "Idempotency-Key")
            #expect(try await harness.rows("SELECT COUNT(*) FROM notifications") == [["0"]])
            #expect(try await harness.rows("SELECT COUNT(*) FROM occurrences") == [["0"]])

            let events = try await harness.key([.events])
            #expect(try await client.call(.post, "/v1/notifications", auth: events, body: Self.order).status == .forbidden)
        }
    }
}
