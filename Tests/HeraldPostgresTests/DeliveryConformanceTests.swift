import Foundation
import HeraldCore
import HeraldEngine
import HeraldTesting
import Testing

/// The engine's planner and dispatchers over either store, from users to sends, with scripted
/// providers: what runs on SQLite runs the same on PostgreSQL, also with two dispatchers of one
/// channel in two processes.
@Suite struct DeliveryConformanceTests {
    static let routing = ChannelRouting(push: [.apns: "apns", .fcm: "fcm"], sms: ["twilio"], email: ["sendgrid"])

    /// 120 users: every 10th opted out of email, every 7th without an email, every 25th with a device.
    static let users = (1...120).map { index in
        var user = User(id: String(format: "u-%03d", index), email: index % 7 == 0 ? nil : "user\(index)@example.com")
        if index % 10 == 0 { user.preferences["email"] = false }
        if index % 25 == 0 { user.devices = [Device(platform: .ios, token: "tok-\(index)")] }
        return user
    }

    static func dispatcher(_ channel: Channel, store: any OutboxStore, owner: String, transports: [any Transport], clock: ManualClock) -> Dispatcher {
        Dispatcher(
            channel: channel, store: store, transports: transports,
            retryPolicy: RetryPolicy(maxAttempts: 3, initial: .seconds(2), maximum: .seconds(60)), clock: clock,
            configuration: .init(batchSize: 8, concurrency: 2, groupSize: 4, lease: .seconds(300), leaseOwner: owner)
        )
    }

    @Test(.timeLimit(.minutes(4)), arguments: StoreKind.allCases)
    func twoDispatchersInTwoProcessesSendEachPlannedNotificationOnce(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 2) { stores in
            let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
            _ = try await stores[0].store.upsertUsers(Self.users, at: clock.now)
            let sale = Campaign(
                id: "sale", category: "marketing", channels: [.push, .email], delivery: .firstAvailable, template: "sale", schedule: .manual,
                file: "campaigns/sale.yml"
            )
            let planner = Planner(store: stores[0].store, renderer: ClosureRenderer.simple, routing: Self.routing, clock: clock, configuration: .init(batchSize: 40))
            let result = try await planner.plan(sale, fireAt: clock.now)
            #expect(result.recipients == 120)

            let sendgrid = ScriptedTransport(name: "sendgrid")
            let apns = ScriptedTransport(name: "apns")
            let summaries = try await concurrently(stores) { index, store in
                try await Self.dispatcher(.email, store: store.store, owner: "worker-\(index)", transports: [sendgrid, apns], clock: clock).drain()
            }
            let push = try await Self.dispatcher(.push, store: stores[1].store, owner: "worker-1", transports: [sendgrid, apns], clock: clock).drain()

            // Push users were reached by push; of the others, those with an email who did not
            // opt out were emailed, each once, by one worker or the other.
            let withDevice = Self.users.filter { !$0.devices.isEmpty }.map(\.id)
            let reachable = Self.users.filter { $0.devices.isEmpty && $0.email != nil && $0.preferences["email"] != false }.map(\.id)
            #expect(apns.messages.map(\.userID).sorted() == withDevice && push.sent == withDevice.count)
            let emailed = sendgrid.messages.map(\.userID)
            #expect(emailed.count == reachable.count && Set(emailed) == Set(reachable), "\(emailed.count) emails for \(reachable.count) users")
            #expect(summaries.map(\.sent).reduce(0, +) == reachable.count)
            #expect(try await stores[0].rows("SELECT COUNT(*) FROM outbox") == [["0"]])
            let states = try await stores[1].rows("SELECT state, COUNT(*) FROM notifications GROUP BY state ORDER BY state")
            #expect(states == [["sent", "\(withDevice.count + reachable.count)"], ["skipped", "\(240 - withDevice.count - reachable.count)"]])
            #expect(try await stores[1].eventCounts() == [
                "planned": withDevice.count + reachable.count, "skipped": 240 - withDevice.count - reachable.count,
                "sending": withDevice.count + reachable.count, "sent": withDevice.count + reachable.count,
            ])
        }
    }

    @Test(.timeLimit(.minutes(4)), arguments: StoreKind.allCases)
    func aMessageFailedOverHasTheProviderPassedOverInItsTrail(_ kind: StoreKind) async throws {
        try await withRoleStores(kind, count: 1) { stores in
            let store = stores[0].store
            let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
            let routing = ChannelRouting(sms: ["twilio", "vonage"])
            _ = try await store.upsertUsers((1...2).map { User(id: "u-\($0)", phone: "+1555000000\($0)") }, at: clock.now)
            let alert = Campaign(id: "alert", category: "transactional", channels: [.sms], delivery: .all, template: "alert", schedule: .manual, file: "campaigns/alert.yml")
            _ = try await Planner(store: store, renderer: ClosureRenderer.simple, routing: routing, clock: clock).plan(alert, fireAt: clock.now)
            let twilio = ScriptedTransport(name: "twilio", scripts: ["+15550000002": [.accepted(providerMessageID: "SM2")]], fallback: .retry(after: nil, reason: "the provider sent nothing for too long (read timeout)"))
            let vonage = ScriptedTransport(name: "vonage", fallback: .accepted(providerMessageID: "V1"))
            let summary = try await Dispatcher(channel: .sms, store: store, transports: [twilio, vonage], retryPolicy: RetryPolicy(), clock: clock, routing: routing).drain()
            #expect(summary.sent == 2)
            let trail = try await stores[0].rows("""
                SELECT n.user_id, e.type, COALESCE(e.detail, '') FROM events e JOIN notifications n ON n.id = e.notification_id
                WHERE e.type NOT IN ('planned', 'sending') ORDER BY n.user_id, e.id
                """)
            #expect(trail == [
                ["u-1", "failed_over", "twilio: the provider sent nothing for too long (read timeout)"],
                ["u-1", "sent", "vonage"],
                ["u-2", "sent", "twilio"],
            ])
        }
    }
}
