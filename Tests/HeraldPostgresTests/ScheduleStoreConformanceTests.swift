import Foundation
import HeraldCore
import Testing

/// How schedulers claim occurrences, on both stores: once across stores (processes), taken over
/// when a lease ends, never planned again once planned or expired; and triggered occurrences
/// whose planning stalled, found and claimed.
@Suite struct ScheduleStoreConformanceTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let lease = Duration.seconds(60)

    @Test(arguments: StoreKind.allCases)
    func aClaimIsHeldUntilItsLeaseEndsThenResumedByAnother(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let store = stores[0].store
            guard case .created(let created) = try await store.claimOccurrence(
                campaignID: "digest", fireAt: now, definitionHash: "h1", definitionText: "name: Digest\n", owner: "a", lease: lease, at: now
            ) else {
                Issue.record("the first claim did not create the occurrence")
                return
            }
            #expect(created.isNew && !created.isPlanned && created.kind == .audience && created.definitionHash == "h1")

            // Another scheduler, while a's lease runs: held.
            let soon = now.addingTimeInterval(30)
            #expect(try await store.claimOccurrence(campaignID: "digest", fireAt: now, definitionHash: "h2", owner: "b", lease: lease, at: soon)
                == .held(by: "a", until: now.addingTimeInterval(60)))
            // a renews: still held at 61 s.
            #expect(try await store.renewOccurrenceLease(id: created.id, owner: "a", lease: lease, at: soon))
            let later = now.addingTimeInterval(61)
            #expect(try await store.claimOccurrence(campaignID: "digest", fireAt: now, definitionHash: "h2", owner: "b", lease: lease, at: later)
                == .held(by: "a", until: soon.addingTimeInterval(60)))

            // a stops renewing (a crash): b resumes it, with the definition it started with.
            let afterLease = soon.addingTimeInterval(60)
            guard case .resumed(let resumed) = try await store.claimOccurrence(
                campaignID: "digest", fireAt: now, definitionHash: "h2", definitionText: "name: Digest 2\n", owner: "b", lease: lease, at: afterLease
            ) else {
                Issue.record("an occurrence whose lease ended was not resumed")
                return
            }
            #expect(resumed.id == created.id && !resumed.isNew && resumed.definitionHash == "h1" && resumed.definitionText == "name: Digest\n")
            // a, back from a stall, has lost it.
            #expect(try await store.renewOccurrenceLease(id: created.id, owner: "a", lease: lease, at: afterLease) == false)
            #expect(try await store.unfinishedScheduledOccurrences().map(\.definitionText) == ["name: Digest\n"])

            // Planned: never claimed again, even with another definition.
            try await store.finishOccurrence(id: created.id, at: afterLease)
            guard case .planned(let planned) = try await store.claimOccurrence(
                campaignID: "digest", fireAt: now, definitionHash: "h3", owner: "c", lease: lease, at: afterLease
            ) else {
                Issue.record("a planned occurrence was claimed again")
                return
            }
            #expect(planned.id == created.id && planned.isPlanned)
            #expect(try await store.renewOccurrenceLease(id: created.id, owner: "b", lease: lease, at: afterLease) == false)
            #expect(try await stores[0].rows("SELECT COUNT(*) FROM occurrences") == [["1"]])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aReleasedOrOwnLeaseIsResumedAtOnce(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let store = stores[0].store
            guard case .created(let created) = try await store.claimOccurrence(
                campaignID: "digest", fireAt: now, definitionHash: "h", owner: "a", lease: lease, at: now
            ) else {
                Issue.record("not created")
                return
            }
            // The same owner after a restart (a fixed --owner): its own lease, resumed at once.
            #expect(try await store.claimOccurrence(campaignID: "digest", fireAt: now, definitionHash: "h", owner: "a", lease: lease, at: now)
                == .resumed(Occurrence(id: created.id, campaignID: "digest", fireAt: now, definitionHash: "h", isNew: false)))
            // Released on shutdown: another resumes it at once.
            try await store.releaseOccurrenceLease(id: created.id, owner: "a")
            #expect(try await store.claimOccurrence(campaignID: "digest", fireAt: now, definitionHash: "h", owner: "b", lease: lease, at: now)
                == .resumed(Occurrence(id: created.id, campaignID: "digest", fireAt: now, definitionHash: "h", isNew: false)))
            // Releasing someone else's lease changes nothing.
            try await store.releaseOccurrenceLease(id: created.id, owner: "a")
            #expect(try await store.claimOccurrence(campaignID: "digest", fireAt: now, definitionHash: "h", owner: "c", lease: lease, at: now)
                == .held(by: "b", until: now.addingTimeInterval(60)))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anExpiredOccurrenceIsRecordedOnceWithItsEventAndNeverPlanned(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let (store, rows) = (stores[0].store, stores[0].rows)
            let fire = now.addingTimeInterval(-7200)
            let recorded = try await store.recordExpiredOccurrence(campaignID: "digest", fireAt: fire, definitionHash: "h", detail: "missed by 2h", at: now)
            #expect(recorded)
            #expect(try await store.recordExpiredOccurrence(campaignID: "digest", fireAt: fire, definitionHash: "h", detail: "missed by 2h", at: now) == false)
            #expect(try await store.claimOccurrence(campaignID: "digest", fireAt: fire, definitionHash: "h", owner: "a", lease: lease, at: now) == .expired)
            #expect(try await rows("SELECT state, CASE WHEN scheduled THEN 'scheduled' ELSE '-' END FROM occurrences") == [["expired", "scheduled"]])
            #expect(try await rows("SELECT notification_id, campaign_id, type, reason, detail FROM events")
                == [["NULL", "digest", "skipped", "expired", "missed by 2h"]])
            #expect(try await store.lastFireInstant(campaignID: "digest") == fire)
            #expect(try await store.unfinishedScheduledOccurrences().isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theLastFireInstantCountsScheduledOccurrencesOnly(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let store = stores[0].store
            #expect(try await store.lastFireInstant(campaignID: "digest") == nil)
            // `herald send --now` is not an occurrence of the schedule.
            _ = try await store.startOccurrence(OccurrenceRequest(campaignID: "digest", definitionHash: "h", fireAt: now.addingTimeInterval(500)), at: now)
            #expect(try await store.lastFireInstant(campaignID: "digest") == nil)
            let fire = now.addingTimeInterval(0.123)
            _ = try await store.claimOccurrence(campaignID: "digest", fireAt: fire, definitionHash: "h", owner: "a", lease: lease, at: now)
            _ = try await store.claimOccurrence(campaignID: "other", fireAt: now.addingTimeInterval(900), definitionHash: "h", owner: "a", lease: lease, at: now)
            // Kept to the millisecond, the occurrence's key.
            let last = try #require(try await store.lastFireInstant(campaignID: "digest"))
            #expect(abs(last.timeIntervalSince(fire)) < 0.000_5)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theFirstSightOfACampaignIsRecordedOnce(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 2) { stores in
            let first = try await stores[0].store.firstSeen(campaignID: "digest", at: now)
            #expect(first == now)
            #expect(try await stores[0].store.firstSeen(campaignID: "digest", at: now.addingTimeInterval(3600)) == now)
            // Another process sees the same.
            #expect(try await stores[1].store.firstSeen(campaignID: "digest", at: now.addingTimeInterval(7200)) == now)
            #expect(try await stores[1].store.firstSeen(campaignID: "weekly", at: now.addingTimeInterval(7200)) == now.addingTimeInterval(7200))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func everyUnfinishedScheduledOccurrenceIsListedOldestFirst(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let store = stores[0].store
            let instants = [now.addingTimeInterval(7200), now, now.addingTimeInterval(3600)]
            var ids: [Date: Int64] = [:]
            for fire in instants {
                guard case .created(let occurrence) = try await store.claimOccurrence(
                    campaignID: "digest", fireAt: fire, definitionHash: "h", owner: "a", lease: lease, at: now
                ) else { continue }
                ids[fire] = occurrence.id
            }
            try await store.finishOccurrence(id: try #require(ids[now.addingTimeInterval(3600)]), at: now)
            _ = try await store.startOccurrence(OccurrenceRequest(campaignID: "digest", definitionHash: "h", fireAt: now.addingTimeInterval(60)), at: now)
            #expect(try await store.unfinishedScheduledOccurrences().map(\.fireAt) == [now, now.addingTimeInterval(7200)])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aStalledTriggeredOccurrenceIsFoundWithItsEventAndClaimedOnce(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let store = stores[0].store
            _ = try await store.upsertUsers([User(id: "u-1"), User(id: "u-2")], at: now)
            let due = now.addingTimeInterval(0.25)
            var receipts: [EventReceipt] = []
            for (index, user) in ["u-1", "u-2"].enumerated() {
                let instant = now.addingTimeInterval(Double(index))
                receipts.append(try await store.recordEvent(
                    ReceivedEvent(externalID: "e-\(user)", userID: user, name: "signup", properties: try EventProperties(json: #"{"plan": "pro"}"#), receivedAt: instant),
                    triggering: [TriggeredCampaign(campaignID: "welcome", definitionHash: "h", dueAt: due)], at: instant
                ))
            }
            let first = try #require(receipts[0].occurrences["welcome"])
            let second = try #require(receipts[1].occurrences["welcome"])
            // Only those created before the cut-off, oldest first, with their events.
            #expect(try await store.stalledTriggeredOccurrences(createdBefore: now.addingTimeInterval(0.5), at: now, limit: 10).map(\.occurrence.id) == [first.id])
            let stalled = try await store.stalledTriggeredOccurrences(createdBefore: now.addingTimeInterval(60), at: now, limit: 10)
            #expect(stalled.map(\.occurrence) == [
                Occurrence(id: first.id, campaignID: "welcome", fireAt: due, definitionHash: "h", kind: .trigger, isNew: false),
                Occurrence(id: second.id, campaignID: "welcome", fireAt: due, definitionHash: "h", kind: .trigger, isNew: false),
            ])
            #expect(stalled.map(\.event) == receipts.map(\.event))
            #expect(try await store.stalledTriggeredOccurrences(createdBefore: now.addingTimeInterval(60), at: now, limit: 1).count == 1)

            // Claimed by one process; another cannot take it until the lease ends; its owner can.
            #expect(try await store.claimTriggeredOccurrence(id: first.id, owner: "a", lease: lease, at: now))
            #expect(try await store.claimTriggeredOccurrence(id: first.id, owner: "b", lease: lease, at: now.addingTimeInterval(30)) == false)
            #expect(try await store.claimTriggeredOccurrence(id: first.id, owner: "a", lease: lease, at: now.addingTimeInterval(30)))
            #expect(try await store.stalledTriggeredOccurrences(createdBefore: now.addingTimeInterval(60), at: now.addingTimeInterval(60), limit: 10)
                .map(\.occurrence.id) == [second.id])
            #expect(try await store.claimTriggeredOccurrence(id: first.id, owner: "b", lease: lease, at: now.addingTimeInterval(90)))
            // Planned: not stalled, and not to be claimed.
            try await store.finishOccurrence(id: second.id, at: now)
            #expect(try await store.claimTriggeredOccurrence(id: second.id, owner: "b", lease: lease, at: now) == false)
            #expect(try await store.stalledTriggeredOccurrences(createdBefore: now.addingTimeInterval(60), at: now.addingTimeInterval(200), limit: 10)
                .map(\.occurrence.id) == [first.id])
        }
    }

    /// Schedulers in four stores (four processes) claim the same twenty occurrences at the same
    /// moment: exactly one creates each, the others find it held.
    @Test(.timeLimit(.minutes(4)), arguments: StoreKind.allCases)
    func concurrentClaimsCreateEachOccurrenceOnce(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 4) { stores in
            let instants = (0..<20).map { now.addingTimeInterval(Double($0) * 60) }
            let claims = try await concurrently(stores) { index, store in
                var claims: [OccurrenceClaim] = []
                for fire in instants {
                    claims.append(try await store.store.claimOccurrence(
                        campaignID: "digest", fireAt: fire, definitionHash: "h", owner: "s\(index)", lease: .seconds(60), at: fire
                    ))
                }
                return claims
            }.flatMap { $0 }
            let created = claims.filter { if case .created = $0 { true } else { false } }
            #expect(created.count == instants.count)
            #expect(claims.count - created.count == claims.filter { if case .held = $0 { true } else { false } }.count)
            #expect(try await stores[0].rows("SELECT COUNT(*), COUNT(DISTINCT fire_at) FROM occurrences") == [["20", "20"]])
        }
    }
}
