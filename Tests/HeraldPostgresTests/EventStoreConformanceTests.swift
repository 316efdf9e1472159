import Foundation
import HeraldCore
import Testing

/// Events received for users, on both stores: recorded with their triggered occurrences in one
/// transaction, once per external id (also from several processes at once), never for an
/// unknown user.
@Suite struct EventStoreConformanceTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func event(_ name: String = "cart_abandoned", user: String = "u-1", id: String? = nil, properties: String = "{}", at instant: Date) throws -> ReceivedEvent {
        ReceivedEvent(externalID: id, userID: user, name: name, properties: try EventProperties(json: properties), receivedAt: instant)
    }

    @Test(arguments: StoreKind.allCases)
    func anEventIsRecordedWithOneOccurrencePerTriggeredCampaignDueAtItsOwnTime(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let (store, rows) = (stores[0].store, stores[0].rows)
            _ = try await store.upsertUsers([User(id: "u-1"), User(id: "u-2")], at: now)
            let due = now.addingTimeInterval(3600.25)
            let properties = #"{"sku": "sku-123", "items": [1, 2], "cart": {"total": 49.5}, "note": "naïve \"q\""}"#
            let receipt = try await store.recordEvent(
                try event(properties: properties, at: now),
                triggering: [
                    TriggeredCampaign(campaignID: "cart-reminder", definitionHash: "h1", dueAt: due),
                    TriggeredCampaign(campaignID: "cart-survey", definitionHash: "h2", dueAt: now),
                ], at: now
            )
            #expect(receipt.isNew && receipt.event.id > 0)
            let occurrence = try #require(receipt.occurrences["cart-reminder"])
            #expect(occurrence.fireAt == due && occurrence.isNew && !occurrence.isPlanned && occurrence.definitionHash == "h1" && occurrence.kind == .trigger)
            #expect(receipt.occurrences["cart-survey"]?.fireAt == now)
            #expect(try await rows("SELECT campaign_id, kind, state, definition_hash FROM occurrences ORDER BY id") == [
                ["cart-reminder", "trigger", "planning", "h1"], ["cart-survey", "trigger", "planning", "h2"],
            ])

            // Another user's event at the same instant: its own occurrence, due at the same exact
            // time, its key a millisecond on.
            let other = try await store.recordEvent(
                try event(user: "u-2", at: now), triggering: [TriggeredCampaign(campaignID: "cart-reminder", definitionHash: "h1", dueAt: due)], at: now
            )
            let second = try #require(other.occurrences["cart-reminder"])
            #expect(second.id != occurrence.id && second.fireAt == due)
            #expect(try await rows("SELECT fire_at - MIN(fire_at) OVER () FROM occurrences WHERE campaign_id = 'cart-reminder' ORDER BY id") == [["0"], ["1"]])

            let read = try await store.receivedEvents(userID: "u-1", named: nil, limit: 10)
            #expect(read == [receipt.event])
            #expect(read.first?.properties == (try EventProperties(json: properties)) && read.first?.properties.values["sku"] == .string("sku-123"))
            #expect(try await store.receivedEvents(userID: "u-1", named: "purchase", limit: 10).isEmpty)
            #expect(try await store.receivedEvents(userID: "u-1", named: "cart_abandoned", limit: 10).count == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func eventsAreReadNewestFirstUpToTheLimit(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let store = stores[0].store
            _ = try await store.upsertUsers([User(id: "u-1")], at: now)
            for (offset, name) in [(0.0, "view"), (60, "purchase"), (30, "view"), (60, "view")] {
                _ = try await store.recordEvent(try event(name, at: now.addingTimeInterval(offset)), triggering: [], at: now)
            }
            let newest = try await store.receivedEvents(userID: "u-1", named: "view", limit: 2)
            #expect(newest.map(\.receivedAt) == [now.addingTimeInterval(60), now.addingTimeInterval(30)])
            #expect(try await store.receivedEvents(userID: "u-1", named: nil, limit: 10).map(\.name) == ["view", "purchase", "view", "view"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anUnknownUserIsRefusedAndNothingIsWritten(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let (store, rows) = (stores[0].store, stores[0].rows)
            _ = try await store.upsertUsers([User(id: "u-1")], at: now)
            await #expect(throws: EventError(.unknownUser, "no user with id 'u-404'")) {
                try await store.recordEvent(
                    try event(user: "u-404", at: now),
                    triggering: [TriggeredCampaign(campaignID: "cart-reminder", definitionHash: "h", dueAt: now)], at: now
                )
            }
            #expect(try await rows("SELECT COUNT(*) FROM received_events") == [["0"]])
            #expect(try await rows("SELECT COUNT(*) FROM occurrences") == [["0"]])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theSameExternalIDIsOneEventAndAConflictingOneIsRefused(_ kind: StoreKind) async throws {
        try await withRoleStores(kind) { stores in
            let (store, rows) = (stores[0].store, stores[0].rows)
            _ = try await store.upsertUsers([User(id: "u-1"), User(id: "u-2")], at: now)
            let triggering = [TriggeredCampaign(campaignID: "cart-reminder", definitionHash: "h", dueAt: now)]
            let first = try await store.recordEvent(try event(id: "evt-1", properties: #"{"a": 1, "b": 2}"#, at: now), triggering: triggering, at: now)
            // The same event again, keys in another order and later: the first receipt, nothing new.
            let later = now.addingTimeInterval(60)
            let again = try await store.recordEvent(try event(id: "evt-1", properties: #"{"b": 2, "a": 1}"#, at: later), triggering: triggering, at: later)
            #expect(!again.isNew && again.event.id == first.event.id && again.event.receivedAt == now)
            #expect(again.occurrences["cart-reminder"]?.id == first.occurrences["cart-reminder"]?.id)
            #expect(again.occurrences["cart-reminder"]?.isNew == false)

            await #expect(throws: EventError.self) {
                try await store.recordEvent(try event(user: "u-2", id: "evt-1", properties: #"{"a": 1, "b": 2}"#, at: later), triggering: triggering, at: later)
            }
            do {
                _ = try await store.recordEvent(try event(id: "evt-1", properties: #"{"a": 2}"#, at: later), triggering: triggering, at: later)
                Issue.record("a conflicting event id was accepted")
            } catch let error as EventError {
                #expect(error.code == .conflictingID)
                #expect(error.message == #"event id 'evt-1' was received on 2027-01-15T08:00:00Z with properties '{"a":1,"b":2}'; an id names one event: give a new id for a new event"#)
            }
            #expect(try await rows("SELECT COUNT(*) FROM received_events") == [["1"]])
            #expect(try await rows("SELECT COUNT(*) FROM occurrences") == [["1"]])
        }
    }

    /// Four stores (four processes) receive the same event at once (a sender retrying on
    /// several API servers): one records it, the others get its receipt. Twenty events.
    @Test(.timeLimit(.minutes(4)), arguments: StoreKind.allCases)
    func theSameEventReceivedByFourProcessesAtOnceIsRecordedOnce(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 4) { stores in
            _ = try await stores[0].store.upsertUsers([User(id: "u-1")], at: now)
            for round in 0..<20 {
                let received = try event(id: "evt-\(round)", at: now)
                let triggering = [TriggeredCampaign(campaignID: "cart-reminder", definitionHash: "h", dueAt: now)]
                let now = self.now
                let receipts = try await concurrently(stores) { _, store in
                    try await store.store.recordEvent(received, triggering: triggering, at: now)
                }
                #expect(receipts.filter(\.isNew).count == 1, "round \(round)")
                #expect(Set(receipts.map(\.event.id)).count == 1 && Set(receipts.compactMap { $0.occurrences["cart-reminder"]?.id }).count == 1, "round \(round)")
            }
            #expect(try await stores[0].rows("SELECT COUNT(*) FROM received_events") == [["20"]])
            #expect(try await stores[0].rows("SELECT COUNT(*), COUNT(DISTINCT fire_at) FROM occurrences") == [["20", "20"]])
        }
    }

    /// Four stores record different users' events triggering one campaign at the same instant:
    /// each gets an occurrence of its own, at distinct keys, all due at the same time.
    @Test(.timeLimit(.minutes(4)), arguments: StoreKind.allCases)
    func eventsOfOneInstantFromFourProcessesGetOccurrencesOfTheirOwn(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 4) { stores in
            _ = try await stores[0].store.upsertUsers((0..<4).map { User(id: "u-\($0)") }, at: now)
            for round in 0..<10 {
                let due = now.addingTimeInterval(Double(round) * 60)
                let now = self.now
                let receipts = try await concurrently(stores) { index, store in
                    try await store.store.recordEvent(
                        ReceivedEvent(userID: "u-\(index)", name: "signup", receivedAt: now),
                        triggering: [TriggeredCampaign(campaignID: "welcome", definitionHash: "h", dueAt: due)], at: now
                    )
                }
                let occurrences = receipts.compactMap { $0.occurrences["welcome"] }
                #expect(occurrences.count == 4 && Set(occurrences.map(\.id)).count == 4 && occurrences.allSatisfy { $0.fireAt == due }, "round \(round)")
            }
            #expect(try await stores[0].rows("SELECT COUNT(*), COUNT(DISTINCT fire_at) FROM occurrences") == [["40", "40"]])
        }
    }
}
