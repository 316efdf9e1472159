import Foundation
import HeraldCore
import Testing

/// What `herald queue` and `herald dead-letter` read and change (``OutboxInspection``), the
/// providers' health the workers write for it, and the alert incidents they share
/// (``AlertIncidentStore``), on a SQLite file and a PostgreSQL schema: the same queue built
/// through the roles, the same figures, the same changes; and two processes acting at once
/// change each notification, and open each incident, once.
@Suite struct InspectionConformanceTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// The queue, built through the store's roles:
    /// - email/sendgrid: u-1 sent at +30 s; u-2 claimed and rescheduled to +90 s; u-3 dead;
    ///   u-4 leased until +90 s; u-5 and u-6 due at 0; u-7 due at +600 s.
    /// - sms/twilio: u-8 dead.
    /// Returns the notification ids by user.
    func seed(_ role: RoleStore) async throws -> [String: Int64] {
        let store = role.store
        let occurrence = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
        var batch = (1...6).map { plannedEmail(user: "u-\($0)", occurrence: occurrence.id, due: now) }
        batch.append(plannedEmail(user: "u-7", occurrence: occurrence.id, due: now.addingTimeInterval(600)))
        var sms = plannedEmail(user: "u-8", occurrence: occurrence.id, due: now)
        sms.channel = .sms
        sms.provider = "twilio"
        sms.address = "+821012345678"
        sms.decision = .send(.sms(SMSContent(body: "Hi")))
        batch.append(sms)
        _ = try await store.savePlanned(batch, at: now)
        let claimedAt = now.addingTimeInterval(30)
        let emails = try await store.claim(channel: .email, limit: 4, leaseOwner: "a", lease: .seconds(60), at: claimedAt)
        let texts = try await store.claim(channel: .sms, limit: 1, leaseOwner: "a", lease: .seconds(60), at: claimedAt)
        #expect(emails.map(\.message.userID) == ["u-1", "u-2", "u-3", "u-4"])
        try await store.resolve([
            (emails[0], .sent(providerMessageID: "sg-1", provider: "sendgrid")),
            (emails[1], .retry(at: now.addingTimeInterval(90), reason: "429 too many requests")),
            (emails[2], .dead(reason: "gave up after 1 attempts: 503")),
            (texts[0], .dead(reason: "gave up after 1 attempts: connection refused")),
        ], at: claimedAt)
        let ids = try await role.rows("SELECT user_id, id FROM notifications")
        return Dictionary(uniqueKeysWithValues: ids.map { ($0[0], Int64($0[1])!) })
    }

    func inspection(_ role: RoleStore) throws -> any OutboxInspection {
        try #require(role.store as? any OutboxInspection)
    }

    @Test(arguments: StoreKind.allCases)
    func theQueueCountsEachFigurePerChannelAndProviderWithTheBreakers(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let store = try inspection(stores[0])
            let empty = try await store.queueSnapshot(at: now)
            #expect(empty.rows.isEmpty && empty.isOutboxEmpty)
            _ = try await seed(stores[0])
            try await store.recordProviderHealth(ProviderHealth(provider: "twilio", channel: .sms, breaker: .open, pausedReason: "misconfigured: 401"), at: now)
            try await store.recordProviderHealth(ProviderHealth(provider: "mandrill", channel: .email), at: now)

            let at = now.addingTimeInterval(45)
            let snapshot = try await store.queueSnapshot(at: at)
            #expect(snapshot.at == at)
            #expect(snapshot.rows == [
                QueueRow(channel: .sms, provider: "twilio", dead: 1, breaker: .open, pausedReason: "misconfigured: 401"),
                QueueRow(channel: .email, provider: "mandrill"),
                QueueRow(channel: .email, provider: "sendgrid", queued: 5, dueNow: 2, inFlight: 1, retrying: 1, dead: 1, oldestDueAt: now, sentLastMinute: 1),
            ])
            #expect(!snapshot.isOutboxEmpty)
            // Later: u-4's lease has ended (a crashed dispatcher), u-2's retry is due, and the send
            // at +30 s is out of the last minute.
            let later = try await store.queueSnapshot(at: now.addingTimeInterval(100))
            #expect(later.rows.last == QueueRow(
                channel: .email, provider: "sendgrid", queued: 5, dueNow: 4, inFlight: 0, retrying: 2, dead: 1, oldestDueAt: now, sentLastMinute: 0
            ))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aTraceHoldsTheHeaderAndTheWholeTrailInOrder(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let ids = try await seed(stores[0])
            let store = try inspection(stores[0])
            let trace = try #require(try await store.trace(notificationID: ids["u-3"]!))
            #expect(trace.campaignID == "spring" && trace.userID == "u-3" && trace.channel == .email && trace.provider == "sendgrid")
            #expect(trace.fireAt == now && trace.dueAt == now && trace.address == "u-3@example.com")
            #expect(trace.state == .dead && trace.reason == "gave up after 1 attempts: 503" && trace.attempts == 1)
            #expect(trace.queuedDueAt == nil && trace.leaseUntil == nil)
            let claimedAt = now.addingTimeInterval(30)
            #expect(trace.events == [
                TraceEvent(type: "planned", at: now),
                TraceEvent(type: "sending", at: claimedAt, detail: "attempt 1"),
                TraceEvent(type: "dead", reason: "gave up after 1 attempts: 503", at: claimedAt),
            ])
            let leased = try #require(try await store.trace(notificationID: ids["u-4"]!))
            #expect(leased.state == .sending && leased.queuedDueAt == now && leased.leaseUntil == now.addingTimeInterval(90))
            let sent = try #require(try await store.trace(notificationID: ids["u-1"]!))
            #expect(sent.providerMessageID == "sg-1" && sent.events.last == TraceEvent(type: "sent", at: claimedAt, detail: "sendgrid"))
            #expect(try await store.traces(userID: "u-8", campaignID: "spring").map(\.channel) == [.sms])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func deadLettersAreListedByFilterWithTheirTotal(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let ids = try await seed(stores[0])
            let store = try inspection(stores[0])
            let all = try await store.deadLetters(matching: DeadLetterFilter(), limit: 10)
            #expect(all == DeadLetterPage(letters: [
                DeadLetter(notificationID: ids["u-3"]!, campaignID: "spring", userID: "u-3", channel: .email, provider: "sendgrid",
                           attempts: 1, reason: "gave up after 1 attempts: 503", deadAt: now.addingTimeInterval(30)),
                DeadLetter(notificationID: ids["u-8"]!, campaignID: "spring", userID: "u-8", channel: .sms, provider: "twilio",
                           attempts: 1, reason: "gave up after 1 attempts: connection refused", deadAt: now.addingTimeInterval(30)),
            ], total: 2))
            let sms = try await store.deadLetters(matching: DeadLetterFilter(channel: .sms), limit: 10)
            #expect(sms.total == 1 && sms.letters.map(\.userID) == ["u-8"])
            let page = try await store.deadLetters(matching: DeadLetterFilter(campaignID: "spring", channel: .email), limit: 1)
            #expect(page.total == 1 && page.letters.map(\.userID) == ["u-3"])
            let first = try await store.deadLetters(matching: DeadLetterFilter(), limit: 1)
            #expect(first.total == 2 && first.letters.map(\.userID) == ["u-3"])
            #expect(try await store.deadLetters(matching: DeadLetterFilter(campaignID: "autumn"), limit: 10) == DeadLetterPage(letters: [], total: 0))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aRequeuedDeadLetterIsDueNowWithAFreshSetOfAttemptsAndAnUnknownIdChangesNothing(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let ids = try await seed(stores[0])
            let (role, store) = (stores[0], try inspection(stores[0]))
            let dead = ids["u-3"]!, sent = ids["u-1"]!
            let retryAt = now.addingTimeInterval(200)
            let eventsBefore = try await role.eventCounts()

            await #expect(throws: OutboxInspectionError(unknownNotifications: [9_999])) {
                try await store.requeueDeadLetters(.ids([dead, 9_999]), at: retryAt)
            }
            #expect(try await role.eventCounts() == eventsBefore)
            #expect(try await store.trace(notificationID: dead)?.state == .dead)

            let change = try await store.requeueDeadLetters(.ids([sent, dead, dead]), at: retryAt)
            #expect(change == DeadLetterChange(changed: [dead], notDead: [.init(notificationID: sent, state: .sent)]))
            let trace = try #require(try await store.trace(notificationID: dead))
            #expect(trace.state == .planned && trace.reason == nil && trace.attempts == 0 && trace.queuedDueAt == retryAt)
            #expect(trace.events.last == TraceEvent(type: "requeued", at: retryAt, detail: "dead-letter retry by operator"))

            // The next claim is its first attempt again, in a new round of idempotency ids.
            let claimed = try await role.store.claim(channel: .email, limit: 10, leaseOwner: "b", lease: .seconds(60), at: retryAt)
            let again = try #require(claimed.first { $0.message.notificationID == dead })
            #expect(again.message.attempt == 1 && !again.wasInFlight)
            #expect(again.message.idempotencyID == OutboundMessage.idempotencyID(
                notificationID: dead, attempt: 1, campaignID: "spring", userID: "u-3", round: 1
            ))
            #expect(try await store.trace(notificationID: dead)?.events.map(\.type) == ["planned", "sending", "dead", "requeued", "sending"])
            #expect(try await store.requeueDeadLetters(.ids([dead]), at: retryAt) == DeadLetterChange(notDead: [.init(notificationID: dead, state: .sending)]))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func discardClosesOnlyTheSelectedDeadLettersAsFailedAndDeletesNothing(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let ids = try await seed(stores[0])
            let (role, store) = (stores[0], try inspection(stores[0]))
            let at = now.addingTimeInterval(300)
            #expect(try await store.discardDeadLetters(.all(DeadLetterFilter(channel: .sms)), at: at) == DeadLetterChange(changed: [ids["u-8"]!]))
            let trace = try #require(try await store.trace(notificationID: ids["u-8"]!))
            #expect(trace.state == .failed && trace.reason == "discarded")
            #expect(trace.events.last == TraceEvent(type: "discarded", reason: "discarded", at: at, detail: "dead-letter discard by operator"))
            #expect(try await store.trace(notificationID: ids["u-3"]!)?.state == .dead)
            #expect(try await store.discardDeadLetters(.all(DeadLetterFilter(channel: .sms)), at: at) == DeadLetterChange())
            #expect(try await role.rows("SELECT COUNT(*) FROM notifications") == [["8"]])
            #expect(try await role.eventCounts()["discarded"] == 1)
            #expect(try await store.discardDeadLetters(.all(DeadLetterFilter(campaignID: "spring")), at: at).changed == [ids["u-3"]!])
            #expect(try await store.queueSnapshot(at: at).rows.allSatisfy { $0.dead == 0 })
        }
    }

    /// Four operators (four processes) acting on every dead letter at the same moment, two
    /// retrying and two discarding: each notification changes once, by one of them, with one event.
    @Test(arguments: StoreKind.allCases)
    func fourProcessesActingOnTheDeadLettersAtOnceChangeEachOnce(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 4) { stores in
            let ids = try await seed(stores[0])
            let at = now.addingTimeInterval(200)
            let changes = try await concurrently(stores) { index, role in
                let store = try self.inspection(role)
                return index.isMultiple(of: 2)
                    ? try await store.requeueDeadLetters(.all(DeadLetterFilter()), at: at) : try await store.discardDeadLetters(.all(DeadLetterFilter()), at: at)
            }
            #expect(changes.flatMap(\.changed).sorted() == [ids["u-3"]!, ids["u-8"]!].sorted(), "\(changes)")
            let events = try await stores[0].eventCounts()
            let requeued = changes[0].changed.count + changes[2].changed.count
            #expect(events["requeued"] ?? 0 == requeued && events["discarded"] ?? 0 == 2 - requeued, "\(events)")
            let states = try await stores[1].rows("SELECT state, COUNT(*) FROM notifications WHERE id IN (\(ids["u-3"]!), \(ids["u-8"]!)) GROUP BY state ORDER BY state")
            #expect(states.map { $0[0] }.allSatisfy { ["planned", "failed"].contains($0) } && states.map { Int($0[1])! }.reduce(0, +) == 2, "\(states)")
            #expect(try await stores[0].rows("SELECT COUNT(*) FROM outbox") == [["\(5 + requeued)"]])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func providerHealthKeepsWhenTheBreakerOpenedAndChannelHealthCountsTheWindow(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let store = try inspection(stores[0])
            #expect(try await store.providerHealth().isEmpty)
            try await store.recordProviderHealth(ProviderHealth(provider: "sendgrid", channel: .email, breaker: .open), at: now)
            try await store.recordProviderHealth(ProviderHealth(provider: "sendgrid", breaker: .halfOpen), at: now.addingTimeInterval(30))
            #expect(try await store.providerHealth() == [ProviderHealth(
                provider: "sendgrid", channel: .email, breaker: .halfOpen, openedAt: now, updatedAt: now.addingTimeInterval(30)
            )])
            try await store.recordProviderHealth(ProviderHealth(provider: "sendgrid", breaker: .closed, pausedReason: "misconfigured: 401 bad key"), at: now.addingTimeInterval(60))
            #expect(try await store.providerHealth() == [ProviderHealth(
                provider: "sendgrid", channel: .email, breaker: .closed, pausedReason: "misconfigured: 401 bad key", updatedAt: now.addingTimeInterval(60)
            )])
            let given = now.addingTimeInterval(70)
            try await store.recordProviderHealth(ProviderHealth(provider: "sendgrid", breaker: .open, openedAt: given), at: now.addingTimeInterval(90))
            #expect(try await store.providerHealth().first?.openedAt == given)

            _ = try await seed(stores[0])
            // At +45 s, a window of 60 s: u-1 sent, u-2's retry, u-3's and u-8's dead letters; u-4
            // (leased) and u-7 (not due) are not waiting; u-5 and u-6 have waited 45 s.
            let health = try await store.channelHealth(window: 60, at: now.addingTimeInterval(45))
            #expect(health == [
                ChannelHealthSnapshot(channel: .push),
                ChannelHealthSnapshot(channel: .sms, attempts: 1, failures: 1, deadLetters: 1),
                ChannelHealthSnapshot(channel: .email, attempts: 3, failures: 2, deadLetters: 1, oldestDueAge: 45),
            ])
            #expect(try await store.channelHealth(window: 10, at: now.addingTimeInterval(45)).map(\.attempts) == [0, 0, 0])
        }
    }

    /// Workers in two processes seeing the same failure: one opens the incident (and posts the
    /// alert), one closes it (and posts the recovery).
    @Test(arguments: StoreKind.allCases)
    func anIncidentIsOpenedAndClosedOnceAcrossProcesses(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 2) { stores in
            let incidents = try stores.map { try #require($0.store as? any AlertIncidentStore) }
            let alert = Alert(kind: .misconfigured, channel: .email, provider: "sendgrid", message: "401", severity: .critical, startedAt: now, at: now)
            let queued = Alert(kind: .oldestDue, channel: .sms, message: "oldest 10 min", severity: .warning, startedAt: now, at: now)
            let opened = try await concurrently(stores) { index, _ in try await incidents[index].openIncident(alert) }
            #expect(opened.filter { $0 }.count == 1)
            #expect(try await incidents[1].openIncident(queued))
            #expect(try await incidents[0].openIncidents() == [alert, queued])
            let later = now.addingTimeInterval(60)
            // Seen again by one process at +40 s: a close that wants it unseen since +30 s keeps it.
            var seenAgain = alert
            seenAgain.at = now.addingTimeInterval(40)
            #expect(try await incidents[1].openIncident(seenAgain) == false)
            #expect(try await incidents[0].closeIncident(alert.key, unseenSince: now.addingTimeInterval(30), at: later) == nil)
            let closed = try await concurrently(stores) { index, _ in try await incidents[index].closeIncident(alert.key, unseenSince: later, at: later) }
            #expect(closed.compactMap { $0 } == [Alert(kind: .misconfigured, channel: .email, provider: "sendgrid", message: "401", severity: .critical, startedAt: now, at: later)])
            #expect(try await incidents[0].openIncidents() == [queued])
        }
    }

    /// Three workers in three processes say they are alive: each reads back the live ones (a
    /// worker not seen within the window is not counted, one gone an hour is forgotten), a
    /// worker that withdraws is gone for the others, and each gets its share of a provider.
    @Test(arguments: StoreKind.allCases)
    func workersAreCountedWhileTheyAnnounceThemselvesAndForgottenOnceGone(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 3) { stores in
            let presence = try stores.map { try #require($0.store as? any WorkerPresenceStore) }
            @Sendable func worker(_ id: String, _ channels: Set<Channel>, seen: Date) -> WorkerPresence {
                WorkerPresence(id: id, channels: channels, host: "host-\(id)", processID: 100, startedAt: now.addingTimeInterval(-3600), seenAt: seen)
            }
            // A worker last seen two hours ago is forgotten by the next announcement.
            #expect(try await presence[0].announce(worker("old", [.sms], seen: now.addingTimeInterval(-7200)), liveSince: now.addingTimeInterval(-7210)).map(\.id) == ["old"])
            let live = try await concurrently(stores) { index, _ in
                let seen = index == 0 ? now.addingTimeInterval(-8) : now
                return try await presence[index].announce(worker("w\(index)", index == 2 ? [.email] : [.sms, .email], seen: seen), liveSince: now.addingTimeInterval(-10))
            }
            #expect(live.map { $0.map(\.id) }.allSatisfy { Set($0).isSubset(of: ["w0", "w1", "w2"]) })
            // w1 seen again 5 s later; w0 last seen 8 s before: past the window, only w1 and w2 count.
            let later = now.addingTimeInterval(5)
            let seen = try await presence[1].announce(worker("w1", [.sms, .email], seen: later), liveSince: later.addingTimeInterval(-10))
            #expect(seen == [worker("w1", [.sms, .email], seen: later), worker("w2", [.email], seen: now)])
            #expect(ProviderShares.shares(providers: ["twilio": [.sms], "sendgrid": [.email]], live: seen) == ["twilio": 1, "sendgrid": 0.5])
            #expect(try await presence[2].liveWorkers(since: now.addingTimeInterval(-10)).map(\.id) == ["w0", "w1", "w2"])
            #expect(try await stores[0].rows("SELECT id FROM workers WHERE id = 'old'").isEmpty)
            try await presence[2].withdraw(workerID: "w2")
            #expect(try await presence[0].liveWorkers(since: now.addingTimeInterval(-10)).map(\.id) == ["w0", "w1"])
            // An earlier announcement (clocks differ between machines) does not move a worker back.
            _ = try await presence[0].announce(worker("w1", [.sms], seen: now), liveSince: now.addingTimeInterval(-10))
            #expect(try await presence[0].liveWorkers(since: later).map(\.channels) == [[.sms]])
        }
    }
}
