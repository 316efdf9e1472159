import Foundation
import HeraldCore

/// Deterministic synthetic users for the demo, tests and benchmarks.
///
/// The user with a given number is a pure function of the seed, the schema, `now` and that
/// number: it is the same on every machine and every run, and does not depend on which users
/// were generated before it, so `user(number: 5000)` equals the 5000th `next()`. Randomness comes
/// from `SplitMix64`, seeded per user with `mix(seed ^ mix(number))`.
///
/// The mix, per user:
/// - ids `u-000001`, `u-000002`, … (more digits past 999999);
/// - a locale among en-US, en-GB, en-CA, en-AU, ko-KR, ja-JP, de-DE, fr-FR, es-ES, pt-BR, weighted
///   by a plausible audience (about 3% have no locale); a time zone of that country (about 8% have
///   none); first and last names of that language (Hangul and kanji for Korean and Japanese);
/// - an email at a reserved `example.*` domain (about 8% have none) and a mobile number in E.164
///   that fits the country (about 20% have none; see `SyntheticPeople` for the fictional ranges);
/// - 0 to 3 push devices (25% none, 50% one, 20% two, 5% three) with platforms weighted by
///   country, 5% of them inactive; iOS devices have 64-hex-digit tokens, Android devices FCM-shaped
///   tokens, web devices a subscription with a browser push service endpoint and base64url
///   `p256dh` (65 bytes, starting 0x04) and `auth` (16 bytes) keys that are well-formed but not
///   real keys;
/// - opt-outs: email about 5%, sms 3%, push:marketing 8%, marketing 2%;
/// - attributes for every declared one. The sample schema's names get meaningful values when
///   they have the sample's type: `country` (the locale's), `plan` (from its values, about 70% the
///   first, e.g. free), `last_seen_at` (within 90 days before `now`, after `created_at`; 5% absent),
///   `lifetime_value` (35% zero, the rest skewed towards small amounts, in cents), `tags` (a subset
///   of vip 5%, beta 10%, newsletter 40%, wishlist 25%; 10% absent) and `beta` (10% true; 10%
///   absent). Other attributes get values of their type (strings from `values` when declared),
///   about 10% absent.
///
/// ```swift
/// var generator = UserGenerator(seed: 42, schema: configuration.attributes, now: clock.now)
/// let users = generator.next(count: 10_000)
/// ```
public struct UserGenerator: Sendable {
    /// The seed every user is derived from.
    public let seed: UInt64
    /// The declared attributes that every user gets values for.
    public let schema: AttributeSchema
    /// The instant "now" for created_at, last_seen_at and other times, which all lie before it.
    public let now: Date
    /// How many users `next()` has returned; the next one is number `generatedCount + 1`.
    public private(set) var generatedCount = 0
    /// Makes the Web Push subscription of a generated browser from its random id, e.g. one whose
    /// keys `herald sandbox` can derive, so that it decrypts what it receives. Default: an
    /// endpoint of a real push service, with random keys (a shape for imports and exports only).
    public var webSubscription: (@Sendable (String) -> WebPushSubscription)?

    private let plans: [AttributePlan]
    /// `now` rounded down to a whole second, so that generated times print without fractions.
    private let nowSeconds: Double
    private static let profileWeightTotal = SyntheticPeople.profiles.reduce(0) { $0 + $1.weight }

    private static let day = 86_400
    private static let createdAtSpan = 3 * 365 * day
    private static let lastSeenSpan = 90 * day

    /// Creates a generator; no work is done until users are asked for.
    public init(seed: UInt64, schema: AttributeSchema, now: Date) {
        self.seed = seed
        self.schema = schema
        self.now = now
        nowSeconds = now.timeIntervalSince1970.rounded(.down)
        plans = schema.definitions.map(AttributePlan.init)
    }

    /// The next user: number 1 first, then 2, and so on.
    public mutating func next() -> User {
        generatedCount += 1
        return user(number: generatedCount)
    }

    /// The next `count` users.
    public mutating func next(count: Int) -> [User] {
        guard count > 0 else { return [] }
        var users: [User] = []
        users.reserveCapacity(count)
        for _ in 0..<count { users.append(next()) }
        return users
    }

