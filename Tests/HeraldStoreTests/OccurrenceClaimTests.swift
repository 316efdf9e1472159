import Foundation
import HeraldCore
import HeraldStore
import HeraldTesting
import Testing

/// How schedulers claim an occurrence: once across stores on one file, taken over when a lease
/// ends, never planned again once planned or expired.
@Suite struct OccurrenceClaimTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let lease = Duration.seconds(60)

    @Test func aClaimIsHeldUntilItsLeaseEndsThenResumedByAnother() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            guard case .created(let created) = try await store.claimOccurrence(
                campaignID: "digest", fireAt: now, definitionHash: "h1", owner: "a", lease: lease, at: now
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
                campaignID: "digest", fireAt: now, definitionHash: "h2", owner: "b", lease: lease, at: afterLease
            ) else {
                Issue.record("an occurrence whose lease ended was not resumed")
                return
            }
            #expect(resumed.id == created.id && !resumed.isNew && resumed.definitionHash == "h1")
            // a, back from a stall, has lost it.
            #expect(try await store.renewOccurrenceLease(id: created.id, owner: "a", lease: lease, at: afterLease) == false)

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
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM occurrences") == [["1"]])
        }
    }

    @Test func aReleasedOrOwnLeaseIsResumedAtOnce() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
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

    @Test func anExpiredOccurrenceIsRecordedOnceWithItsEventAndNeverPlanned() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            let fire = now.addingTimeInterval(-7200)
            #expect(try await store.recordExpiredOccurrence(campaignID: "digest", fireAt: fire, definitionHash: "h", detail: "missed by 2h", at: now))
            #expect(try await store.recordExpiredOccurrence(campaignID: "digest", fireAt: fire, definitionHash: "h", detail: "missed by 2h", at: now) == false)
            #expect(try await store.claimOccurrence(campaignID: "digest", fireAt: fire, definitionHash: "h", owner: "a", lease: lease, at: now) == .expired)
            #expect(try await store.rows(sql: "SELECT state, scheduled FROM occurrences") == [["expired", "1"]])
            #expect(try await store.rows(sql: "SELECT notification_id, campaign_id, type, reason, detail FROM events")
                == [["NULL", "digest", "skipped", "expired", "missed by 2h"]])
            #expect(try await store.lastFireInstant(campaignID: "digest") == fire)
        }
    }

    @Test func theLastFireInstantCountsScheduledOccurrencesOnly() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
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

    @Test func theFirstSightOfACampaignIsRecordedOnce() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            #expect(try await store.firstSeen(campaignID: "digest", at: now) == now)
            #expect(try await store.firstSeen(campaignID: "digest", at: now.addingTimeInterval(3600)) == now)
            // It survives reopening the file.
            let reopened = try makeStore(directory)
            #expect(try await reopened.firstSeen(campaignID: "digest", at: now.addingTimeInterval(7200)) == now)
        }
    }

    @Test func everyUnfinishedScheduledOccurrenceIsListedOldestFirst() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
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

    /// Schedulers in separate stores (as in separate processes) on one file, claiming the same
    /// occurrences at the same moment: exactly one creates each.
    @Test func concurrentClaimsOnOneFileCreateEachOccurrenceOnce() async throws {
        try await withTemporaryDirectory { directory in
            let stores = try (0..<4).map { _ in try makeStore(directory) }
            let instants = (0..<20).map { now.addingTimeInterval(Double($0) * 60) }
            let claims = try await withThrowingTaskGroup(of: [OccurrenceClaim].self) { group in
                for (index, store) in stores.enumerated() {
                    group.addTask {
                        var claims: [OccurrenceClaim] = []
                        for fire in instants {
                            claims.append(try await store.claimOccurrence(
                                campaignID: "digest", fireAt: fire, definitionHash: "h", owner: "s\(index)", lease: .seconds(60), at: fire
                            ))
                        }
                        return claims
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            let created = claims.filter { if case .created = $0 { true } else { false } }
            #expect(created.count == instants.count)
            #expect(claims.count - created.count == claims.filter { if case .held = $0 { true } else { false } }.count)
            #expect(try await stores[0].rows(sql: "SELECT COUNT(*), COUNT(DISTINCT fire_at) FROM occurrences") == [["20", "20"]])
        }
    }
}
