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