    /// The user with id number `number` (1-based), independent of what was generated before.
    public func user(number: Int) -> User {
        var random = SplitMix64(seed: SplitMix64.mix(seed ^ SplitMix64.mix(UInt64(truncatingIfNeeded: number))))
        let profile = Self.pickProfile(&random)

        let hasLocale = !random.chance(0.03)
        let timezone = random.chance(0.08) ? nil : Self.pickWeighted(profile.timeZones, &random)
        let first = profile.names.first[random.next(below: profile.names.first.count)]
        let last = profile.names.last[random.next(below: profile.names.last.count)]
        let email = random.chance(0.08) ? nil : Self.email(first: first.ascii, last: last.ascii, number: number, &random)
        let phone = random.chance(0.20) ? nil : Self.phone(profile.phone, &random)
        let createdAt = nowSeconds - Double(random.next(below: Self.createdAtSpan))

        var user = User(
            id: Self.id(number),
            email: email,
            phone: phone,
            locale: hasLocale ? profile.locale : nil,
            timezone: timezone,
            firstName: first.display,
            lastName: last.display,
            createdAt: Date(timeIntervalSince1970: createdAt)
        )
        user.devices = devices(profile, &random)
        user.preferences = Self.preferences(&random)
        if !plans.isEmpty {
            var attributes: [String: AttributeValue] = [:]
            attributes.reserveCapacity(plans.count)
            for plan in plans {
                if let value = value(for: plan, profile: profile, createdAt: createdAt, &random) {
                    attributes[plan.definition.name] = value
                }
            }
            user.attributes = attributes
        }
        return user
    }

    // MARK: Built-in fields

    /// `u-000042`: six digits at least, so that ids sort in generation order up to a million.
    static func id(_ number: Int) -> String {
        let digits = String(number)
        let padding = digits.utf8.count < 6 ? String(repeating: "0", count: 6 - digits.utf8.count) : ""
        return "u-" + padding + digits
    }

    private static func pickProfile(_ random: inout SplitMix64) -> SyntheticPeople.LocaleProfile {
        var target = random.next(below: profileWeightTotal)
        for profile in SyntheticPeople.profiles {
            if target < profile.weight { return profile }
            target -= profile.weight
        }
        return SyntheticPeople.profiles[0]
    }

    private static func pickWeighted(_ choices: [(name: String, weight: Int)], _ random: inout SplitMix64) -> String {
        let total = choices.reduce(0) { $0 + $1.weight }
        var target = random.next(below: total)
        for choice in choices {
            if target < choice.weight { return choice.name }
            target -= choice.weight
        }
        return choices[0].name
    }

    private static func email(first: String, last: String, number: Int, _ random: inout SplitMix64) -> String {
        let domain = SyntheticPeople.emailDomains[random.next(below: SyntheticPeople.emailDomains.count)]
        // The number keeps addresses unique, as a real user base's are.
        switch random.next(below: 4) {
        case 0: return "\(first).\(last)\(number)@\(domain)"
        case 1: return "\(first)\(last)\(number)@\(domain)"
        case 2: return "\(first.prefix(1)).\(last)\(number)@\(domain)"
        default: return "\(first)_\(last)\(number)@\(domain)"
        }
    }

    private static func phone(_ plan: SyntheticPeople.PhonePlan, _ random: inout SplitMix64) -> String {
        let prefix = plan.prefixes[random.next(below: plan.prefixes.count)]
        var digits = random.next()
        let suffix = String(unsafeUninitializedCapacity: plan.digits) { buffer in
            for index in 0..<plan.digits {
                buffer[index] = UInt8(ascii: "0") + UInt8(digits % 10)
                digits /= 10
            }
            return plan.digits
        }
        return prefix + suffix
    }

    // MARK: Devices and preferences

    private func devices(_ profile: SyntheticPeople.LocaleProfile, _ random: inout SplitMix64) -> [Device] {
        let roll = random.next(below: 100)
        let count = roll < 25 ? 0 : roll < 75 ? 1 : roll < 95 ? 2 : 3
        guard count > 0 else { return [] }
        var devices: [Device] = []
        devices.reserveCapacity(count)
        for _ in 0..<count {
            let weights = profile.platformWeights
            let platformRoll = random.next(below: weights.ios + weights.android + weights.web)
            let isActive = !random.chance(0.05)
            if platformRoll < weights.ios {
                devices.append(Device(platform: .ios, token: Self.hexToken(&random), isActive: isActive))
            } else if platformRoll < weights.ios + weights.android {
                let token = Self.fcmToken(&random)
                let service = Self.androidService(token: token)
                // JPush registration ids and Pushy tokens are letters and digits (about 20).
                let issued = service == .fcm ? token : String(token.filter { $0.isLetter || $0.isNumber }.lowercased().prefix(22))
                devices.append(Device(platform: .android, service: service, token: issued, isActive: isActive))
            } else {
                devices.append(Device(platform: .web, subscription: Self.webSubscription(&random, making: webSubscription), isActive: isActive))
            }
        }
        return devices
    }

