import Foundation
import HeraldContent
import HeraldCore

/// What a dry run of a campaign would do, counted page by page as the planner decides
/// (`herald plan`): never more than a few numbers per channel, reason and hour, so that it runs
/// over a million recipients in constant memory.
public struct PlanTally: Sendable {
    /// A channel and the provider that would carry it.
    public struct Route: Sendable, Hashable, Comparable {
        public var channel: Channel
        public var provider: String

        public static func < (lhs: Route, rhs: Route) -> Bool { (lhs.channel, lhs.provider) < (rhs.channel, rhs.provider) }
    }

    /// A skip reason; for `capped`, the cap that stopped it.
    public struct Skip: Sendable, Hashable, Comparable {
        public var reason: SkipReason
        /// The cap, for `capped`; nil otherwise (the details of other reasons vary per recipient).
        public var cap: String?

        public static func < (lhs: Skip, rhs: Skip) -> Bool { (lhs.reason.rawValue, lhs.cap ?? "") < (rhs.reason.rawValue, rhs.cap ?? "") }
    }

    /// SMS messages of one encoding and the segments they take.
    public struct SMSCount: Sendable, Hashable {
        public var messages = 0
        public var segments = 0
    }

    /// A channel and a recipient locale, for one rendered sample each.
    public struct SampleKey: Sendable, Hashable, Comparable {
        public var channel: Channel
        /// The recipient's locale as stored; "" when they have none.
        public var locale: String

        public static func < (lhs: SampleKey, rhs: SampleKey) -> Bool { (lhs.channel, lhs.locale) < (rhs.channel, rhs.locale) }
    }

    public struct Sample: Sendable, Hashable {
        public var userID: String
        public var content: NotificationContent
    }

    public var sends: [Route: Int] = [:]
    public var skips: [Skip: Int] = [:]
    /// Notifications to send by the hour they are due, on the clock the tally was made for.
    public var dueTimes: DueTimeHistogram
    public var samples: [SampleKey: Sample] = [:]
    /// SMS messages and the segments they take, by provider.
    public var smsMessages: [String: Int] = [:]
    public var smsSegments: [String: Int] = [:]
    /// The same by provider and encoding: one character outside GSM-7 makes a whole message
    /// UCS-2, whose segments hold 70 characters instead of 160, so a review needs to see which.
    public var smsEncodings: [String: [SMSSegments.Encoding: SMSCount]] = [:]
    /// People per group of the campaign's test (a variant, `treatment`, `holdout`): those a send
    /// would reach, and the holdout's where a send would have been. Empty without a test.
    public var groupPeople: [String: Int] = [:]
    /// The first rendering of each variant on each channel, so that a review sees how they differ.
    public var variantSamples: [VariantSampleKey: Sample] = [:]
    /// The variant the per-locale samples come from (the campaign's first), so that they differ
    /// by locale only; nil for a campaign without variants.
    public var sampleVariant: String?

    /// A variant and a channel, for one rendered sample each.
    public struct VariantSampleKey: Sendable, Hashable, Comparable {
        public var variant: String
        public var channel: Channel

        public static func < (lhs: VariantSampleKey, rhs: VariantSampleKey) -> Bool { (lhs.variant, lhs.channel) < (rhs.variant, rhs.channel) }
    }

    /// - Parameter zone: the clock of the due-time histogram (herald.yml's `default_timezone`).
    public init(zone: TimeZone) {
        dueTimes = DueTimeHistogram(zone: zone)
    }

    public var planned: Int { sends.values.reduce(0, +) }
    public var skipped: Int { skips.values.reduce(0, +) }

    /// Counts one page of decisions; `users` gives each recipient's locale for the samples, and
    /// `segments` the segments and encoding an SMS body takes with a provider.
    public mutating func add(_ decisions: [PlannedNotification], users: [User], segments: (_ body: String, _ provider: String) -> SMSSegments) {
        var locales: [String: String]?
        // A page holds each of its users once, so people are distinct within it.
        var people: [String: Set<String>] = [:]
        for decision in decisions {
            switch decision.decision {
            case .skip(let reason, let detail):
                skips[Skip(reason: reason, cap: reason == .capped ? detail : nil), default: 0] += 1
                if reason == .holdout, let group = decision.variant { people[group, default: []].insert(decision.userID) }
            case .send(let content):
                if let group = decision.variant {
                    people[group, default: []].insert(decision.userID)
                    let key = VariantSampleKey(variant: group, channel: decision.channel)
                    if variantSamples[key] == nil { variantSamples[key] = Sample(userID: decision.userID, content: content) }
                }
                sends[Route(channel: decision.channel, provider: decision.provider ?? "-"), default: 0] += 1
                dueTimes.add(decision.dueAt)
                if case .sms(let sms) = content, let provider = decision.provider {
                    let counted = segments(sms.body, provider)
                    smsMessages[provider, default: 0] += 1
                    smsSegments[provider, default: 0] += counted.count
                    smsEncodings[provider, default: [:]][counted.encoding, default: SMSCount()].messages += 1
                    smsEncodings[provider, default: [:]][counted.encoding, default: SMSCount()].segments += counted.count
                }
                guard sampleVariant == nil || decision.variant == sampleVariant else { continue }
                if locales == nil { locales = Dictionary(users.map { ($0.id, $0.locale ?? "") }, uniquingKeysWith: { first, _ in first }) }
                let key = SampleKey(channel: decision.channel, locale: locales?[decision.userID] ?? "")
                if samples[key] == nil { samples[key] = Sample(userID: decision.userID, content: content) }
            }
        }
        for (group, ids) in people { groupPeople[group, default: 0] += ids.count }
    }
}
