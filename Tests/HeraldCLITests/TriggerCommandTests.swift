import Foundation
import HeraldCore
import HeraldStore
import HeraldTesting
import Testing

/// `herald trigger`: an event recorded for a known user plans the campaigns that name it, for
/// that user, due after their delay.
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct TriggerCommandTests {
    /// The sample workspace with a cart reminder for Korean shoppers, triggered an hour after
    /// `cart_abandoned`, and three users: ana (KR), bo (US) and cy (KR, opted out of SMS).
    func withCartReminder(_ body: (TemporaryDirectory, SQLiteStore) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            // These tests are about events and their sends: no caps (the sample allows one SMS a
            // day) and no quiet hours, so that every receipt's SMS is planned when it is due.
            try removeLimits(fromWorkspace: directory.path)
            try directory.write("campaigns/cart-reminder.yml", """
                campaign: cart-reminder
                description: Reminds Korean shoppers of what they left in their cart
                audience:
                  where: country == "KR"
                channels: [sms]
                template: cart-reminder
                schedule:
                  trigger: {event: cart_abandoned, delay: 1h}

                """)
            try directory.write("templates/cart-reminder.yml", """
                template: cart-reminder
                sms:
                  body: "Shop: {{first_name}}, {{sku}} is still in your cart ({{cart.items}} items). Reply STOP to opt out"

                """)
            try directory.write("users.jsonl", [
                #"{"id":"ana","phone":"+821012345678","first_name":"Ana","attributes":{"country":"KR"}}"#,
                #"{"id":"bo","phone":"+14155550100","first_name":"Bo","attributes":{"country":"US"}}"#,
                #"{"id":"cy","phone":"+821098765432","first_name":"Cy","attributes":{"country":"KR"},"preferences":{"sms":false}}"#,
            ].joined(separator: "\n") + "\n")
            let imported = try await HeraldBinary.run(["users", "import", "users.jsonl"], in: directory.path)
            #expect(imported.status == 0, "\(imported.stderr)")
            let validate = try await HeraldBinary.run(["validate"], in: directory.path)
            #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)")
            try await body(directory, try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema()))
        }
    }

    func trigger(_ arguments: [String], in directory: TemporaryDirectory) async throws -> HeraldBinary.Output {
        try await HeraldBinary.run(["trigger"] + arguments, in: directory.path)
    }

    @Test func anEventPlansTheTriggeredCampaignForItsUserDueAfterTheDelay() async throws {
        try await withCartReminder { directory, store in
            let output = try await trigger([
                "cart_abandoned", "--user", "ana", "--properties", #"{"sku": "Air Max 90", "cart": {"items": 2}}"#,
                "--at", "2026-11-20T10:00:00Z",
            ], in: directory)
            #expect(output.status == 0, "\(output.stderr)")
            #expect(output.stdout == """
                recorded cart_abandoned for ana at 2026-11-20T10:00:00Z (event 1)
                cart-reminder: planned for ana, due 2026-11-20T11:00:00Z: sms planned
                notifications wait in the outbox until due; `herald deliver` sends those that are due

                """, "\(output.stdout)")
            let due = try #require(ISO8601.date(from: "2026-11-20T11:00:00Z"))
            #expect(try await store.rows(sql: "SELECT user_id, channel, state, due_at FROM notifications") == [
                ["ana", "sms", "planned", "\(due.timeIntervalSince1970)"],
            ])
            #expect(try await store.rows(sql: "SELECT due_at FROM outbox") == [["\(due.timeIntervalSince1970)"]])
            let content = try #require(try await store.rows(sql: "SELECT content FROM notifications").first?.first)
            #expect(content.contains("Shop: Ana, Air Max 90 is still in your cart (2 items). Reply STOP to opt out"), "\(content)")
            #expect(try await store.rows(sql: "SELECT user_id, name, properties FROM received_events") == [
                ["ana", "cart_abandoned", #"{"cart":{"items":2},"sku":"Air Max 90"}"#],
            ])
            #expect(try await store.rows(sql: "SELECT campaign_id, kind, state FROM occurrences") == [["cart-reminder", "trigger", "planned"]])
        }
    }

    @Test func theAudienceRuleAndOptOutsStillApply() async throws {
        try await withCartReminder { directory, store in
            let outside = try await trigger(["cart_abandoned", "--user", "bo", "--at", "2026-11-20T10:00:00Z"], in: directory)
            #expect(outside.status == 0, "\(outside.stderr)")
            #expect(outside.stdout == """
                recorded cart_abandoned for bo at 2026-11-20T10:00:00Z (event 1)
                cart-reminder: not planned: bo is not in its audience (country == "KR" does not hold)

                """, "\(outside.stdout)")
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM occurrences") == [["0"]])
            #expect(try await store.rows(sql: "SELECT user_id FROM received_events") == [["bo"]])

            let optedOut = try await trigger(["cart_abandoned", "--user", "cy", "--at", "2026-11-20T10:00:00Z"], in: directory)
            #expect(optedOut.status == 0, "\(optedOut.stderr)")
            #expect(optedOut.stdout.contains("cart-reminder: planned for cy, due 2026-11-20T11:00:00Z: sms skipped (opted_out)\n"), "\(optedOut.stdout)")
            #expect(!optedOut.stdout.contains("herald deliver"), "\(optedOut.stdout)")
            #expect(try await store.rows(sql: "SELECT user_id, state, reason FROM notifications") == [["cy", "skipped", "opted_out"]])
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM outbox") == [["0"]])
        }
    }

    @Test func unknownUsersAndBadInputAreRefusedAndWriteNothing() async throws {
        try await withCartReminder { directory, store in
            let unknown = try await trigger(["cart_abandoned", "--user", "anna", "--properties", #"{"sku": "x"}"#], in: directory)
            #expect(unknown.status == 1)
            #expect(unknown.stderr.contains("no user with id 'anna'; nothing was recorded (import them first with `herald users import`)"), "\(unknown.stderr)")

            let badJSON = try await trigger(["cart_abandoned", "--user", "ana", "--properties", #"{"sku": "x",}"#], in: directory)
            #expect(badJSON.status == 64)
            #expect(badJSON.stderr.contains("--properties: properties are not valid JSON: expected a string key (column 13); nothing was recorded"), "\(badJSON.stderr)")

            let notObject = try await trigger(["cart_abandoned", "--user", "ana", "--properties", "[1]"], in: directory)
            #expect(notObject.status == 64)
            #expect(notObject.stderr.contains(#"--properties: properties must be a JSON object such as {"sku": "sku-123"}, not an array"#), "\(notObject.stderr)")

            let large = try await trigger(["cart_abandoned", "--user", "ana", "--properties", #"{"a":""# + String(repeating: "x", count: 17_000) + #""}"#], in: directory)
            #expect(large.status == 64)
            #expect(large.stderr.contains("more than the 16384 (16 KiB) an event may carry"), "\(large.stderr)")

            let badTime = try await trigger(["cart_abandoned", "--user", "ana", "--at", "2026-11-20T10:00"], in: directory)
            #expect(badTime.status == 64)
            #expect(badTime.stderr.contains("--at '2026-11-20T10:00' is not an instant: an instant needs a zone: add Z for UTC or an offset such as +09:00"), "\(badTime.stderr)")

            let badName = try await trigger(["cart abandoned", "--user", "ana"], in: directory)
            #expect(badName.status == 64)
            #expect(badName.stderr.contains("'cart abandoned' is not an event name"), "\(badName.stderr)")

            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM received_events") == [["0"]])
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM occurrences") == [["0"]])
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM notifications") == [["0"]])
        }
    }

    @Test func eachReceiptIsItsOwnSendUnlessItRepeatsAnEventID() async throws {
        try await withCartReminder { directory, store in
            // Two receipts of the same event: two sends, each due an hour after its own event.
            for at in ["2026-11-20T10:00:00Z", "2026-11-20T10:30:00Z"] {
                let output = try await trigger(["cart_abandoned", "--user", "ana", "--properties", #"{"sku": "a"}"#, "--at", at], in: directory)
                #expect(output.status == 0, "\(output.stderr)")
            }
            // The same command twice: two events too, at the same instant, and still two sends.
            for _ in 1...2 {
                let output = try await trigger(["cart_abandoned", "--user", "ana", "--at", "2026-11-20T12:00:00Z"], in: directory)
                #expect(output.stdout.contains("cart-reminder: planned for ana, due 2026-11-20T13:00:00Z: sms planned"), "\(output.stdout)")
            }
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM received_events") == [["4"]])
            #expect(try await store.rows(sql: "SELECT COUNT(DISTINCT occurrence_id), COUNT(*) FROM notifications") == [["4", "4"]])
            let dues = try await store.rows(sql: "SELECT due_at FROM notifications ORDER BY due_at").map { $0[0] }
            #expect(dues == ["2026-11-20T11:00:00Z", "2026-11-20T11:30:00Z", "2026-11-20T13:00:00Z", "2026-11-20T13:00:00Z"]
                .map { "\(ISO8601.date(from: $0)!.timeIntervalSince1970)" })

            // With --id, the same event again is recorded and planned once.
            let first = try await trigger(["cart_abandoned", "--user", "ana", "--id", "evt-42", "--at", "2026-11-21T09:00:00Z"], in: directory)
            #expect(first.stdout.contains("cart-reminder: planned for ana, due 2026-11-21T10:00:00Z: sms planned"), "\(first.stdout)")
            let again = try await trigger(["cart_abandoned", "--user", "ana", "--id", "evt-42"], in: directory)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.hasPrefix("""
                event id 'evt-42' was received before, at 2026-11-21T09:00:00Z: nothing new was recorded, and each campaign it triggered is planned once
                cart-reminder: planned for ana, due 2026-11-21T10:00:00Z (before): sms planned
                """), "\(again.stdout)")
            let conflict = try await trigger(["cart_abandoned", "--user", "cy", "--id", "evt-42"], in: directory)
            #expect(conflict.status == 1)
            #expect(conflict.stderr.contains("event id 'evt-42' was received on 2026-11-21T09:00:00Z with user 'ana'; an id names one event: give a new id for a new event; nothing was recorded"), "\(conflict.stderr)")
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM received_events") == [["5"]])
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM notifications") == [["5"]])
        }
    }

    @Test func anEventNoCampaignNamesIsKeptAndTheNamedEventsAreListed() async throws {
        try await withCartReminder { directory, store in
            let typo = try await trigger(["cart_abandonned", "--user", "ana", "--at", "2026-11-20T10:00:00Z"], in: directory)
            #expect(typo.status == 0, "\(typo.stderr)")
            #expect(typo.stdout == """
                recorded cart_abandonned for ana at 2026-11-20T10:00:00Z (event 1)
                no campaign is triggered by 'cart_abandonned' (did you mean 'cart_abandoned'? campaigns are triggered by: cart_abandoned (cart-reminder), order_shipped (order-shipped)); the event is kept for rules that ask about it

                """, "\(typo.stdout)")
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM occurrences") == [["0"]])
        }
    }

    @Test func theSampleOrderShippedCampaignTakesTheOrderFromTheEvent() async throws {
        try await withCartReminder { directory, store in
            let output = try await trigger([
                "order_shipped", "--user", "ana", "--properties", #"{"order_id": "B-7731"}"#, "--at", "2026-11-20T10:00:00Z",
            ], in: directory)
            #expect(output.status == 0, "\(output.stderr)")
            #expect(output.stdout.contains("order-shipped: planned for ana, due 2026-11-20T10:05:00Z: sms planned"), "\(output.stdout)")
            let content = try #require(try await store.rows(sql: "SELECT content FROM notifications WHERE channel = 'sms'").first?.first)
            #expect(content.contains("Shop: order B-7731 has shipped."), "\(content)")
        }
    }
}