    /// An APNs device token: 32 bytes as 64 lowercase hex digits.
    private static func hexToken(_ random: inout SplitMix64) -> String {
        let hex = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: 64) { buffer in
            for word in 0..<4 {
                var bits = random.next()
                for nibble in 0..<16 {
                    buffer[word * 16 + nibble] = hex[Int(bits & 0xF)]
                    bits >>= 4
                }
            }
            return 64
        }
    }

    /// An FCM registration token's shape: an 11-character instance id, `:APA91b`, then 134
    /// base64url characters.
    private static func fcmToken(_ random: inout SplitMix64) -> String {
        randomBase64URLText(count: 11, &random) + ":APA91b" + randomBase64URLText(count: 134, &random)
    }

    /// Where FCM is blocked, Android apps use JPush or Pushy: about 1 device in 12 gets JPush and
    /// 1 in 24 Pushy, chosen from the token's last character so that the random draws (and
    /// every other generated value) stay what they were.
    private static func androidService(token: String) -> PushService {
        let last = Int(token.utf8.last ?? 0)
        return last % 24 == 0 ? .pushy : last % 24 < 3 ? .jpush : .fcm
    }

    private static func webSubscription(
        _ random: inout SplitMix64, making make: (@Sendable (String) -> WebPushSubscription)?
    ) -> WebPushSubscription {
        let service = random.next(below: SyntheticPeople.webPushServices.count)
        let path: String
        switch service {
        case 0: path = fcmToken(&random)
        case 1: path = "gAAAAA" + randomBase64URLText(count: 134, &random)
        default: path = randomBase64URLText(count: 100, &random)
        }
        var key = [UInt8](repeating: 0, count: 65)
        key[0] = 0x04  // the uncompressed-point marker every browser's p256dh starts with
        fillRandomBytes(&key[1...], &random)
        var auth = [UInt8](repeating: 0, count: 16)
        fillRandomBytes(&auth[...], &random)
        // The same draws either way, so that every other generated value stays the same.
        if let make { return make(String(path.prefix(40))) }
        return WebPushSubscription(
            endpoint: SyntheticPeople.webPushServices[service] + path,
            p256dh: base64URL(key),
            auth: base64URL(auth)
        )
    }

    private static let base64URLAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// `count` random base64url characters, 10 per 64-bit draw.
    private static func randomBase64URLText(count: Int, _ random: inout SplitMix64) -> String {
        String(unsafeUninitializedCapacity: count) { buffer in
            var bits: UInt64 = 0
            var available = 0
            for index in 0..<count {
                if available == 0 {
                    bits = random.next()
                    available = 10
                }
                buffer[index] = base64URLAlphabet[Int(bits & 0x3F)]
                bits >>= 6
                available -= 1
            }
            return count
        }
    }

    private static func fillRandomBytes(_ bytes: inout ArraySlice<UInt8>, _ random: inout SplitMix64) {
        var bits: UInt64 = 0
        var available = 0
        for index in bytes.indices {
            if available == 0 {
                bits = random.next()
                available = 8
            }
            bytes[index] = UInt8(truncatingIfNeeded: bits)
            bits >>= 8
            available -= 1
        }
    }

    /// Base64url without padding (RFC 4648 §5), as Web Push keys are written.
    static func base64URL(_ bytes: [UInt8]) -> String {
        let length = (bytes.count * 4 + 2) / 3
        return String(unsafeUninitializedCapacity: length) { buffer in
            var out = 0
            var index = 0
            while index + 3 <= bytes.count {
                let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
                for shift in [18, 12, 6, 0] {
                    buffer[out] = base64URLAlphabet[Int((chunk >> UInt32(shift)) & 0x3F)]
                    out += 1
                }
                index += 3
            }
            let remaining = bytes.count - index
            if remaining > 0 {
                let chunk = UInt32(bytes[index]) << 16 | (remaining == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
                let characters = remaining == 2 ? 3 : 2
                for (position, shift) in [18, 12, 6].enumerated() where position < characters {
                    buffer[out] = base64URLAlphabet[Int((chunk >> UInt32(shift)) & 0x3F)]
                    out += 1
                }
            }
            return out
        }
    }

    private static func preferences(_ random: inout SplitMix64) -> Preferences {
        var values: [String: Bool] = [:]
        if random.chance(0.05) { values["email"] = false }
        if random.chance(0.03) { values["sms"] = false }
        if random.chance(0.08) { values["push:marketing"] = false }
        if random.chance(0.02) { values["marketing"] = false }
        return Preferences(values)
    }

    // MARK: Attributes

    /// What to generate for one declared attribute, decided once per generator.
    private struct AttributePlan: Sendable {
        enum Kind: Sendable {
            case country, plan, lastSeenAt, lifetimeValue, tags, beta, generic
        }

        let definition: AttributeDefinition
        let kind: Kind

        /// The sample schema's names get meaningful values only with the sample's types; a
        /// `country` declared as a number is just a number.
        init(_ definition: AttributeDefinition) {
            self.definition = definition
            switch (definition.name, definition.type) {
            case ("country", .string): kind = .country
            case ("plan", .string): kind = .plan
            case ("last_seen_at", .time): kind = .lastSeenAt
            case ("lifetime_value", .number): kind = .lifetimeValue
            case ("tags", .list(.string)) where definition.allowedValues == nil: kind = .tags
            case ("beta", .bool): kind = .beta
            default: kind = .generic
            }
        }
    }

    private func value(for plan: AttributePlan, profile: SyntheticPeople.LocaleProfile, createdAt: Double, _ random: inout SplitMix64) -> AttributeValue? {
        switch plan.kind {
        case .country:
            if let allowed = plan.definition.allowedValues, !allowed.contains(profile.country) {
                return allowed.isEmpty ? nil : .string(allowed[random.next(below: allowed.count)])
            }
            return .string(profile.country)
        case .plan:
            let values = plan.definition.allowedValues ?? ["free", "pro", "enterprise"]
            guard !values.isEmpty else { return nil }
            return .string(Self.skewedChoice(values, &random))
        case .lastSeenAt:
            if random.chance(0.05) { return nil }
            var seen = nowSeconds - Double(random.next(below: Self.lastSeenSpan))
            if seen < createdAt {
                seen = createdAt + Double(random.next(below: Int(nowSeconds - createdAt) + 1))
            }
            return .time(Date(timeIntervalSince1970: seen))
        case .lifetimeValue:
            if random.chance(0.35) { return .number(0) }
            let unit = random.nextUnit()
            let amount = 5 + 4_995 * unit * unit * unit * unit
            return .number((amount * 100).rounded() / 100)
        case .tags:
            if random.chance(0.10) { return nil }
            var tags: [AttributeValue] = []
            for (tag, share) in SyntheticPeople.tagShares where random.chance(share) {
                tags.append(.string(tag))
            }
            return .list(tags)
        case .beta:
            if random.chance(0.10) { return nil }
            return .bool(random.chance(0.10))
        case .generic:
            if random.chance(0.10) { return nil }
            return genericValue(plan.definition.type, definition: plan.definition, &random)
        }
    }

    /// About 70% the first value, the rest spread over the others with halving weights.
    private static func skewedChoice(_ values: [String], _ random: inout SplitMix64) -> String {
        if values.count == 1 || random.chance(0.7) { return values[0] }
        let others = values.count - 1
        let total = (1 << min(others, 30)) - 1
        var target = random.next(below: total)
        for index in 1..<values.count {
            let weight = 1 << max(0, min(others, 30) - index)
            if target < weight { return values[index] }
            target -= weight
        }
        return values[values.count - 1]
    }

    private func genericValue(_ type: AttributeType, definition: AttributeDefinition, _ random: inout SplitMix64) -> AttributeValue {
        switch type {
        case .string:
            if let allowed = definition.allowedValues, !allowed.isEmpty {
                return .string(allowed[random.next(below: allowed.count)])
            }
            return .string("\(definition.name)-\(random.next(in: 1...20))")
        case .number:
            return .number(Double(random.next(below: 1_000)))
        case .bool:
            return .bool(random.chance(0.5))
        case .time:
            return .time(Date(timeIntervalSince1970: nowSeconds - Double(random.next(below: 365 * Self.day))))
        case .list(let element):
            let count = random.next(below: 4)
            var items: [AttributeValue] = []
            for _ in 0..<count {
                items.append(genericValue(element, definition: definition, &random))
            }
            return .list(items)
        }
    }
}
