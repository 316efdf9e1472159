import Foundation
import HeraldCore
@testable import HeraldStore
import HeraldTesting
import Testing

/// Events received for users: recorded with their triggered occurrences in one transaction, once
/// per external id, never for an unknown user.
@Suite struct ReceivedEventTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func event(_ name: String = "cart_abandoned", user: String = "u-1", id: String? = nil, properties: String = "{}", at instant: Date) throws -> ReceivedEvent {
        ReceivedEvent(externalID: id, userID: user, name: name, properties: try EventProperties(json: properties), receivedAt: instant)
    }

    @Test func anEventIsRecordedWithOneOccurrencePerTriggeredCampaignDueAtItsOwnTime() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            _ = try await store.upsertUsers([User(id: "u-1"), User(id: "u-2")], at: now)
            let due = now.addingTimeInterval(3600)
            let receipt = try await store.recordEvent(
                try event(properties: #"{"sku": "sku-123", "items": [1, 2], "cart": {"total": 49.5}}"#, at: now),
                triggering: [TriggeredCampaign(campaignID: "cart-reminder", definitionHash: "h1", dueAt: due)], at: now
            )
            #expect(receipt.isNew && receipt.event.id > 0)
            let occurrence = try #require(receipt.occurrences["cart-reminder"])
            #expect(occurrence.fireAt == due && occurrence.isNew && !occurrence.isPlanned && occurrence.definitionHash == "h1")
            #expect(try await store.rows(sql: "SELECT user_id, name, properties, received_at FROM received_events") == [
                ["u-1", "cart_abandoned", #"{"cart":{"total":49.5},"items":[1,2],"sku":"sku-123"}"#, "1800000000.0"],
            ])
            #expect(try await store.rows(sql: "SELECT campaign_id, kind, state FROM occurrences") == [["cart-reminder", "trigger", "planning"]])

            // Another user's event at the same instant: its own occurrence, due at the same exact time.
            let other = try await store.recordEvent(
                try event(user: "u-2", at: now), triggering: [TriggeredCampaign(campaignID: "cart-reminder", definitionHash: "h1", dueAt: due)], at: now
            )
            let second = try #require(other.occurrences["cart-reminder"])
            #expect(second.id != occurrence.id && second.fireAt == due)

            let read = try await store.receivedEvents(userID: "u-1", named: nil, limit: 10)
            #expect(read.count == 1 && read.first?.properties.values["sku"] == .string("sku-123"))
            #expect(try await store.receivedEvents(userID: "u-1", named: "purchase", limit: 10).isEmpty)
        }
    }

    @Test func anUnknownUserIsRefusedAndNothingIsWritten() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            _ = try await store.upsertUsers([User(id: "u-1")], at: now)
            await #expect(throws: EventError(.unknownUser, "no user with id 'u-404'")) {
                try await store.recordEvent(
                    try event(user: "u-404", at: now),
                    triggering: [TriggeredCampaign(campaignID: "cart-reminder", definitionHash: "h", dueAt: now)], at: now
                )
            }
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM received_events") == [["0"]])
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM occurrences") == [["0"]])
        }
    }

    @Test func theSameExternalIDIsOneEventAndAConflictingOneIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
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
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM received_events") == [["1"]])
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM occurrences") == [["1"]])
        }
    }

    @Test func aRuleAmongSomeUsersSelectsOnlyThoseWhoMatch() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeStore(directory)
            _ = try await store.upsertUsers([
                User(id: "u-1", attributes: ["country": .string("KR")]), User(id: "u-2", attributes: ["country": .string("KR")]),
                User(id: "u-3", attributes: ["country": .string("US")]),
            ], at: now)
            let rule = RuleSource(text: #"country == "KR""#, location: SourceLocation(file: "campaigns/x.yml", line: 3, column: 10))
            let among = UserFilter.ruleAmong(ids: ["u-1", "u-3"], rule, now: now, campaignID: "x")
            try await store.checkAudience(among)
            #expect(try await store.users(matching: among, after: nil, limit: 10).map(\.id) == ["u-1"])
            #expect(try await store.countUsers(matching: .ruleAmong(ids: ["u-3"], rule, now: now, campaignID: "x")) == 0)
        }
    }
}

/// Properties: a JSON object, bounded, kept canonical, typed for templates.
@Suite struct EventPropertiesTests {
    @Test func propertiesAreCanonicalAndTypedForTemplates() throws {
        let properties = try EventProperties(json: #" {"sku": "sku-123", "on": "2026-12-07", "n": 2, "ok": true, "gone": null, "tags": ["a", "b"], "cart": {"total": 49.5}} "#)
        #expect(properties.jsonText == #"{"cart":{"total":49.5},"gone":null,"n":2,"ok":true,"on":"2026-12-07","sku":"sku-123","tags":["a","b"]}"#)
        #expect(properties.values["sku"] == .string("sku-123"))
        #expect(properties.values["on"] == TemplateValue(commandLine: "2026-12-07"))
        #expect(properties.values["n"] == .number(2))
        #expect(properties.values["ok"] == .bool(true))
        #expect(properties.values["gone"] == nil)
        #expect(properties.values["cart"] == .map(["total": .number(49.5)]))
        #expect(EventProperties(storedJSON: properties.jsonText) == properties)
    }

    @Test(arguments: [
        (#"{"sku": }"#, "properties are not valid JSON: expected a value (column 9)"),
        (#"{"sku": "a""#, "properties are not valid JSON: unexpected end of the JSON, expected ',' or '}' (column 12)"),
        (#"["sku"]"#, #"properties must be a JSON object such as {"sku": "sku-123"}, not an array (column 1)"#),
        (#"{"a": 1, "a": 2}"#, "properties are not valid JSON: duplicate key 'a' (column 10)"),
        (#"{"a": 1e999}"#, "properties hold a number too large for JSON (column 7)"),
        (#"{"a":[[[[[[[[1]]]]]]]]}"#, "properties nest deeper than 8 levels (column 13)"),
    ])
    func badPropertiesSayWhereAndWhy(json: String, message: String) {
        #expect(throws: EventPropertiesError.self) { try EventProperties(json: json) }
        do {
            _ = try EventProperties(json: json)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func propertiesAreBoundedInSize() {
        let large = #"{"a": ""# + String(repeating: "x", count: EventProperties.maximumBytes) + #""}"#
        do {
            _ = try EventProperties(json: large)
            Issue.record("16 KiB of properties were accepted")
        } catch {
            #expect(error.description == "properties are \(large.utf8.count) bytes, more than the 16384 (16 KiB) an event may carry")
        }
        #expect(throws: Never.self) { try EventProperties(json: #"{"a": ""# + String(repeating: "x", count: EventProperties.maximumBytes - 20) + #""}"#) }
    }
}
