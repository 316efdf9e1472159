import Foundation
import HeraldCore
import Testing

/// The HTTP API's roles (``APIStore``, ``ProviderEventStore``) on a SQLite file and a PostgreSQL
/// schema: the same answers to a send, its Idempotency-Key and its unknown users; one occurrence
/// when two servers take the same key at once; a webhook applied once when two servers receive
/// it at once; and erasure.
@Suite struct APIStoreConformanceTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// A transactional email to each user named, answered with the decisions' states.
    func plan(_ userIDs: [String], key: String?, body: String = "hello", guests: [User] = []) -> APISendPlan {
        APISendPlan(
            request: OccurrenceRequest(campaignID: "api:receipt", definitionHash: "h1", fireAt: now, kind: .users),
            appKey: "hk_test", idempotencyKey: key, requestHash: "sha:" + body, guests: guests, userIDs: userIDs, capReach: nil,
            decide: { occurrence, users, _ in
                users.map { user in
                    PlannedNotification(
                        occurrenceID: occurrence.id, campaignID: occurrence.campaignID, category: Campaign.transactionalCategory, userID: user.id,
                        channel: .email, provider: "sendgrid", address: user.email, dueAt: occurrence.fireAt,
                        decision: user.email == nil ? .skip(.noAddress, detail: nil) : .send(.email(EmailContent(subject: "Receipt", text: body)))
                    )
                }
            },
            answer: { occurrence, decisions in
                "occurrence \(occurrence.campaignID): " + decisions.map { "\($0.userID)=\($0.state.rawValue)" }.joined(separator: ",")
            }
        )
    }

    func answer(_ result: APISendResult) -> String {
        switch result {
        case .planned(_, _, let answer): "planned " + answer
        case .replay(let status, let body): "replay \(status) " + body
        case .keyReused: "key reused"
        }
    }

    func api(_ role: RoleStore) throws -> any APIStore & ProviderEventStore {
        try #require(role.store as? any APIStore & ProviderEventStore)
    }

    @Test(arguments: StoreKind.allCases)
    func aSendIsAnsweredTheSameWayAndItsKeyReplaysIt(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let store = try api(stores[0])
            _ = try await stores[0].store.upsertUsers([User(id: "u-1", email: "one@example.com"), User(id: "u-2")], at: now)
            let first = try await store.apiSend(plan(["u-1", "u-2"], key: "k-1"), at: now)
            #expect(answer(first) == "planned occurrence api:receipt: u-1=planned,u-2=skipped")
            #expect(answer(try await store.apiSend(plan(["u-1", "u-2"], key: "k-1"), at: now)) == "replay 202 occurrence api:receipt: u-1=planned,u-2=skipped")
            #expect(answer(try await store.apiSend(plan(["u-1"], key: "k-1", body: "other"), at: now)) == "key reused")
            // A user nobody knows: refused, nothing written.
            await #expect(throws: UnknownUsers.self) { try await store.apiSend(plan(["u-1", "u-nobody"], key: "k-2"), at: now) }
            #expect(try await stores[0].rows("SELECT COUNT(*) FROM occurrences") == [["1"]])
            #expect(try await stores[0].rows("SELECT user_id, state FROM notifications ORDER BY id") == [["u-1", "planned"], ["u-2", "skipped"]])
            #expect(try await stores[0].rows("SELECT COUNT(*) FROM outbox") == [["1"]])
            // A guest by address; the same address again is the same guest.
            let guest = User(id: "g-abc", email: "guest@example.com")
            #expect(answer(try await store.apiSend(plan(["g-abc"], key: nil, guests: [guest]), at: now)) == "planned occurrence api:receipt: g-abc=planned")
            #expect(answer(try await store.apiSend(plan(["g-abc"], key: nil, guests: [guest]), at: now)) == "planned occurrence api:receipt: g-abc=planned")
            #expect(try await stores[0].rows("SELECT COUNT(*) FROM users WHERE guest") == [["1"]])
            // A guest id that is a real user's: refused.
            await #expect(throws: GuestIDTaken.self) { try await store.apiSend(plan(["u-1"], key: nil, guests: [User(id: "u-1", email: "x@example.com")]), at: now) }
            #expect(await store.isReady())
            let guestKey = try await store.guestIDKey()
            #expect(guestKey.count >= 16)
            #expect(try await store.guestIDKey() == guestKey)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func twoServersTakingTheSameKeyAtOnceSendOnce(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 2) { stores in
            _ = try await stores[0].store.upsertUsers([User(id: "u-1", email: "one@example.com")], at: now)
            for round in 0..<8 {
                let answers = try await concurrently(stores) { _, role in
                    self.answer(try await self.api(role).apiSend(self.plan(["u-1"], key: "key-\(round)"), at: self.now))
                }
                // One plans, the other replays the same answer.
                #expect(Set(answers.map { $0.replacingOccurrences(of: "replay 202 ", with: "planned ") }).count == 1, "\(answers)")
            }
            #expect(try await stores[1].rows("SELECT COUNT(*) FROM occurrences") == [["8"]])
            #expect(try await stores[1].rows("SELECT COUNT(*) FROM notifications") == [["8"]])
            #expect(try await stores[1].rows("SELECT COUNT(*) FROM api_requests WHERE status = 202") == [["8"]])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aWebhookTwoServersReceiveAtOnceIsAppliedOnce(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 2) { stores in
            _ = try await stores[0].store.upsertUsers([User(id: "u-1", email: "one@example.com")], at: now)
            _ = try await api(stores[0]).apiSend(plan(["u-1"], key: nil), at: now)
            try await stores[0].execute("UPDATE notifications SET state = 'sent', provider_message_id = 'sg-1'")
            try await stores[0].execute("DELETE FROM outbox")
            let events: [ProviderEvent] = [
                ProviderEvent(target: .providerMessage("sg-1"), kind: .delivered, provider: "sendgrid", eventKey: "ev-delivered", at: now),
                ProviderEvent(target: .providerMessage("sg-1"), kind: .opened(machine: false), provider: "sendgrid", eventKey: "ev-open", at: now),
                ProviderEvent(target: .providerMessage("sg-1"), kind: .unsubscribed, provider: "sendgrid", eventKey: "ev-unsub", at: now),
                ProviderEvent(target: .providerMessage("sg-nobody"), kind: .delivered, provider: "sendgrid", eventKey: "ev-x", at: now),
            ]
            let summaries = try await concurrently(stores) { _, role in try await self.api(role).applyProviderEvents(events, at: self.now) }
            #expect(summaries.map(\.applied).reduce(0, +) == 3, "\(summaries)")
            #expect(summaries.map(\.repeated).reduce(0, +) == 3, "\(summaries)")
            #expect(summaries.map(\.unknown) == [1, 1])
            #expect(try await stores[0].rows("SELECT state FROM notifications") == [["delivered"]])
            #expect(try await stores[0].rows("SELECT type, COALESCE(reason, '') FROM events WHERE type IN ('delivered', 'opened', 'unsubscribed') ORDER BY id") == [
                ["delivered", ""], ["opened", "first"], ["unsubscribed", "provider"],
            ])
            #expect(try await stores[0].rows("SELECT key, opted_in FROM preferences").map { [$0[0], $0[1] == "1" || $0[1] == "true" ? "on" : "off"] } == [["email", "off"]])
            // A second person's open of the same message is a repeat.
            let again = try await api(stores[1]).applyProviderEvents(
                [ProviderEvent(target: .providerMessage("sg-1"), kind: .opened(machine: false), provider: "sendgrid", eventKey: "ev-open-2", at: now)], at: now
            )
            #expect(again.applied == 1)
            #expect(try await stores[0].rows("SELECT reason FROM events WHERE type = 'opened' ORDER BY id") == [["first"], ["repeat"]])
            #expect(try await api(stores[1]).optOutPhone("+15550100", at: now) == 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func erasingAUserCancelsWhatWaitsAndForgetsThem(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let store = try api(stores[0])
            _ = try await stores[0].store.upsertUsers([User(id: "u-1", email: "one@example.com"), User(id: "u-2", email: "two@example.com")], at: now)
            _ = try await store.apiSend(plan(["u-1", "u-2"], key: "k-1"), at: now)
            #expect(try await store.setPreferences(Preferences(["email:news": false]), userID: "u-1", at: now) == Preferences(["email:news": false]))
            #expect(try await store.registerDevices([Device(platform: .ios, token: "tok-1")], userID: "u-1") == true)
            #expect(try await store.registerDevices([Device(platform: .ios, token: "tok-1")], userID: "u-1") == false)
            #expect(try await store.unregisterDevice(address: "tok-1", userID: "u-1") == 1)
            #expect(try await store.setPreferences(Preferences(), userID: "u-nobody", at: now) == nil)
            #expect(try await store.eraseUser(id: "u-1", at: now) == ErasureSummary(cancelled: 1, anonymised: 1))
            #expect(try await store.eraseUser(id: "u-1", at: now) == nil)
            #expect(try await stores[0].rows("SELECT id FROM users") == [["u-2"]])
            #expect(try await stores[0].rows("SELECT COUNT(*) FROM preferences") == [["0"]])
            #expect(try await stores[0].rows("SELECT COUNT(*) FROM outbox") == [["1"]])
            let rows = try await stores[0].rows("SELECT user_id, state, COALESCE(reason, ''), COALESCE(address, '') FROM notifications ORDER BY id")
            #expect(rows.count == 2)
            #expect(rows[0][0].hasPrefix("erased-") && rows[0][1...] == ["skipped", "user_deleted", ""], "\(rows)")
            #expect(rows[1] == ["u-2", "planned", "", "two@example.com"])
            // The kept answer named them: gone.
            #expect(try await stores[0].rows("SELECT COUNT(*) FROM api_requests") == [["0"]])
        }
    }
}
