import Foundation
import HeraldCore
import Testing

/// The outbox role, run the same way against a SQLite file and a PostgreSQL schema: leases,
/// attempts and idempotency ids, outcomes, releases, and claims from several stores (as several
/// processes) at once.
@Suite struct OutboxStoreConformanceTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// Plans emails to `users`, due now, in a new occurrence.
    func plan(_ users: [String], _ store: RoleStore, campaign: String = "spring", at instant: Date? = nil) async throws {
        let instant = instant ?? now
        let occurrence = try await store.store.beginOccurrence(campaignID: campaign, fireAt: instant, definitionHash: "h", at: instant)
        _ = try await store.store.savePlanned(users.map { plannedEmail(user: $0, occurrence: occurrence.id, campaign: campaign, due: instant) }, at: instant)
    }

    @Test(arguments: StoreKind.allCases)
    func aClaimIsLeasedAndAnExpiredLeaseIsReclaimedWithTheSameAttempt(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let store = stores[0].store
            try await plan(["u-1", "u-2", "u-3"], stores[0])

            let first = try await store.claim(channel: .email, limit: 2, leaseOwner: "a", lease: .seconds(60), at: now)
            #expect(first.map(\.message.userID) == ["u-1", "u-2"])
            #expect(first.allSatisfy { !$0.wasInFlight && $0.message.attempt == 1 && $0.leaseOwner == "a" && $0.claimNumber == 1 })
            #expect(first.first?.message.content == .email(EmailContent(subject: "Hi", text: "Hello u-1")))
            #expect(first.first?.message.address == "u-1@example.com" && first.first?.message.provider == "sendgrid")
            #expect(first.first?.dueAt == now && first.first?.category == "marketing")
            #expect(try await store.leases(channel: .email, at: now.addingTimeInterval(1)) == (2, now.addingTimeInterval(60)))
            // Another dispatcher sees only the unleased row while the lease holds, up to its last instant.
            let second = try await store.claim(channel: .email, limit: 10, leaseOwner: "b", lease: .seconds(60), at: now.addingTimeInterval(59.999))
            #expect(second.map(\.message.userID) == ["u-3"])
            #expect(try await store.claim(channel: .push, limit: 10, leaseOwner: "b", lease: .seconds(60), at: now).isEmpty)

            // "a" crashed: from the end of its lease on, its rows are taken over and marked as
            // repeats of the same attempt, with the same idempotency id as the send that may have
            // gone out.
            let taken = try await store.claim(channel: .email, limit: 10, leaseOwner: "c", lease: .seconds(60), at: now.addingTimeInterval(60))
            #expect(taken.map(\.message.userID) == ["u-1", "u-2"])
            #expect(taken.allSatisfy { $0.wasInFlight && $0.message.attempt == 1 && $0.claimNumber == 2 })
            #expect(taken.map(\.message.idempotencyID) == first.map(\.message.idempotencyID))
            #expect(try await stores[0].eventCounts() == ["planned": 3, "sending": 3, "reclaimed": 2])
            #expect(try await stores[0].rows("""
                SELECT n.user_id, n.state, n.attempts, o.attempts, o.claims, o.lease_owner FROM outbox o JOIN notifications n ON n.id = o.notification_id
                ORDER BY n.user_id
                """) == [["u-1", "sending", "1", "1", "2", "c"], ["u-2", "sending", "1", "1", "2", "c"], ["u-3", "sending", "1", "1", "1", "b"]])
            #expect(try await stores[0].rows("SELECT detail FROM events WHERE type = 'reclaimed'") == [["attempt 1"], ["attempt 1"]])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func outcomesMoveNotificationsToTheirNextStateWithOneEventEach(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let (store, rows) = (stores[0].store, stores[0].rows)
            _ = try await store.upsertUsers(
                [User(id: "u-9", devices: [Device(platform: .android, token: "dead-token")])] + (1...7).map { User(id: "u-\($0)") }, at: now
            )
            let occurrence = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
            _ = try await store.savePlanned(
                (1...7).map { plannedEmail(user: "u-\($0)", occurrence: occurrence.id, due: now) }
                    + [plannedPush(user: "u-9", token: "dead-token", occurrence: occurrence.id, due: now)],
                at: now
            )
            let emails = try await store.claim(channel: .email, limit: 10, leaseOwner: "a", lease: .seconds(60), at: now)
            let pushes = try await store.claim(channel: .push, limit: 10, leaseOwner: "a", lease: .seconds(60), at: now)
            #expect(emails.count == 7 && pushes.count == 1)
            let retryAt = now.addingTimeInterval(120)
            let postponeAt = now.addingTimeInterval(300)
            try await store.resolve([
                (emails[0], .sent(providerMessageID: "sg-1", provider: "sendgrid")),
                (emails[1], .retry(at: retryAt, reason: "429 too many requests")),
                (emails[2], .failed(reason: "invalid address")),
                (emails[3], .dead(reason: "5 attempts")),
                (emails[4], .skipped(.optedOut, detail: "email:marketing")),
                (emails[5], .postponed(at: postponeAt, reason: "circuit open")),
                (emails[6], .optedOutAtProvider(reason: "unsubscribed at SendGrid")),
                (pushes[0], .failed(reason: "UNREGISTERED", deactivateAddress: true)),
                // The same claim again: already resolved above, so late.
                (emails[0], .failed(reason: "twice")),
            ], at: now)

            #expect(try await rows("""
                SELECT user_id, channel, state, COALESCE(reason, '-'), COALESCE(provider_message_id, '-') FROM notifications ORDER BY id
                """) == [
                    ["u-1", "email", "sent", "-", "sg-1"], ["u-2", "email", "planned", "-", "-"], ["u-3", "email", "failed", "invalid address", "-"],
                    ["u-4", "email", "dead", "5 attempts", "-"], ["u-5", "email", "skipped", "opted_out", "-"], ["u-6", "email", "planned", "-", "-"],
                    ["u-7", "email", "skipped", "opted_out", "-"], ["u-9", "push", "failed", "UNREGISTERED", "-"],
                ])
            // The retry counts its attempt, the postponed send does not; both wait unleased.
            #expect(try await rows("""
                SELECT n.user_id, o.attempts, COALESCE(o.lease_owner, '-') FROM outbox o JOIN notifications n ON n.id = o.notification_id ORDER BY n.user_id
                """) == [["u-2", "1", "-"], ["u-6", "0", "-"]])
            // And on the notification, which the claim counted too.
            #expect(try await rows("SELECT user_id, attempts FROM notifications WHERE user_id IN ('u-2', 'u-6') ORDER BY user_id") == [["u-2", "1"], ["u-6", "0"]])
            #expect(try await rows("""
                SELECT n.user_id, e.type, COALESCE(e.reason, '-'), COALESCE(e.detail, '-') FROM events e JOIN notifications n ON n.id = e.notification_id
                WHERE e.type NOT IN ('planned', 'sending') ORDER BY e.id
                """) == [
                    ["u-1", "sent", "-", "sendgrid"], ["u-2", "retry_scheduled", "-", "429 too many requests"],
                    ["u-3", "failed", "invalid address", "-"], ["u-4", "dead", "5 attempts", "-"], ["u-5", "skipped", "opted_out", "email:marketing"],
                    ["u-6", "postponed", "-", "circuit open"], ["u-7", "unsubscribed", "-", "email opt-out reported by sendgrid: unsubscribed at SendGrid"],
                    ["u-7", "skipped", "opted_out", "unsubscribed at SendGrid"], ["u-9", "failed", "UNREGISTERED", "-"],
                    ["u-1", "late_outcome", "-", "attempt 1 by a: failed(reason: \"twice\", deactivateAddress: false)"],
                ])
            let users = try await store.users(matching: .ids(["u-7", "u-9"]), after: nil, limit: 2)
            #expect(users.first { $0.id == "u-7" }?.preferences.allows(channel: .email, category: "transactional") == false)
            #expect(users.first { $0.id == "u-9" }?.devices.first?.isActive == false)

            #expect(try await store.nextDue(channel: .email) == retryAt)
            #expect(try await store.claim(channel: .email, limit: 10, leaseOwner: "a", lease: .seconds(60), at: now.addingTimeInterval(60)).isEmpty)
            let retried = try await store.claim(channel: .email, limit: 10, leaseOwner: "b", lease: .seconds(60), at: postponeAt)
            #expect(retried.map(\.message.userID) == ["u-2", "u-6"])
            #expect(retried.map(\.message.attempt) == [2, 1] && retried.allSatisfy { !$0.wasInFlight })
            #expect(retried[0].message.idempotencyID != emails[1].message.idempotencyID)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anOutcomeForAClaimNoLongerHeldIsRecordedButChangesNothing(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let (store, rows) = (stores[0].store, stores[0].rows)
            try await plan(["u-1", "u-2"], stores[0])
            // u-1: taken over by another dispatcher; u-2: the same dispatcher claimed it again
            // after its first send hung past the lease.
            let slow = try await store.claim(channel: .email, limit: 2, leaseOwner: "a", lease: .seconds(60), at: now)
            let takeover = try await store.claim(channel: .email, limit: 1, leaseOwner: "b", lease: .seconds(60), at: now.addingTimeInterval(61))
            let again = try await store.claim(channel: .email, limit: 1, leaseOwner: "a", lease: .seconds(60), at: now.addingTimeInterval(61))
            #expect(takeover.map(\.message.userID) == ["u-1"] && again.map(\.message.userID) == ["u-2"] && again[0].claimNumber == 2)
            try await store.resolve([
                (takeover[0], .sent(providerMessageID: "p-1", provider: "sendgrid")), (again[0], .sent(providerMessageID: "p-2", provider: "sendgrid")),
            ], at: now.addingTimeInterval(62))
            try await store.resolve([
                (slow[0], .retry(at: now.addingTimeInterval(100), reason: "timeout")), (slow[1], .failed(reason: "invalid address")),
            ], at: now.addingTimeInterval(63))

            #expect(try await rows("SELECT state, attempts, COALESCE(reason, '-'), provider_message_id FROM notifications ORDER BY id") == [
                ["sent", "1", "-", "p-1"], ["sent", "1", "-", "p-2"],
            ])
            #expect(try await rows("SELECT COUNT(*) FROM outbox") == [["0"]])
            let events = try await stores[0].eventCounts()
            #expect(events["late_outcome"] == 2 && events["sent"] == 2 && events["retry_scheduled"] == nil && events["failed"] == nil)
        }
    }

    /// A provider's webhook can overtake the outcome (SendGrid names the notification in its
    /// events): what it said is further along than `sent` and is kept.
    @Test(arguments: StoreKind.allCases)
    func aDeliveryReportThatOvertookTheOutcomeIsKept(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let (store, rows) = (stores[0].store, stores[0].rows)
            try await plan(["u-1", "u-2", "u-3"], stores[0])
            let claimed = try await store.claim(channel: .email, limit: 3, leaseOwner: "a", lease: .seconds(60), at: now)
            try await stores[0].execute("UPDATE notifications SET state = 'delivered' WHERE user_id = 'u-1'")
            try await stores[0].execute("UPDATE notifications SET state = 'failed', reason = 'bounced' WHERE user_id = 'u-2'")
            try await store.resolve(claimed.map { ($0, .sent(providerMessageID: "m-\($0.message.userID)", provider: "sendgrid")) }, at: now)
            #expect(try await rows("SELECT user_id, state, COALESCE(reason, '-'), provider_message_id FROM notifications ORDER BY user_id") == [
                ["u-1", "delivered", "-", "m-u-1"], ["u-2", "failed", "bounced", "m-u-2"], ["u-3", "sent", "-", "m-u-3"],
            ])
            #expect(try await rows("SELECT COUNT(*) FROM outbox") == [["0"]])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aReleasedClaimIsFreeAtOnceOrRepeatedWithTheSameIdempotencyID(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let (store, rows) = (stores[0].store, stores[0].rows)
            try await plan(["u-1", "u-2", "u-3"], stores[0])
            let claimed = try await store.claim(channel: .email, limit: 3, leaseOwner: "a", lease: .seconds(60), at: now)
            // Never handed to a provider: free at once, and the attempt does not count.
            try await store.release([claimed[0]], wasHandedOver: false, at: now.addingTimeInterval(1))
            // Perhaps at the provider: the lease ends now, and the next claim repeats the attempt.
            try await store.release([claimed[1]], wasHandedOver: true, at: now.addingTimeInterval(1))
            // A claim another dispatcher took over is not the releaser's to give back.
            let taken = try await store.claim(channel: .email, limit: 3, leaseOwner: "b", lease: .seconds(60), at: now.addingTimeInterval(61))
            #expect(taken.map(\.message.userID) == ["u-1", "u-2", "u-3"])
            try await store.release([claimed[2]], wasHandedOver: false, at: now.addingTimeInterval(62))

            #expect(taken.map(\.message.attempt) == [1, 1, 1] && taken.map(\.wasInFlight) == [false, true, true])
            #expect(taken[0].message.idempotencyID == claimed[0].message.idempotencyID, "attempt 1 again: it never left")
            #expect(taken[1].message.idempotencyID == claimed[1].message.idempotencyID)
            #expect(try await rows("SELECT COUNT(*) FROM outbox WHERE lease_owner = 'b'") == [["3"]])
            #expect(try await rows("SELECT n.user_id, e.detail FROM events e JOIN notifications n ON n.id = e.notification_id WHERE e.type = 'released' ORDER BY e.id") == [
                ["u-1", "claimed but not sent before shutdown; attempt 1 not counted"],
                ["u-2", "attempt 1 stopped without an outcome at shutdown; it is repeated with the same idempotency id"],
            ])
            #expect(try await stores[0].eventCounts() == ["planned": 3, "sending": 4, "released": 2, "reclaimed": 2])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func leasesAreRenewedByTheirOwnerAndEndedForATakeOver(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let store = stores[0].store
            try await plan(["u-1", "u-2"], stores[0])
            let claimed = try await store.claim(channel: .email, limit: 2, leaseOwner: "a", lease: .seconds(60), at: now)
            let ids = claimed.map(\.message.notificationID)
            #expect(try await store.renewLeases(of: ids, owner: "b", lease: .seconds(60), at: now.addingTimeInterval(30)).isEmpty)
            #expect(try await store.renewLeases(of: ids + [999_999], owner: "a", lease: .seconds(60), at: now.addingTimeInterval(30)) == Set(ids))
            #expect(try await store.renewLeases(of: [], owner: "a", lease: .seconds(60), at: now.addingTimeInterval(30)).isEmpty)
            // A renewal that began earlier but committed later (a slow write) keeps the longer lease.
            #expect(try await store.renewLeases(of: ids, owner: "a", lease: .seconds(60), at: now.addingTimeInterval(10)) == Set(ids))
            #expect(try await store.leases(channel: .email, at: now.addingTimeInterval(80)) == (2, now.addingTimeInterval(90)))
            #expect(try await store.claim(channel: .email, limit: 2, leaseOwner: "b", lease: .seconds(60), at: now.addingTimeInterval(80)).isEmpty)
            #expect(try await store.leases(channel: .email, at: now.addingTimeInterval(80)) == (2, now.addingTimeInterval(90)))
            // A lease that ended is not renewed: the row may be someone else's by now.
            #expect(try await store.renewLeases(of: ids, owner: "a", lease: .seconds(60), at: now.addingTimeInterval(95)).isEmpty)

            #expect(try await store.releaseLeases(at: now.addingTimeInterval(81)) == 2)
            #expect(try await store.releaseLeases(at: now.addingTimeInterval(81)) == 0)
            #expect(try await store.leases(channel: .email, at: now.addingTimeInterval(81)) == (0, nil))
            let taken = try await store.claim(channel: .email, limit: 2, leaseOwner: "b", lease: .seconds(60), at: now.addingTimeInterval(81))
            #expect(taken.count == 2 && taken.allSatisfy(\.wasInFlight))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func eachProviderLaneClaimsItsOwnRows(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let store = stores[0].store
            #expect(try await store.nextDue(channel: .email) == nil)
            let occurrence = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
            let batch = ["sendgrid", "mailchimp", "ses"].enumerated().map { index, provider in
                var email = plannedEmail(user: "u-\(index)", occurrence: occurrence.id, due: now.addingTimeInterval(Double(index)))
                email.provider = provider
                return email
            }
            _ = try await store.savePlanned(batch, at: now)
            #expect(try await store.nextDue(channel: .email, providers: .only("mailchimp")) == now.addingTimeInterval(1))
            #expect(try await store.nextDue(channel: .email, providers: .except(["sendgrid"])) == now.addingTimeInterval(1))
            #expect(try await store.nextDue(channel: .email, providers: .except([])) == now)
            #expect(try await store.nextDue(channel: .push) == nil)
            let later = now.addingTimeInterval(10)
            let lane = try await store.claim(channel: .email, providers: .only("ses"), limit: 10, leaseOwner: "a", lease: .seconds(60), at: later)
            #expect(lane.map(\.message.provider) == ["ses"])
            let rest = try await store.claim(channel: .email, providers: .except(["sendgrid", "ses"]), limit: 10, leaseOwner: "a", lease: .seconds(60), at: later)
            #expect(rest.map(\.message.provider) == ["mailchimp"])
            #expect(try await store.claim(channel: .email, limit: 10, leaseOwner: "a", lease: .seconds(60), at: later).map(\.message.provider) == ["sendgrid"])
        }
    }

    /// Four stores (four processes) claim small batches of the same channel at once until it is
    /// empty: every row is handed out exactly once. Twenty rounds of 120 rows.
    @Test(.timeLimit(.minutes(4)), arguments: StoreKind.allCases)
    func claimsFromSeveralProcessesNeverHandOneRowToTwoOwners(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 4) { stores in
            for round in 0..<20 {
                let instant = now.addingTimeInterval(Double(round))
                try await plan((1...120).map { "r\(round)-u\($0)" }, stores[0], campaign: "c\(round)", at: instant)
                let claims = try await concurrently(stores) { index, store in
                    var mine: [ClaimedNotification] = []
                    while true {
                        let batch = try await store.store.claim(channel: .email, limit: 7, leaseOwner: "p\(index)", lease: .seconds(60), at: instant)
                        if batch.isEmpty { return mine }
                        mine += batch
                    }
                }
                let ids = claims.flatMap { $0.map(\.message.notificationID) }
                #expect(ids.count == 120 && Set(ids).count == 120, "round \(round): \(ids.count) claims of \(Set(ids).count) rows")
                #expect(claims.allSatisfy { $0.allSatisfy { $0.claimNumber == 1 && !$0.wasInFlight } }, "round \(round)")
                #expect(try await stores[0].rows("SELECT COUNT(*) FROM events WHERE type = 'sending' AND campaign_id = 'c\(round)'") == [["120"]], "round \(round)")
                try await stores[0].store.resolve(claims.flatMap { $0 }.map { ($0, .sent(providerMessageID: "m", provider: "sendgrid")) }, at: instant)
                #expect(try await stores[0].rows("SELECT COUNT(*) FROM outbox") == [["0"]], "round \(round)")
            }
        }
    }

    /// A throttled campaign's backlog (120 emails due at once at 600 a minute) claimed by four
    /// stores (four processes) at once, second after second: between them they take exactly the
    /// second's 10, the store's send ledger counting for all; the rows held back stay as they
    /// were (not leased, no attempt), a campaign without a throttle is not held up behind them,
    /// and a row already past its expiry takes no room (it is skipped, not sent).
    @Test(.timeLimit(.minutes(4)), arguments: StoreKind.allCases)
    func aThrottledBacklogIsClaimedAtTheCampaignsRateByEveryProcessTogether(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 4) { stores in
            let throttles = ["sale": RateLiteral(count: 600, per: .minute)]
            try await plan((1...120).map { String(format: "s%03d", $0) }, stores[0], campaign: "sale")
            try await plan((1...15).map { "r\($0)" }, stores[0], campaign: "receipt")
            try await stores[0].execute("UPDATE notifications SET expires_at = \(now.timeIntervalSince1970) WHERE user_id IN ('s005', 's006', 's007')")
            var claimedSales: [String] = []
            for second in 0..<5 {
                // Part way into the second, as a worker's clock would be.
                let instant = now.addingTimeInterval(Double(second) + 0.25)
                let claims = try await concurrently(stores) { index, store in
                    var mine: [ClaimedNotification] = []
                    while true {
                        let batch = try await store.store.claim(
                            channel: .email, providers: .any, limit: 7, leaseOwner: "p\(index)", lease: .seconds(60), throttles: throttles, at: instant
                        )
                        if batch.isEmpty { return mine }
                        mine += batch
                    }
                }.flatMap { $0 }
                let sales = claims.filter { $0.message.campaignID == "sale" }.map(\.message.userID)
                #expect(Set(sales).count == sales.count, "second \(second): a row claimed twice")
                if second == 0 {
                    let receipts = claims.filter { $0.message.campaignID == "receipt" }.map(\.message.userID)
                    #expect(receipts.count == 15, "the unthrottled campaign waits for nothing: \(receipts.sorted()), sales \(sales.sorted())")
                    #expect(sales.count == 13, "the second's 10 and the 3 expired rows: \(sales.sorted())")
                    #expect(Set(["s005", "s006", "s007"]).isSubset(of: sales))
                } else {
                    #expect(sales.count == 10, "second \(second): \(sales.count) claimed")
                }
                claimedSales += sales
                // The rest wait until the next second, and a dispatcher sleeps until then.
                let next = try await stores[0].store.nextClaimable(channel: .email, providers: .any, throttles: throttles, at: instant)
                #expect(next == NextClaimable(at: now.addingTimeInterval(Double(second + 1)), isHeldBack: true), "second \(second)")
            }
            #expect(claimedSales.count == 53 && Set(claimedSales).count == 53)
            // Rows held back were never touched: no lease, no attempt, no event.
            #expect(try await stores[0].rows("""
                SELECT COUNT(*), SUM(o.attempts), COUNT(o.lease_owner) FROM outbox o JOIN notifications n ON n.id = o.notification_id
                WHERE n.campaign_id = 'sale' AND n.state = 'planned'
                """) == [["67", "0", "0"]])
            #expect(try await stores[0].rows("SELECT COUNT(*) FROM events WHERE type = 'sending' AND campaign_id = 'sale'") == [["53"]])
            #expect(try await stores[0].rows("SELECT COUNT(*) FROM send_ledger") == [["1"]])

            // Without throttles, nothing is held back, and rows leased to a dispatcher are its
            // own: the lane has nothing else to wait for.
            let rest = try await stores[1].store.claim(channel: .email, limit: 100, leaseOwner: "p1", lease: .seconds(60), at: now.addingTimeInterval(5))
            #expect(rest.count == 67)
            #expect(try await stores[0].store.nextClaimable(channel: .email, providers: .any, throttles: [:], at: now.addingTimeInterval(5))
                == NextClaimable(at: nil, isHeldBack: false))
            try await stores[1].store.resolve(rest.map { ($0, .retry(at: now.addingTimeInterval(120), reason: "503")) }, at: now.addingTimeInterval(5))
            #expect(try await stores[0].store.nextClaimable(channel: .email, providers: .any, throttles: throttles, at: now.addingTimeInterval(5))
                == NextClaimable(at: now.addingTimeInterval(120), isHeldBack: false))
        }
    }

    /// A throttled campaign with nothing waiting on the channel costs a claim nothing: its send
    /// ledger is not read or written. Once it has rows, they go at its rate again.
    @Test(arguments: StoreKind.allCases)
    func aThrottledCampaignWithNothingWaitingLeavesItsLedgerAlone(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let store = stores[0].store
            let throttles = ["sale": RateLiteral(count: 60, per: .minute), "flash": RateLiteral(count: 60, per: .minute)]
            try await plan((1...5).map { "r\($0)" }, stores[0], campaign: "receipt")
            let receipts = try await store.claim(channel: .email, providers: .any, limit: 10, leaseOwner: "a", lease: .seconds(60), throttles: throttles, at: now)
            #expect(receipts.map(\.message.userID) == ["r1", "r2", "r3", "r4", "r5"])
            #expect(try await stores[0].rows("SELECT COUNT(*) FROM send_ledger") == [["0"]])
            // Once the campaign has rows waiting, the claim counts them against its throttle.
            try await plan((1...5).map { "s\($0)" }, stores[0], campaign: "sale")
            let sales = try await store.claim(channel: .email, providers: .any, limit: 10, leaseOwner: "a", lease: .seconds(60), throttles: throttles, at: now)
            #expect(sales.map(\.message.userID) == ["s1"], "one a second")
            #expect(try await stores[0].rows("SELECT campaign_id, used FROM send_ledger WHERE used > 0") == [["sale", "1"]])
            #expect(try await store.claim(channel: .email, providers: .any, limit: 10, leaseOwner: "a", lease: .seconds(60), throttles: throttles, at: now).isEmpty)
        }
    }

    /// Lanes of one channel, and channels, share a campaign's throttle: its rate is for all its
    /// sends together, as planning counts it.
    @Test(arguments: StoreKind.allCases)
    func aCampaignsThrottleIsSharedByEveryLaneAndChannelItSendsOn(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 2) { stores in
            let throttles = ["sale": RateLiteral(count: 120, per: .minute)]
            let occurrence = try await stores[0].store.beginOccurrence(campaignID: "sale", fireAt: now, definitionHash: "h", at: now)
            let batch = (1...6).map { index in
                var email = plannedEmail(user: "u-\(index)", occurrence: occurrence.id, campaign: "sale", due: now)
                email.provider = index.isMultiple(of: 2) ? "sendgrid" : "mandrill"
                return email
            } + (1...6).map { plannedPush(user: "u-\($0)", token: "t\($0)", occurrence: occurrence.id, campaign: "sale", due: now) }
            _ = try await stores[0].store.savePlanned(batch, at: now)
            var claimed = 0
            for (index, (channel, lane)) in [(Channel.email, ProviderSelection.only("sendgrid")), (.email, .except(["sendgrid"])), (.push, .any)].enumerated() {
                claimed += try await stores[index % 2].store.claim(
                    channel: channel, providers: lane, limit: 10, leaseOwner: "p", lease: .seconds(60), throttles: throttles, at: now
                ).count
            }
            #expect(claimed == 2, "120 a minute is 2 a second, whatever the lane")
        }
    }
}
