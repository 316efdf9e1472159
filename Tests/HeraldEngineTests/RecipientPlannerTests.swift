import Foundation
import HeraldContent
import HeraldCore
import HeraldEngine
import HeraldTesting
import Testing

let routing = ChannelRouting(push: [.apns: "apns", .fcm: "fcm"], sms: ["twilio"], email: ["sendgrid"])
let occurrence = Occurrence(id: 7, campaignID: "sale", fireAt: Date(timeIntervalSince1970: 0), definitionHash: "h", isNew: true)

func campaign(channels: [Channel], delivery: DeliveryMode = .firstAvailable, category: String = "marketing") -> Campaign {
    Campaign(id: "sale", category: category, channels: channels, delivery: delivery, template: "sale", schedule: .manual, file: "campaigns/sale.yml")
}

/// The decisions as `channel:target=outcome`, the way a person would read them.
func decisions(_ user: User, _ campaign: Campaign) -> [String] {
    RecipientPlanner(routing: routing)
        .plan(user, campaign: campaign, occurrence: occurrence, now: Date(timeIntervalSince1970: 0), renderer: ClosureRenderer.simple)
        .map { planned in
            let outcome: String
            switch planned.decision {
            case .send: outcome = "send via \(planned.provider ?? "-")"
            case .skip(let reason, _): outcome = reason.rawValue
            }
            return "\(planned.channel.rawValue):\(planned.address ?? "-")=\(outcome)"
        }
}

@Suite struct RecipientPlannerTests {
    @Test func firstAvailableUsesTheFirstReachableChannelAndMarksTheRestNotNeeded() {
        let withPhone = User(id: "u-1", email: "a@example.com", phone: "+15551234567")
        #expect(decisions(withPhone, campaign(channels: [.push, .sms, .email])) == [
            "push:-=no_address", "sms:+15551234567=send via twilio", "email:-=not_needed",
        ])
    }

    @Test func deliveryAllSendsOnEveryChannelTheUserCanReceive() {
        var user = User(id: "u-1", email: "a@example.com", phone: "+15551234567", devices: [Device(platform: .ios, token: "t-ios")])
        #expect(decisions(user, campaign(channels: [.push, .sms, .email], delivery: .all)) == [
            "push:t-ios=send via apns", "sms:+15551234567=send via twilio", "email:a@example.com=send via sendgrid",
        ])
        // A channel the user cannot receive is skipped with its reason; the others still go.
        user.phone = nil
        user.preferences["push"] = false
        #expect(decisions(user, campaign(channels: [.push, .sms, .email], delivery: .all)) == [
            "push:-=opted_out", "sms:-=no_address", "email:a@example.com=send via sendgrid",
        ])
    }

    /// A token is useless to any service but the one that issued it: an Android phone on JPush
    /// goes through the JPush provider, and a device whose service has no provider gets nothing
    /// (never FCM's provider) while the user's other devices still do.
    @Test func pushGoesThroughTheProviderOfTheServiceThatIssuedTheToken() {
        let user = User(id: "u-1", devices: [
            Device(platform: .android, token: "t-fcm"), Device(platform: .android, service: .jpush, token: "t-jpush"),
            Device(platform: .android, service: .pushy, token: "t-pushy"),
        ])
        var withJPush = routing
        withJPush.push[.jpush] = "jpush-cn"
        let planned = RecipientPlanner(routing: withJPush)
            .plan(user, campaign: campaign(channels: [.push]), occurrence: occurrence, now: Date(timeIntervalSince1970: 0), renderer: ClosureRenderer.simple)
            .map { planned -> String in
                switch planned.decision {
                case .send: "\(planned.address ?? "-") send via \(planned.provider ?? "-")"
                case .skip(let reason, _): "\(planned.address ?? "-") \(reason.rawValue)"
                }
            }
        #expect(planned == ["t-fcm send via fcm", "t-jpush send via jpush-cn"])
        // With no device the user's services reach, the push is skipped for want of a provider.
        let pushyOnly = User(id: "u-2", devices: [Device(platform: .android, service: .pushy, token: "t-pushy")])
        #expect(decisions(pushyOnly, campaign(channels: [.push])) == ["push:-=no_provider"])
    }

    @Test func pushGoesToEveryActiveDeviceThroughItsPlatformsProvider() {
        let user = User(id: "u-1", devices: [
            Device(platform: .ios, token: "t-ios"), Device(platform: .android, token: "t-old", isActive: false),
            Device(platform: .android, token: "t-new"),
        ])
        #expect(decisions(user, campaign(channels: [.push])) == ["push:t-ios=send via apns", "push:t-new=send via fcm"])
        let keys = RecipientPlanner(routing: routing)
            .plan(user, campaign: campaign(channels: [.push]), occurrence: occurrence, now: Date(timeIntervalSince1970: 0), renderer: ClosureRenderer.simple)
            .map { "\($0.occurrenceID) \($0.userID) \($0.channel.rawValue) \($0.device)" }
        #expect(keys == ["7 u-1 push t-ios", "7 u-1 push t-new"])
    }

    @Test func aDeviceWithoutAProviderForItsPlatformIsSkippedNoProvider() {
        let user = User(id: "u-1", devices: [Device(platform: .web, subscription: WebPushSubscription(endpoint: "https://p/1", p256dh: "k", auth: "a"))])
        #expect(decisions(user, campaign(channels: [.push])) == ["push:-=no_provider"])
    }

    @Test func optOutsOfChannelCategoryOrBothAreRespected() {
        var user = User(id: "u-1", email: "a@example.com", phone: "+15551234567")
        user.preferences["email"] = false
        #expect(decisions(user, campaign(channels: [.email, .sms])) == ["email:-=opted_out", "sms:+15551234567=send via twilio"])
        user.preferences = Preferences(["marketing": false])
        #expect(decisions(user, campaign(channels: [.email, .sms], delivery: .all)) == ["email:-=opted_out", "sms:-=opted_out"])
        user.preferences = Preferences(["sms:marketing": false])
        #expect(decisions(user, campaign(channels: [.sms, .email])) == ["sms:-=opted_out", "email:a@example.com=send via sendgrid"])
    }

    @Test func transactionalIgnoresCategoryOptOutsButNeverAChannelOptOut() {
        var user = User(id: "u-1", email: "a@example.com", phone: "+15551234567")
        user.preferences = Preferences(["marketing": false, "sms:transactional": false])
        #expect(decisions(user, campaign(channels: [.sms], category: "transactional")) == ["sms:+15551234567=send via twilio"])
        user.preferences = Preferences(["sms": false])
        #expect(decisions(user, campaign(channels: [.sms, .email], category: "transactional")) == [
            "sms:-=opted_out", "email:a@example.com=send via sendgrid",
        ])
    }

    @Test func aRenderFailureIsASkipWithTheReasonAndTheNextChannelIsTried() {
        struct Broken: Error, CustomStringConvertible { var description: String { "no email section" } }
        let renderer = ClosureRenderer { campaign, channel, user in
            if channel == .email { throw Broken() }
            return try ClosureRenderer.simple.render(campaign, channel: channel, for: user).content
        }
        let planned = RecipientPlanner(routing: routing).plan(
            User(id: "u-1", email: "a@example.com", phone: "+15551234567"), campaign: campaign(channels: [.email, .sms]),
            occurrence: occurrence, now: Date(timeIntervalSince1970: 0), renderer: renderer
        )
        #expect(planned.map(\.decision) == [
            .skip(.renderFailed, detail: "no email section"), .send(.sms(SMSContent(body: "sale for u-1"))),
        ])
    }
}
