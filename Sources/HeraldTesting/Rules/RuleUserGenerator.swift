import Foundation
import HeraldCore

/// Random users of `RuleFixtures.schema`: missing attributes, odd strings, every type, devices on
/// and off, and the events they received.
public struct RuleUserGenerator {
    var random: SeededRandom
    let now: Date

    /// A generator whose times lie around `now`.
    public init(random: SeededRandom, now: Date) {
        self.random = random
        self.now = now
    }

    private mutating func maybe<T>(_ value: @autoclosure () -> T) -> T? { random.chance(0.75) ? value() : nil }

    private mutating func time() -> Date {
        now.addingTimeInterval((Double(random.int(4000)) - 2000) * 3600 + (random.chance(0.2) ? 0.5 : 0))
    }

    /// Up to five events per user, a whole number of hours from `now` (on a window's edge now
    /// and then), a few of them after `now` (not performed yet).
    public mutating func events(of users: [User]) -> [(userID: String, name: String, at: Date)] {
        users.flatMap { user in
            (0..<random.int(6)).map { _ in
                (user.id, random.pick(RuleSamples.eventNames), now.addingTimeInterval(Double(random.int(2400) - 2200) * 3600))
            }
        }
    }

    /// `count` users, ids `u0`… with odd suffixes.
    public mutating func users(count: Int) -> [User] {
        (0..<count).map { index in
            var attributes: [String: AttributeValue] = [:]
            if random.chance(0.75) { attributes["country"] = .string(random.chance(0.9) ? random.pick(RuleSamples.allowedCountries) : random.pick(RuleSamples.oddStrings)) }
            if random.chance(0.75) { attributes["name"] = .string(random.pick(RuleSamples.oddStrings)) }
            if random.chance(0.75) { attributes["age"] = .number(random.pick(RuleSamples.numbers)) }
            if random.chance(0.75) { attributes["score"] = .number(random.pick(RuleSamples.numbers)) }
            if random.chance(0.75) { attributes["vip"] = .bool(random.chance(0.5)) }
            if random.chance(0.75) { attributes["last_seen"] = .time(time()) }
            if random.chance(0.75) { attributes["birthday"] = .time(time()) }
            if random.chance(0.75) { attributes["tags"] = .list((0..<random.int(4)).map { _ in .string(random.pick(RuleSamples.oddStrings)) }) }
            if random.chance(0.75) { attributes["scores"] = .list((0..<random.int(4)).map { _ in .number(random.pick(RuleSamples.numbers)) }) }
            if random.chance(0.75) { attributes["flags"] = .list((0..<random.int(3)).map { _ in .bool(random.chance(0.5)) }) }
            if random.chance(0.75) { attributes["dates"] = .list((0..<random.int(3)).map { _ in .time(time()) }) }
            let devices = (0..<random.int(3)).map { _ in
                Device(platform: random.pick(DevicePlatform.allCases), token: "t", isActive: random.chance(0.7))
            }
            let suffix = random.pick(["", "", "'x", ";--", " é", "%", "_"])
            return User(
                id: "u\(index)\(suffix)",
                email: random.chance(0.7) ? random.pick(RuleSamples.oddStrings + ["ana@example.com", "Ben@Example.com", "kr@x.kr"]) : nil,
                phone: random.chance(0.5) ? random.pick(RuleSamples.oddStrings) : nil,
                locale: random.chance(0.5) ? random.pick(["ko-KR", "en", "KR", "de-DE"]) : nil,
                timezone: random.pick(RuleSamples.zones),
                firstName: random.chance(0.5) ? random.pick(RuleSamples.oddStrings) : nil,
                lastName: random.chance(0.5) ? random.pick(RuleSamples.oddStrings) : nil,
                createdAt: random.chance(0.8) ? time() : nil,
                attributes: attributes,
                devices: devices
            )
        }
    }
}
