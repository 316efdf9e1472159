import Foundation
import HTTPTypes
import HeraldContent
import HeraldCore
import HeraldServer
import GRDB
@testable import HeraldStore
import HeraldTesting
import Testing

/// Every route of the API and its error paths, through the router, on a real SQLite file.
@Suite struct APIRouteTests {
    static let ana = #"{"email": "ana@example.com", "phone": "+14155550100", "locale": "en-US", "timezone": "America/New_York", "first_name": "Ana"}"#

    // MARK: health

    @Test func healthAndReadinessAnswerWithoutAKey() async throws {
        try await APIHarness.run { _, client in
            let health = try await client.call(.get, "/healthz")
            #expect(health.status == .ok && health.json["status"] as? String == "ok")
            let ready = try await client.call(.get, "/readyz")
            #expect(ready.status == .ok && ready.json["status"] as? String == "ready")
        }
    }

    @Test func metricsCountRequestsByRoutePatternAndShowTheOutbox() async throws {
        try await APIHarness.run { harness, client in
            let users = try await harness.key([.users])
            let events = try await harness.key([.events])
            _ = try await client.call(.put, "/v1/users/secret-user-42", auth: users, body: Self.ana)
            _ = try await client.call(.get, "/v1/users/secret-user-42", auth: users)
            _ = try await client.call(.get, "/v1/users/secret-user-42", auth: nil)
            _ = try await client.call(.post, "/v1/events", auth: events, body: #"{"user_id": "secret-user-42", "name": "order_shipped"}"#)
            let metrics = try await client.call(.get, "/metrics")
            #expect(metrics.status == .ok && metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            let lines = metrics.text.split(separator: "\n").map(String.init)
            #expect(lines.contains(#"herald_api_requests_total{route="/v1/users/{id}",method="PUT",status="201"} 1"#), "\(metrics.text)")
            #expect(lines.contains(#"herald_api_requests_total{route="/v1/users/{id}",method="GET",status="200"} 1"#))
            #expect(lines.contains(#"herald_api_requests_total{route="/v1/users/{id}",method="GET",status="401"} 1"#))
            #expect(lines.contains { $0.hasPrefix(#"herald_api_request_duration_seconds_bucket{route="/v1/events",method="POST""#) })
            // The SMS the event planned waits in the outbox (due in 5 minutes).
            #expect(lines.contains(#"herald_outbox_queued{channel="sms",provider="twilio"} 1.0"#), "\(metrics.text)")
            #expect(lines.contains(#"herald_outbox_due{channel="sms",provider="twilio"} 0.0"#))
            #expect(!metrics.text.contains("secret-user-42"), "no user id in a label")

            // Once the lane drains (erasing the user cancels the SMS), it reads 0, not its last figures.
            #expect(try await client.call(.delete, "/v1/users/secret-user-42", auth: users).status == .ok)
            let drained = try await client.call(.get, "/metrics").text.split(separator: "\n").map(String.init)
            #expect(drained.contains(#"herald_outbox_queued{channel="sms",provider="twilio"} 0.0"#), "\(drained)")
        }
    }

    @Test func anUnknownRouteOrMethodGetsAJSONErrorNotA500() async throws {
        try await APIHarness.run { harness, client in
            let auth = try await harness.key([.users])
            let missing = try await client.call(.get, "/v2/users/u1", auth: auth)
            #expect(missing.status == .notFound && missing.errorCode == "route.not_found")
            #expect(missing.errorMessage == "no route GET /v2/users/u1")
            let method = try await client.call(.post, "/v1/users/u1", auth: auth, body: "{}")
            #expect([.methodNotAllowed, .notFound].contains(method.status), "\(method.status)")
            #expect(method.errorCode != nil)
        }
    }

    // MARK: authentication

    @Test func requestsWithoutAValidKeyGet401AndChangeNothing() async throws {
        try await APIHarness.run { harness, client in
            let good = try await harness.key([.users])
            let (record, secret) = APIKeys.make(scopes: [.users], rate: nil, now: harness.clock.now)
            try await harness.store.insertAPIKey(record)
            _ = try await harness.store.revokeAPIKey(record.appKey, at: harness.clock.now)
            let attempts: [(String?, String)] = [
                (nil, "no header"),
                ("Bearer abc", "not Basic"),
                ("Basic !!!", "not base64"),
                (APIHarness.basic("hk_nobody", secret), "unknown app key"),
                (APIHarness.basic(record.appKey, secret), "revoked key"),
                (APIHarness.basic(String(good.dropFirst(6)), "hs_wrong"), "garbage user"),
            ]
            for (auth, what) in attempts {
                let response = try await client.call(.put, "/v1/users/u1", auth: auth, body: Self.ana)
                #expect(response.status == .unauthorized, "\(what)")
                #expect(response.errorCode == "auth.unauthorized", "\(what)")
                #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Basic realm=") == true, "\(what)")
            }
            // A wrong secret for a real key, too.
            let appKey = try #require(String(data: Data(base64Encoded: String(good.dropFirst(6)))!, encoding: .utf8)?.split(separator: ":").first)
            let wrong = try await client.call(.put, "/v1/users/u1", auth: APIHarness.basic(String(appKey), "hs_" + String(repeating: "A", count: 43)), body: Self.ana)
            #expect(wrong.status == .unauthorized)
            #expect(try await harness.rows("SELECT COUNT(*) FROM users") == [["0"]])
        }
    }

    @Test func aKeyWithoutTheRoutesScopeGets403AndChangesNothing() async throws {
        try await APIHarness.run { harness, client in
            let eventsOnly = try await harness.key([.events, .read])
            let response = try await client.call(.put, "/v1/users/u1", auth: eventsOnly, body: Self.ana)
            #expect(response.status == .forbidden && response.errorCode == "auth.missing_scope")
            #expect(response.errorMessage.contains("'users' scope"))
            #expect(try await harness.rows("SELECT COUNT(*) FROM users") == [["0"]])

            let usersOnly = try await harness.key([.users])
            #expect(try await client.call(.put, "/v1/users/u1", auth: usersOnly, body: Self.ana).status == .created)
            let event = try await client.call(.post, "/v1/events", auth: usersOnly, body: #"{"user_id": "u1", "name": "order_shipped"}"#)
            #expect(event.status == .forbidden)
            #expect(try await harness.rows("SELECT COUNT(*) FROM received_events") == [["0"]])
        }
    }

    @Test func aKeyPastItsRateGets429WithRetryAfterUntilTheBucketRefills() async throws {
        try await APIHarness.run { harness, client in
            let limited = try await harness.key([.users], rate: RateLiteral("2/s"))
            let other = try await harness.key([.users])
            #expect(try await client.call(.get, "/v1/users/nobody", auth: limited).status == .notFound)
            #expect(try await client.call(.get, "/v1/users/nobody", auth: limited).status == .notFound)
            let refused = try await client.call(.put, "/v1/users/u1", auth: limited, body: Self.ana)
            #expect(refused.status == .tooManyRequests && refused.errorCode == "auth.rate_limited")
            #expect(refused.headers[.retryAfter] == "1")
            #expect(try await harness.rows("SELECT COUNT(*) FROM users") == [["0"]], "a refused request changes nothing")
            // Another key has a bucket of its own.
            #expect(try await client.call(.get, "/v1/users/nobody", auth: other).status == .notFound)
            harness.clock.advance(by: 1)
            #expect(try await client.call(.put, "/v1/users/u1", auth: limited, body: Self.ana).status == .created)
        }
    }

    // MARK: users

    @Test func aUserIsCreatedReadUpdatedAndRefusedWhenBadWithTheFieldNamed() async throws {
        try await APIHarness.run { harness, client in
            let auth = try await harness.key([.users])
            let created = try await client.call(.put, "/v1/users/u1", auth: auth, body: Self.ana)
            #expect(created.status == .created)
            #expect(created.json["email"] as? String == "ana@example.com" && created.json["id"] as? String == "u1")
            let again = try await client.call(.put, "/v1/users/u1", auth: auth, body: #"{"email": "ana@example.org", "attributes": {"plan": "pro"}}"#)
            #expect(again.status == .ok)
            let read = try await client.call(.get, "/v1/users/u1", auth: auth)
            #expect(read.json["email"] as? String == "ana@example.org")
            #expect((read.json["attributes"] as? [String: Any])?["plan"] as? String == "pro")
            #expect(read.json["phone"] == nil, "PUT replaces the profile")

            let bad = try await client.call(.put, "/v1/users/u1", auth: auth, body: #"{"email": "not-an-email", "emial": "x"}"#)
            #expect(bad.status == .unprocessableContent && bad.errorCode == "request.invalid_field")
            #expect(bad.errorMessage.contains("invalid email 'not-an-email'") && bad.errorMessage.contains("did you mean 'email'?"))
            #expect(bad.errorField == "email")
            let plan = try await client.call(.put, "/v1/users/u1", auth: auth, body: #"{"attributes": {"plan": "gold"}}"#)
            #expect(plan.status == .unprocessableContent && plan.errorMessage.contains("gold"))
            let other = try await client.call(.put, "/v1/users/u1", auth: auth, body: #"{"id": "u2"}"#)
            #expect(other.status == .unprocessableContent && other.errorMessage.contains("not the user id of the URL"))
            let broken = try await client.call(.put, "/v1/users/u1", auth: auth, body: #"{"email": "#)
            #expect(broken.status == .badRequest && broken.errorCode == "request.invalid_json")
            let array = try await client.call(.put, "/v1/users/u1", auth: auth, body: "[1, 2]")
            #expect(array.status == .unprocessableContent && array.errorMessage.contains("expected a JSON object"))
            let huge = try await client.call(.put, "/v1/users/u1", auth: auth, body: #"{"first_name": ""# + String(repeating: "a", count: 2 << 20) + #""}"#)
            #expect(huge.status == .contentTooLarge && huge.errorCode == "request.too_large")
            // None of the refused bodies changed the user.
            #expect(try await client.call(.get, "/v1/users/u1", auth: auth).json["email"] as? String == "ana@example.org")
            #expect(try await client.call(.get, "/v1/users/u2", auth: auth).errorCode == "user.not_found")
        }
    }

    @Test func devicesAreRegisteredCheckedAndUnregistered() async throws {
        try await APIHarness.run { harness, client in
            let auth = try await harness.key([.users])
            _ = try await client.call(.put, "/v1/users/u1", auth: auth, body: Self.ana)
            let token = String(repeating: "ab", count: 32)
            let registered = try await client.call(.post, "/v1/users/u1/devices", auth: auth, body: #"{"platform": "ios", "token": "\#(token)"}"#)
            #expect(registered.status == .created && registered.json["changed"] as? Bool == true)
            let same = try await client.call(.post, "/v1/users/u1/devices", auth: auth, body: #"{"platform": "ios", "token": "\#(token)"}"#)
            #expect(same.status == .ok && same.json["changed"] as? Bool == false)
            let jpush = try await client.call(.post, "/v1/users/u1/devices", auth: auth, body: #"{"platform": "android", "service": "jpush", "token": "1a0018970a1b2c3d"}"#)
            #expect(jpush.status == .created)
            #expect(try await harness.rows("SELECT platform, service, address FROM devices ORDER BY platform") == [
                ["android", "jpush", "1a0018970a1b2c3d"], ["ios", "apns", token],
            ])

            let badPlatform = try await client.call(.post, "/v1/users/u1/devices", auth: auth, body: #"{"platform": "windows", "token": "x"}"#)
            #expect(badPlatform.status == .unprocessableContent && badPlatform.errorMessage.contains("windows"))
            let smuggled = try await client.call(.post, "/v1/users/u1/devices", auth: auth, body: #"{"platform": "ios", "token": "\#(token)"}], "email": "evil@example.com"#)
            #expect(smuggled.status == .badRequest, "a body that is not one JSON value is refused before it is read as a device")
            let nobody = try await client.call(.post, "/v1/users/u9/devices", auth: auth, body: #"{"platform": "ios", "token": "\#(token)"}"#)
            #expect(nobody.status == .notFound && nobody.errorCode == "user.not_found")

            let removed = try await client.call(.delete, "/v1/users/u1/devices/\(token)", auth: auth)
            #expect(removed.status == .ok)
            let again = try await client.call(.delete, "/v1/users/u1/devices/\(token)", auth: auth)
            #expect(again.status == .notFound && again.errorCode == "device.not_found")
            #expect(try await harness.rows("SELECT COUNT(*) FROM devices") == [["1"]])
            #expect(try await client.call(.get, "/v1/users/u1", auth: auth).json["email"] as? String == "ana@example.com", "the profile is untouched")
        }
    }

    /// A token a provider declared dead stays off through re-imports (`OutboxTests`), but the
    /// app registering it again through the API switches it back on: the app was just handed
    /// that token by the push service, and APNs documents a token registered again after its
    /// 410 as valid.
    @Test func anAppRegisteringADeadTokenAgainSwitchesItBackOn() async throws {
        try await APIHarness.run { harness, client in
            let auth = try await harness.key([.users])
            _ = try await client.call(.put, "/v1/users/u1", auth: auth, body: Self.ana)
            let token = String(repeating: "cd", count: 32)
            let device = #"{"platform": "ios", "token": "\#(token)"}"#
            #expect(try await client.call(.post, "/v1/users/u1/devices", auth: auth, body: device).status == .created)
            // What the dispatcher does with a 410 Unregistered.
            try await harness.store.write { db in try db.execute(sql: "UPDATE devices SET active = 0") }
            let again = try await client.call(.post, "/v1/users/u1/devices", auth: auth, body: device)
            #expect(again.status == .created && again.json["changed"] as? Bool == true)
            #expect(try await harness.rows("SELECT active FROM devices") == [["1"]])
        }
    }

    @Test func preferencesAreMergedAndAKeyNoSendReadsIsRefused() async throws {
        try await APIHarness.run { harness, client in
            let auth = try await harness.key([.users])
            _ = try await client.call(.put, "/v1/users/u1", auth: auth, body: Self.ana)
            let first = try await client.call(.patch, "/v1/users/u1/preferences", auth: auth, body: #"{"email:marketing": false}"#)
            #expect(first.status == .ok)
            let second = try await client.call(.put, "/v1/users/u1/preferences", auth: auth, body: #"{"sms": false}"#)
            #expect(second.json["preferences"] as? [String: Bool] == ["email:marketing": false, "sms": false])
            let typo = try await client.call(.patch, "/v1/users/u1/preferences", auth: auth, body: #"{"emial": false}"#)
            #expect(typo.status == .unprocessableContent && typo.errorMessage.contains("emial"))
            let notBool = try await client.call(.patch, "/v1/users/u1/preferences", auth: auth, body: #"{"sms": "no"}"#)
            #expect(notBool.status == .unprocessableContent && notBool.errorMessage.contains("expected true or false"))
            let read = try await client.call(.get, "/v1/users/u1/preferences", auth: auth)
            #expect(read.json["preferences"] as? [String: Bool] == ["email:marketing": false, "sms": false])
            #expect(try await client.call(.get, "/v1/users/u9/preferences", auth: auth).status == .notFound)
        }
    }

    // MARK: events

    @Test func anEventPlansItsTriggeredCampaignOnceAndItsIDRepeatsNothing() async throws {
        try await APIHarness.run { harness, client in
            let users = try await harness.key([.users])
            let events = try await harness.key([.events])
            _ = try await client.call(.put, "/v1/users/u1", auth: users, body: Self.ana)
            let body = #"{"user_id": "u1", "name": "order_shipped", "id": "evt-1", "at": "2026-12-01T10:00:00Z", "properties": {"order_id": "B-7"}}"#
            let first = try await client.call(.post, "/v1/events", auth: events, body: body)
            #expect(first.status == .created, "\(first.text)")
            #expect(first.json["new"] as? Bool == true)
            let campaigns = try #require(first.json["campaigns"] as? [[String: Any]])
            #expect(campaigns.count == 1)
            #expect(campaigns.first?["campaign"] as? String == "order-shipped" && campaigns.first?["result"] as? String == "planned")
            #expect(campaigns.first?["due_at"] as? String == "2026-12-01T10:05:00Z", "the campaign's 5-minute delay")
            let notifications = try #require(campaigns.first?["notifications"] as? [[String: Any]])
            // delivery: first_available: SMS reaches Ana, so push is not needed.
            #expect(notifications.map { "\($0["channel"]!) \($0["state"]!) \($0["reason"] ?? "")" } == ["sms planned ", "push skipped not_needed"])
            // The property reached the template.
            let content = try await harness.rows("SELECT content FROM notifications WHERE channel = 'sms'")
            #expect(content.first?.first?.contains("B-7") == true)

            let repeated = try await client.call(.post, "/v1/events", auth: events, body: body)
            #expect(repeated.status == .ok && repeated.json["new"] as? Bool == false)
            #expect(try await harness.rows("SELECT COUNT(*) FROM notifications") == [["2"]])
            let conflicting = try await client.call(.post, "/v1/events", auth: events, body: body.replacingOccurrences(of: "B-7", with: "C-9"))
            #expect(conflicting.status == .unprocessableContent && conflicting.errorCode == "event.conflicting_id")

            let unknown = try await client.call(.post, "/v1/events", auth: events, body: #"{"user_id": "u9", "name": "order_shipped"}"#)
            #expect(unknown.status == .notFound && unknown.errorCode == "user.not_found")
            let name = try await client.call(.post, "/v1/events", auth: events, body: #"{"user_id": "u1", "name": "order shipped"}"#)
            #expect(name.status == .unprocessableContent && name.errorField == "name")
            let missing = try await client.call(.post, "/v1/events", auth: events, body: #"{"name": "order_shipped"}"#)
            #expect(missing.status == .unprocessableContent && missing.errorCode == "request.missing_field" && missing.errorField == "user_id")
            let properties = try await client.call(.post, "/v1/events", auth: events, body: #"{"user_id": "u1", "name": "x", "properties": [1]}"#)
            #expect(properties.status == .unprocessableContent && properties.errorField == "properties")
            let extra = try await client.call(.post, "/v1/events", auth: events, body: #"{"user_id": "u1", "name": "x", "user": "u1"}"#)
            #expect(extra.status == .unprocessableContent && extra.errorField == "user")
            let at = try await client.call(.post, "/v1/events", auth: events, body: #"{"user_id": "u1", "name": "x", "at": "yesterday"}"#)
            #expect(at.status == .unprocessableContent && at.errorField == "at")
            #expect(try await harness.rows("SELECT COUNT(*) FROM received_events") == [["1"]], "no refused request recorded an event")

            // An event that triggers nothing is still kept, for rules that ask about it.
            let other = try await client.call(.post, "/v1/events", auth: events, body: #"{"user_id": "u1", "name": "viewed_item"}"#)
            #expect(other.status == .created && (other.json["campaigns"] as? [Any])?.isEmpty == true)
        }
    }

    // MARK: erasure

    @Test func deletingAUserCancelsTheirQueuedNotificationsAndClearsTheirData() async throws {
        try await APIHarness.run { harness, client in
            let users = try await harness.key([.users])
            let events = try await harness.key([.events])
            _ = try await client.call(.put, "/v1/users/u1", auth: users, body: Self.ana)
            _ = try await client.call(.put, "/v1/users/u2", auth: users, body: #"{"phone": "+14155550101"}"#)
            for user in ["u1", "u2"] {
                let planned = try await client.call(.post, "/v1/events", auth: events, body: #"{"user_id": "\#(user)", "name": "order_shipped"}"#)
                #expect(planned.status == .created)
            }
            // One of Ana's SMS is in a dispatcher's hands when she is erased.
            harness.clock.advance(by: 400)
            let claimed = try await harness.store.claim(channel: .sms, providers: .any, limit: 1, leaseOwner: "w", lease: .seconds(60), at: harness.clock.now)
            #expect(claimed.map(\.message.userID) == ["u1"])
            let erased = try await client.call(.delete, "/v1/users/u1", auth: users)
            #expect(erased.status == .ok)
            #expect(erased.json["cancelled"] as? Int == 1 && erased.json["anonymised"] as? Int == 2, "the SMS, and the push that was not needed")
            #expect(try await client.call(.get, "/v1/users/u1", auth: users).status == .notFound)
            #expect(try await client.call(.delete, "/v1/users/u1", auth: users).status == .notFound)

            let rows = try await harness.rows("SELECT user_id, address, content, state, reason FROM notifications WHERE channel = 'sms' ORDER BY id")
            #expect(rows.count == 2)
            #expect(rows[0][0].hasPrefix("erased-") && rows[0][1...] == ["NULL", "NULL", "skipped", "user_deleted"])
            #expect(rows[1][0] == "u2" && rows[1][3] == "planned", "another user's notification is untouched")
            #expect(try await harness.rows("SELECT COUNT(DISTINCT user_id) FROM notifications WHERE user_id LIKE 'erased-%'") == [["1"]])
            #expect(try await harness.rows("SELECT COUNT(*) FROM outbox") == [["1"]])
            #expect(try await harness.rows("SELECT COUNT(*) FROM received_events WHERE user_id = 'u1'") == [["0"]])
            #expect(try await harness.rows("SELECT COUNT(*) FROM events WHERE type = 'skipped' AND reason = 'user_deleted'") == [["1"]])
            let anything = try await harness.rows("SELECT COUNT(*) FROM notifications WHERE content LIKE '%Ana%' OR address LIKE '%0100%'")
            #expect(anything == [["0"]])
        }
    }

    // MARK: unsubscribe

    @Test func oneClickPostUnsubscribesOnceAndAGetNeverDoes() async throws {
        try await APIHarness.run { harness, client in
            let users = try await harness.key([.users])
            _ = try await client.call(.put, "/v1/users/u1", auth: users, body: Self.ana)
            let occurrence = try await harness.send("winter-sale", to: ["u1"])
            let key = NotificationKey(occurrenceID: occurrence.id, userID: "u1", channel: .email, device: "")
            let path = "/u/" + harness.links.token(for: key)
            // The planned email carries this very link.
            #expect(try await harness.rows("SELECT COUNT(*) FROM notifications WHERE channel = 'email' AND content LIKE ?", ["%\(path)%"]) == [["1"]])

            let page = try await client.call(.get, path)
            #expect(page.status == .ok && page.text.contains("<form method=\"post\">") && page.text.contains("Unsubscribe"))
            #expect(try await harness.rows("SELECT COUNT(*) FROM preferences") == [["0"]], "a GET (a link scanner) changes nothing")

            let first = try await client.call(.post, path, body: "List-Unsubscribe=One-Click", headers: ["Content-Type": "application/x-www-form-urlencoded"])
            #expect(first.status == .ok && first.text.contains("You are unsubscribed"))
            #expect(try await harness.rows("SELECT key, opted_in FROM preferences") == [["email:marketing", "0"]])
            let second = try await client.call(.post, path, body: "List-Unsubscribe=One-Click")
            #expect(second.status == .ok)
            #expect(try await harness.rows("SELECT COUNT(*) FROM events WHERE type = 'unsubscribed'") == [["1"]], "recorded once")

            // The opt-out holds for the next marketing send.
            let next = try await harness.send("winter-sale", to: ["u1"])
            let skipped = try await harness.rows("SELECT state, reason FROM notifications WHERE occurrence_id = ? AND channel = 'email'", [String(next.id)])
            #expect(skipped == [["skipped", "opted_out"]])

            // A forged or cut token is refused and changes nothing.
            var forged = harness.links.token(for: NotificationKey(occurrenceID: occurrence.id, userID: "u2", channel: .email, device: ""))
            forged.removeLast()
            for bad in ["/u/\(forged)", "/u/abc", "/u/" + UnsubscribeLinks(baseURL: "x", secret: "another").token(for: key)] {
                let refused = try await client.call(.post, bad, body: "List-Unsubscribe=One-Click")
                #expect(refused.status == .notFound && refused.text.contains("not valid"))
            }
            #expect(try await harness.rows("SELECT COUNT(*) FROM preferences") == [["1"]])
        }
    }
}
