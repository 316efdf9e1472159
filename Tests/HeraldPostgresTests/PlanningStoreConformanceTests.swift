import Foundation
import HeraldCore
import Testing

/// The planning role, run the same way against a SQLite file and a PostgreSQL schema: what a
/// page writes, and that caps, the throttle and occurrences hold when several stores (as
/// several processes) plan at once.
@Suite struct PlanningStoreConformanceTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(arguments: StoreKind.allCases)
    func aPlannedPageWritesItsRowsAndEventsOnce(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let (store, rows) = (stores[0].store, stores[0].rows)
            let occurrence = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h1", at: now)
            #expect(occurrence.isNew && !occurrence.isPlanned && occurrence.fireAt == now)
            let id = occurrence.id
            var warned = plannedEmail(user: "u-1", occurrence: id, due: now)
            warned.warning = "{{first_name}} rendered empty"
            warned.variant = "b"
            warned.expiresAt = now.addingTimeInterval(3600)
            let batch = [
                warned,
                plannedEmail(user: "u-2", occurrence: id, due: now.addingTimeInterval(90)),
                plannedEmail(user: "u-3", occurrence: id, due: now, skip: .optedOut, detail: "email:marketing"),
                plannedPush(user: "u-1", token: "tok:a", occurrence: id, due: now),
                plannedEmail(user: "u-4", occurrence: id, category: Campaign.transactionalCategory, due: now),
                // The same key as the first: the first decision of a key wins.
                plannedEmail(user: "u-1", occurrence: id, due: now.addingTimeInterval(5), skip: .capped),
            ]
            #expect(try await store.savePlanned(batch, at: now) == PlanSummary(planned: 4, skipped: 1, duplicates: 1, dueLater: 1))
            #expect(try await store.savePlanned(batch, at: now) == PlanSummary(duplicates: 6))

            #expect(try await rows("""
                SELECT user_id, channel, device, state, COALESCE(reason, '-'), provider, COALESCE(variant, '-') FROM notifications ORDER BY id
                """) == [
                    ["u-1", "email", "", "planned", "-", "sendgrid", "b"], ["u-2", "email", "", "planned", "-", "sendgrid", "-"],
                    ["u-3", "email", "", "skipped", "opted_out", "sendgrid", "-"], ["u-1", "push", "tok:a", "planned", "-", "apns", "-"],
                    ["u-4", "email", "", "planned", "-", "sendgrid", "-"],
                ])
            #expect(try await rows("""
                SELECT n.user_id, o.channel, o.provider, o.attempts, COALESCE(o.lease_owner, '-') FROM outbox o
                JOIN notifications n ON n.id = o.notification_id ORDER BY n.id
                """) == [
                    ["u-1", "email", "sendgrid", "0", "-"], ["u-2", "email", "sendgrid", "0", "-"], ["u-1", "push", "apns", "0", "-"],
                    ["u-4", "email", "sendgrid", "0", "-"],
                ])
            #expect(try await rows("""
                SELECT n.user_id, e.channel, e.type, COALESCE(e.reason, '-'), COALESCE(e.detail, '-') FROM events e
                JOIN notifications n ON n.id = e.notification_id ORDER BY e.id
                """) == [
                    ["u-1", "email", "planned", "-", "-"], ["u-1", "email", "render_warning", "-", "{{first_name}} rendered empty"],
                    ["u-2", "email", "planned", "-", "-"], ["u-3", "email", "skipped", "opted_out", "email:marketing"],
                    ["u-1", "push", "planned", "-", "-"], ["u-4", "email", "planned", "-", "-"],
                ])
            // A slot per send that is not transactional; none for a skip.
            #expect(try await rows("SELECT user_id, channel, category, campaign_id FROM cap_ledger ORDER BY user_id, channel") == [
                ["u-1", "email", "marketing", "spring"], ["u-1", "push", "marketing", "spring"], ["u-2", "email", "marketing", "spring"],
            ])
            let history = try await store.capHistory(of: ["u-1", "u-2", "u-3"], since: now)
            #expect(history["u-1"]?.map(\.channel) == [.email, .push] && history["u-2"]?.map(\.at) == [now.addingTimeInterval(90)])
            #expect(history["u-3"] == nil)
            #expect(try await store.capHistory(of: ["u-1"], since: now.addingTimeInterval(1)).isEmpty)

            #expect(try await store.plannedUserIDs(occurrenceID: id, among: ["u-1", "u-3", "u-9"]) == ["u-1", "u-3"])
            #expect(try await store.plannedSendsByInterval(occurrenceID: id, intervalSeconds: 60) == [now: 3, now.addingTimeInterval(60): 1])
            let decisions = try await store.decisions(occurrenceID: id)
            #expect(decisions.map { "\($0.userID) \($0.channel.rawValue) \($0.state.rawValue) \($0.reason ?? "-") \($0.detail ?? "-")" } == [
                "u-1 email planned - -", "u-2 email planned - -", "u-3 email skipped opted_out email:marketing", "u-1 push planned - -",
                "u-4 email planned - -",
            ])
            #expect(decisions.map(\.device) == ["", "", "", "tok:a", ""] && decisions[1].dueAt == now.addingTimeInterval(90))

            // The occurrence keeps the definition it was first planned with.
            let again = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h2", at: now)
            #expect(again.id == id && !again.isNew && again.definitionHash == "h1")
            try await store.finishOccurrence(id: id, at: now)
            #expect(try await rows("SELECT state FROM occurrences") == [["planned"]])
            try await store.saveCampaign(id: "spring", definitionHash: "h1", conversion: Conversion(event: "purchase", within: DurationLiteral(amount: 3, unit: .days)), at: now)
            try await store.saveCampaign(id: "spring", definitionHash: "h1", conversion: nil, at: now.addingTimeInterval(5))
            #expect(try await rows("SELECT id, definition_hash, conversion_event FROM campaigns") == [["spring", "h1", "purchase"]])
        }
    }

    /// A cap of one send per day, checked against the ledger the page is given.
    static func cappedPage(_ users: [String], occurrence: Occurrence, since: Date, due: Date) -> PlanningPage {
        let decide: @Sendable (Set<String>, [String: [CapEntry]]) -> [PlannedNotification] = { ids, history in
            ids.sorted().map { user in
                (history[user] ?? []).isEmpty
                    ? plannedEmail(user: user, occurrence: occurrence.id, campaign: occurrence.campaignID, due: due)
                    : plannedEmail(user: user, occurrence: occurrence.id, campaign: occurrence.campaignID, due: due, skip: .capped)
            }
        }
        // Decided as if the ledger were empty: what a planner that read it before another's
        // page was written holds.
        return PlanningPage(userIDs: users, capHistorySince: since, expectedHistory: [:], decisions: decide(Set(users), [:]), decide: decide)
    }

    @Test(arguments: StoreKind.allCases)
    func aPageDecidedFromAStaleCapLedgerIsDecidedAgainInItsTransaction(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let store = stores[0].store
            let spring = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
            let summer = try await store.beginOccurrence(campaignID: "summer", fireAt: now, definitionHash: "h", at: now)
            let since = now.addingTimeInterval(-86_400)
            let first = try await store.savePlanned(Self.cappedPage(["u-1", "u-2", "u-3"], occurrence: spring, since: since, due: now), at: now)
            #expect(first == PlanSummary(planned: 3))
            let second = try await store.savePlanned(Self.cappedPage(["u-1", "u-2", "u-3", "u-4"], occurrence: summer, since: since, due: now), at: now)
            #expect(second == PlanSummary(planned: 1, skipped: 3))
            #expect(try await stores[0].rows("SELECT user_id FROM notifications WHERE campaign_id = 'summer' AND state = 'planned'") == [["u-4"]])
        }
    }

    /// Four stores (four processes) plan pages of the same users for four campaigns at once, each
    /// decided from an empty ledger: the cap of one a day holds, so each user gets one send.
    @Test(.timeLimit(.minutes(4)), arguments: StoreKind.allCases)
    func capsHoldWhenSeveralProcessesPlanTheSameUsersAtOnce(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 4) { stores in
            let since = now.addingTimeInterval(-86_400)
            for round in 0..<10 {
                let users = (1...30).map { "r\(round)-u\($0)" }
                var begun: [Occurrence] = []
                for index in stores.indices {
                    begun.append(try await stores[0].store.beginOccurrence(
                        campaignID: "c\(index)", fireAt: now.addingTimeInterval(Double(round)), definitionHash: "h", at: now
                    ))
                }
                let (now, occurrences) = (self.now, begun)
                let summaries = try await concurrently(stores) { index, store in
                    try await store.store.savePlanned(Self.cappedPage(users, occurrence: occurrences[index], since: since, due: now), at: now)
                }
                let sends = try await stores[0].rows("""
                    SELECT user_id, COUNT(*) FROM notifications WHERE user_id LIKE 'r\(round)-%' AND state = 'planned' GROUP BY user_id
                    """)
                #expect(sends.count == users.count && sends.allSatisfy { $0[1] == "1" }, "round \(round): \(sends.filter { $0[1] != "1" })")
                #expect(summaries.map(\.planned).reduce(0, +) == users.count, "round \(round): \(summaries)")
            }
        }
    }

    /// A throttle of `rate` sends per minute: each user in turn takes the first minute from
    /// `since` on with room left, given what the ledger holds.
    static func throttledPage(_ users: [String], occurrence: Occurrence, rate: Int, since: Date) -> PlanningPage {
        let throttle = PageThrottle(campaignID: occurrence.campaignID, rate: RateLiteral(count: rate, per: .minute), since: since) { usage, _ in
            var used = usage
            return users.map { user in
                var slot = since
                while used[slot, default: 0] >= rate { slot = slot.addingTimeInterval(60) }
                used[slot, default: 0] += 1
                return plannedEmail(user: user, occurrence: occurrence.id, campaign: occurrence.campaignID, due: slot)
            }
        }
        var page = PlanningPage(throttle.redecide([:], [:]))
        page.throttle = throttle
        return page
    }

    @Test(arguments: StoreKind.allCases)
    func aThrottledPageIsWrittenToTheLedgerAndDecidedAgainWhenAnotherSendFilledItsMinute(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let (store, rows) = (stores[0].store, stores[0].rows)
            let first = try await store.beginOccurrence(campaignID: "sale", fireAt: now, definitionHash: "h", at: now)
            let second = try await store.beginOccurrence(campaignID: "sale", fireAt: now.addingTimeInterval(1), definitionHash: "h", at: now)
            _ = try await store.savePlanned(Self.throttledPage((1...6).map { "a\($0)" }, occurrence: first, rate: 10, since: now), at: now)
            // Decided as if the minute were empty; 6 + 6 would pass 10.
            let summary = try await store.savePlanned(Self.throttledPage((1...6).map { "b\($0)" }, occurrence: second, rate: 10, since: now), at: now)
            #expect(summary == PlanSummary(planned: 6, dueLater: 2))
            #expect(try await store.throttleUsage(campaignID: "sale", intervalSeconds: 60, since: now) == [now: 10, now.addingTimeInterval(60): 2])
            #expect(try await store.throttleUsage(campaignID: "sale", intervalSeconds: 60, since: now.addingTimeInterval(60)) == [now.addingTimeInterval(60): 2])
            #expect(try await store.throttleUsage(campaignID: "sale", intervalSeconds: 3600, since: now).isEmpty)
            #expect(try await store.plannedSendsByInterval(occurrenceID: second.id, intervalSeconds: 60) == [now: 4, now.addingTimeInterval(60): 2])
            #expect(try await rows("SELECT campaign_id, used FROM throttle_ledger ORDER BY used") == [["sale", "2"], ["sale", "10"]])
        }
    }

    /// Four stores plan pages of one throttled campaign at once, each decided from an empty
    /// ledger: no minute gets more than the rate.
    @Test(.timeLimit(.minutes(4)), arguments: StoreKind.allCases)
    func theThrottleHoldsWhenSeveralProcessesPlanAtOnce(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 4) { stores in
            for round in 0..<10 {
                let campaign = "sale-\(round)"
                var begun: [Occurrence] = []
                for index in stores.indices {
                    begun.append(try await stores[0].store.beginOccurrence(
                        campaignID: campaign, fireAt: now.addingTimeInterval(Double(index)), definitionHash: "h", at: now
                    ))
                }
                let (now, occurrences) = (self.now, begun)
                _ = try await concurrently(stores) { index, store in
                    try await store.store.savePlanned(
                        Self.throttledPage((1...6).map { "s\(index)-\($0)" }, occurrence: occurrences[index], rate: 10, since: now), at: now
                    )
                }
                let perMinute = try await stores[0].rows("""
                    SELECT CAST(due_at AS INTEGER) / 60, COUNT(*) FROM notifications WHERE campaign_id = '\(campaign)' GROUP BY 1 ORDER BY 1
                    """).map { Int($0[1]) ?? 0 }
                #expect(perMinute.reduce(0, +) == 24 && perMinute.allSatisfy { $0 <= 10 }, "round \(round): \(perMinute)")
                let ledger = try await stores[0].store.throttleUsage(campaignID: campaign, intervalSeconds: 60, since: now)
                #expect(ledger.sorted { $0.key < $1.key }.map(\.value) == perMinute, "round \(round)")
            }
        }
    }
}

/// How a send finds its occurrence, on both stores: resumed when unfinished, refused when
/// already sent, new otherwise; and one occurrence for sends started together.
@Suite struct OccurrenceStartConformanceTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func request(_ campaign: String = "spring", at instant: Date, kind: Occurrence.Kind = .audience, again: Bool = false, new: Bool = false) -> OccurrenceRequest {
        OccurrenceRequest(campaignID: campaign, definitionHash: "h", fireAt: instant, kind: kind, resumesUnfinished: !new, repeatsFinished: again || new)
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    @Test(arguments: StoreKind.allCases)
    func aSendNowIsDatedNowAndTwoInOneMillisecondGetTheNext(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let store = stores[0].store
            let ahead = now.addingTimeInterval(3 * 86_400)
            guard case .started(let later) = try await store.startOccurrence(request(at: ahead, kind: .users, new: true), at: now),
                  case .started(let first) = try await store.startOccurrence(request(at: now, kind: .users, new: true), at: now),
                  case .started(let second) = try await store.startOccurrence(request(at: now, kind: .users, new: true), at: now),
                  case .started(let third) = try await store.startOccurrence(request(at: now, kind: .users, new: true), at: now)
            else {
                Issue.record("the sends did not start")
                return
            }
            #expect(later.fireAt == ahead && first.fireAt == now)
            #expect(Self.milliseconds(second.fireAt) == Self.milliseconds(now) + 1 && Self.milliseconds(third.fireAt) == Self.milliseconds(now) + 2)
            #expect(Set([later.id, first.id, second.id, third.id]).count == 4 && first.kind == .users && first.isNew)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anUnfinishedSendIsResumedAFinishedOneIsReportedAndAgainStartsANewOne(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let (store, rows) = (stores[0].store, stores[0].rows)
            var firstRequest = request(at: now)
            firstRequest.params = ["order_id": "A-7", "note": "naïve \"quote\""]
            guard case .started(let first) = try await store.startOccurrence(firstRequest, at: now) else {
                Issue.record("the first send did not start an occurrence")
                return
            }
            #expect(first.isNew && !first.isPlanned && first.kind == .audience)

            // Still planning (a crash, or another process right now): the same occurrence.
            let later = now.addingTimeInterval(30)
            #expect(try await store.startOccurrence(request(at: later), at: later) == .resumed(Occurrence(
                id: first.id, campaignID: "spring", fireAt: now, definitionHash: "h", params: ["order_id": "A-7", "note": "naïve \"quote\""],
                isNew: false, isPlanned: false
            )))

            // Planned, with two notifications still in the outbox: resumed, and known to be planned.
            _ = try await store.upsertUsers([User(id: "u-1"), User(id: "u-2"), User(id: "u-3")], at: now)
            _ = try await store.savePlanned([
                plannedEmail(user: "u-1", occurrence: first.id, due: now), plannedEmail(user: "u-2", occurrence: first.id, due: now),
                plannedEmail(user: "u-3", occurrence: first.id, due: now, skip: .optedOut),
            ], at: now)
            try await store.finishOccurrence(id: first.id, at: later)
            guard case .resumed(let waiting) = try await store.startOccurrence(request(at: later), at: later) else {
                Issue.record("a send with notifications waiting was not resumed")
                return
            }
            #expect(waiting.id == first.id && waiting.isPlanned)

            // Delivered: the campaign was sent, and a plain send says so and creates nothing.
            let claimed = try await store.claim(channel: .email, limit: 10, leaseOwner: "a", lease: .seconds(60), at: later)
            try await store.resolve(claimed.map { ($0, .sent(providerMessageID: "m-\($0.message.userID)", provider: "sendgrid")) }, at: later)
            let third = now.addingTimeInterval(3600)
            guard case .alreadySent(let record) = try await store.startOccurrence(request(at: third), at: third) else {
                Issue.record("a finished send was not reported")
                return
            }
            #expect(record.occurrence.id == first.id && record.recipients == 2 && record.sent == 2 && record.finishedAt == later)
            #expect(try await rows("SELECT COUNT(*) FROM occurrences") == [["1"]])

            // --again starts a second occurrence; a send to named users always starts its own.
            guard case .started(let again) = try await store.startOccurrence(request(at: third, again: true), at: third),
                  case .started(let named) = try await store.startOccurrence(request(at: third, kind: .users), at: third)
            else {
                Issue.record("--again or a send to named users did not start a new occurrence")
                return
            }
            #expect(again.id != first.id && again.fireAt == third)
            #expect(named.kind == .users && named.id != again.id && Self.milliseconds(named.fireAt) == Self.milliseconds(third) + 1)
        }
    }

    /// Four stores (four processes) start the same campaign at once, each with its own clock a
    /// few milliseconds apart: one occurrence is created and the others resume it. Twenty
    /// campaigns in a row on the same stores.
    @Test(.timeLimit(.minutes(4)), arguments: StoreKind.allCases)
    func sendsStartedTogetherShareOneOccurrence(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 4) { stores in
            for round in 0..<20 {
                let campaign = "sale-\(round)"
                let now = self.now
                let starts = try await concurrently(stores) { index, store in
                    let instant = now.addingTimeInterval(Double(index) * 0.003)
                    return try await store.store.startOccurrence(OccurrenceRequest(campaignID: campaign, definitionHash: "h", fireAt: instant), at: instant)
                }
                let ids = Set(starts.map { start -> Int64 in
                    switch start {
                    case .started(let occurrence), .resumed(let occurrence): occurrence.id
                    case .alreadySent: -1
                    }
                })
                #expect(ids.count == 1 && !ids.contains(-1), "round \(round): \(starts)")
                #expect(starts.filter { if case .started = $0 { true } else { false } }.count == 1, "round \(round)")
                #expect(try await stores[0].rows("SELECT COUNT(*) FROM occurrences WHERE campaign_id = '\(campaign)'") == [["1"]], "round \(round)")
            }
        }
    }
}
