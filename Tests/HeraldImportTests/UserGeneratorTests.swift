import Foundation
import HeraldCore
import HeraldImport
import Testing

@Suite("Synthetic users")
struct UserGeneratorTests {
    static let now = ISO8601.date(from: "2026-11-25T12:34:56.789Z") ?? .distantPast
    static let schema = AttributeSchema([
        AttributeDefinition(name: "country", type: .string),
        AttributeDefinition(name: "plan", type: .string, allowedValues: ["free", "pro", "enterprise"]),
        AttributeDefinition(name: "last_seen_at", type: .time),
        AttributeDefinition(name: "lifetime_value", type: .number),
        AttributeDefinition(name: "tags", type: .list(.string)),
        AttributeDefinition(name: "beta", type: .bool),
        AttributeDefinition(name: "shoe_size", type: .number),
        AttributeDefinition(name: "tier", type: .string, allowedValues: ["bronze", "silver"]),
        AttributeDefinition(name: "nickname", type: .string),
        AttributeDefinition(name: "opted_in_at", type: .time),
        AttributeDefinition(name: "is_staff", type: .bool),
        AttributeDefinition(name: "lucky_numbers", type: .list(.number)),
    ])

    /// 10 000 users of the test schema, generated once for all the mix tests.
    static let users: [User] = {
        var generator = UserGenerator(seed: 42, schema: schema, now: now)
        return generator.next(count: 10_000)
    }()

    /// The share of `users` for which `predicate` holds.
    static func share(_ predicate: (User) -> Bool) -> Double {
        Double(users.count(where: predicate)) / Double(users.count)
    }

    @Test("the same seed gives the same users; user(number:) is the n-th next()")
    func determinism() {
        var first = UserGenerator(seed: 7, schema: Self.schema, now: Self.now)
        var second = UserGenerator(seed: 7, schema: Self.schema, now: Self.now)
        let a = first.next(count: 500)
        let b = (0..<500).map { _ in second.next() }
        #expect(a == b)
        #expect(first.generatedCount == 500)
        #expect(first.user(number: 321) == a[320])
        #expect(first.next().id == "u-000501")
    }

    @Test("a different seed gives different users with the same ids")
    func differentSeeds() {
        var first = UserGenerator(seed: 1, schema: Self.schema, now: Self.now)
        var second = UserGenerator(seed: 2, schema: Self.schema, now: Self.now)
        let a = first.next(count: 200)
        let b = second.next(count: 200)
        #expect(a.map(\.id) == b.map(\.id))
        #expect(zip(a, b).filter { $0 != $1 }.count == 200)
        #expect(zip(a, b).filter { $0.email != nil && $0.email == $1.email }.count < 10)
    }

    @Test("golden values: the first user of seed 42 is the same on every machine and Swift version")
    func golden() throws {
        let generator = UserGenerator(seed: 42, schema: Self.schema, now: Self.now)
        let user = generator.user(number: 1)
        #expect(user.id == "u-000001")
        #expect(user.email == "a.adams1@mail.example.com")
        #expect(user.phone == "+12125550149")
        #expect(user.locale == "en-US")
        #expect(user.timezone == "America/Chicago")
        #expect(user.firstName == "Ava")
        #expect(user.lastName == "Adams")
        #expect(user.createdAt == ISO8601.date(from: "2025-10-11T02:50:49Z"))
        #expect(user.devices == [Device(platform: .ios, token: "7a4a692913e403e55aa1899702b42b4111515970954683445f888fc71c0bbf31")])
        #expect(user.preferences == Preferences())
        #expect(user.attributes == [
            "country": .string("US"), "plan": .string("free"), "last_seen_at": .time(ISO8601.date(from: "2026-10-31T15:59:00Z") ?? .distantPast),
            "lifetime_value": .number(4034.35), "beta": .bool(false), "tier": .string("silver"), "nickname": .string("nickname-9"),
            "is_staff": .bool(true), "lucky_numbers": .list([.number(979), .number(175), .number(185)]),
        ])
        // Every field of the first thousand users, web push keys included.
        let digest = Self.users.prefix(1_000).reduce(into: GoldenDigest()) { $0.add(Self.canonical($1)) }
        #expect(digest.value == 17_701_367_849_367_868_685)
    }

    @Test("ids count up with at least six digits")
    func ids() {
        let generator = UserGenerator(seed: 3, schema: AttributeSchema(), now: Self.now)
        #expect([1, 42, 999_999, 1_000_000, 12_345_678].map { generator.user(number: $0).id }
            == ["u-000001", "u-000042", "u-999999", "u-1000000", "u-12345678"])
    }

    @Test("every generated user passes the import rules (round trip through JSON Lines)")
    func roundTrip() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let users = Array(Self.users.prefix(2_000))
        let file = try directory.write("users.jsonl", users.map(UserJSONLinesWriter.line(for:)).joined(separator: "\n") + "\n")
        let rows = try directory.readAll(file, schema: Self.schema, batch: 500)
        let failures = rows.compactMap { $0.result.importFailure.map(directory.describe) }
        #expect(failures.isEmpty)
        #expect(rows.compactMap { try? $0.result.get() } == users)
    }

    @Test("missing fields fall within their tolerances")
    func missingFields() {
        #expect((0.15...0.25).contains(Self.share { $0.phone == nil }))
        #expect((0.05...0.11).contains(Self.share { $0.email == nil }))
        #expect((0.05...0.11).contains(Self.share { $0.timezone == nil }))
        #expect((0.015...0.045).contains(Self.share { $0.locale == nil }))
        #expect(Self.users.allSatisfy { $0.firstName != nil && $0.lastName != nil && $0.createdAt != nil })
    }

    @Test("locales, countries, time zones and phones agree")
    func localeConsistency() {
        let localeShares = Dictionary(grouping: Self.users.compactMap(\.locale), by: { $0 }).mapValues { Double($0.count) / 10_000 }
        #expect(Set(localeShares.keys) == ["en-US", "en-GB", "en-CA", "en-AU", "ko-KR", "ja-JP", "de-DE", "fr-FR", "es-ES", "pt-BR"])
        #expect((0.24...0.31).contains(localeShares["en-US"] ?? 0))
        #expect((0.09...0.15).contains(localeShares["ko-KR"] ?? 0))
        let callingCodes = ["US": "+1", "CA": "+1", "GB": "+44", "AU": "+61", "KR": "+82", "JP": "+81", "DE": "+49", "FR": "+33", "ES": "+34", "BR": "+55"]
        let zonePrefixes = ["US": ["America/", "Pacific/"], "CA": ["America/"], "GB": ["Europe/London"], "AU": ["Australia/"],
                            "KR": ["Asia/Seoul"], "JP": ["Asia/Tokyo"], "DE": ["Europe/Berlin"], "FR": ["Europe/Paris"],
                            "ES": ["Europe/Madrid", "Atlantic/Canary"], "BR": ["America/"]]
        for user in Self.users {
            guard case .string(let country)? = user.attributes["country"] else {
                Issue.record("\(user.id) has no country")
                continue
            }
            if let locale = user.locale { #expect(locale.hasSuffix("-" + country), "\(user.id)") }
            if let phone = user.phone {
                #expect(phone.hasPrefix(callingCodes[country] ?? "?"), "\(user.id) \(phone)")
                #expect(phone.utf8.count >= 9 && phone.utf8.count <= 16 && phone.dropFirst().allSatisfy(\.isNumber), "\(user.id) \(phone)")
            }
            if let zone = user.timezone {
                #expect((zonePrefixes[country] ?? []).contains { zone.hasPrefix($0) }, "\(user.id) \(zone)")
                #expect(TimeZone(identifier: zone) != nil)
            }
            if let email = user.email {
                #expect(email.hasSuffix("example.com") || email.hasSuffix("example.net") || email.hasSuffix("example.org"))
            }
        }
        #expect(Set(Self.users.compactMap(\.email)).count == Self.users.count(where: { $0.email != nil }))
        // US and Canadian numbers stay in the fictional 555-01XX range.
        #expect(Self.users.compactMap(\.phone).filter { $0.hasPrefix("+1") }.allSatisfy { $0.dropFirst(5).hasPrefix("55501") })
    }

    @Test("devices: platform mix, counts, inactive share and well-formed tokens and keys")
    func devices() throws {
        #expect((0.20...0.30).contains(Self.share { $0.devices.isEmpty }))
        #expect((0.02...0.08).contains(Self.share { $0.devices.count >= 3 }))
        let devices = Self.users.flatMap(\.devices)
        let platformShare = { (platform: DevicePlatform) in Double(devices.count(where: { $0.platform == platform })) / Double(devices.count) }
        #expect((0.35...0.55).contains(platformShare(.ios)))
        #expect((0.35...0.55).contains(platformShare(.android)))
        #expect((0.07...0.15).contains(platformShare(.web)))
        #expect((0.03...0.07).contains(Double(devices.count(where: { !$0.isActive })) / Double(devices.count)))
        // Where FCM is blocked: some Android devices use JPush or Pushy.
        let android = devices.filter { $0.platform == .android }
        let serviceShare = { (service: PushService) in Double(android.count(where: { $0.service == service })) / Double(android.count) }
        #expect((0.03...0.15).contains(serviceShare(.jpush)))
        #expect((0.01...0.08).contains(serviceShare(.pushy)))
        for device in devices {
            switch device.platform {
            case .ios:
                #expect(device.token?.utf8.count == 64 && device.token?.allSatisfy(\.isHexDigit) == true)
                #expect(device.subscription == nil)
            case .android where device.service == .fcm:
                #expect(device.token?.contains(":APA91b") == true)
            case .android:
                // JPush registration ids and Pushy tokens: letters and digits.
                #expect([PushService.jpush, .pushy].contains(device.service))
                #expect(device.token.map { !$0.isEmpty && $0.count <= 22 && $0.allSatisfy { $0.isLetter || $0.isNumber } } == true)
            case .web:
                let subscription = try #require(device.subscription)
                #expect(device.token == nil)
                #expect(subscription.endpoint.hasPrefix("https://"))
                let key = try #require(Self.base64URLDecoded(subscription.p256dh))
                #expect(key.count == 65 && key.first == 0x04)
                #expect(Self.base64URLDecoded(subscription.auth)?.count == 16)
            }
        }
    }

    @Test("preferences: opt-out shares")
    func preferences() {
        #expect((0.035...0.065).contains(Self.share { $0.preferences["email"] == false }))
        #expect((0.02...0.04).contains(Self.share { $0.preferences["sms"] == false }))
        #expect((0.065...0.095).contains(Self.share { $0.preferences["push:marketing"] == false }))
        #expect((0.01...0.03).contains(Self.share { $0.preferences["marketing"] == false }))
        #expect(Self.users.allSatisfy { $0.preferences.values.keys.allSatisfy(Preferences.isValidKey) && !$0.preferences.values.values.contains(true) })
    }

    @Test("sample attributes have meaningful values")
    func sampleAttributes() {
        let now = Self.now.timeIntervalSince1970
        #expect((0.65...0.75).contains(Self.share { $0.attributes["plan"] == .string("free") }))
        #expect((0.15...0.25).contains(Self.share { $0.attributes["plan"] == .string("pro") }))
        #expect((0.07...0.13).contains(Self.share { $0.attributes["plan"] == .string("enterprise") }))
        #expect((0.03...0.07).contains(Self.share { $0.attributes["last_seen_at"] == nil }))
        for user in Self.users {
            let created = user.createdAt?.timeIntervalSince1970 ?? 0
            #expect(created <= now && created >= now - 3 * 365 * 86_400 - 1 && created == created.rounded())
            if case .time(let seen)? = user.attributes["last_seen_at"] {
                #expect(seen.timeIntervalSince1970 <= now && seen.timeIntervalSince1970 >= max(created, now - 90 * 86_400 - 1), "\(user.id)")
            }
            if case .list(let tags)? = user.attributes["tags"] {
                #expect(tags.allSatisfy { [.string("vip"), .string("beta"), .string("newsletter"), .string("wishlist")].contains($0) })
            }
        }
        let values = Self.users.compactMap { user -> Double? in
            if case .number(let value)? = user.attributes["lifetime_value"] { return value }
            return nil
        }
        #expect(values.count == 10_000)
        #expect((0.30...0.40).contains(Double(values.count(where: { $0 == 0 })) / 10_000))
        let positive = values.filter { $0 > 0 }.sorted()
        #expect(positive.allSatisfy { $0 >= 5 && $0 <= 5_000 && abs(($0 * 100).rounded() - $0 * 100) < 1e-6 })
        // Skewed: the median is far below the mean.
        #expect(positive[positive.count / 2] < positive.reduce(0, +) / Double(positive.count) * 0.7)
        #expect((0.035...0.06).contains(Self.share { $0.attributes["tags"]?.containsTag("vip") ?? false }))
        #expect((0.35...0.45).contains(Self.share { $0.attributes["tags"]?.containsTag("newsletter") ?? false }))
        #expect((0.07...0.11).contains(Self.share { $0.attributes["beta"] == .bool(true) }))
        #expect((0.07...0.13).contains(Self.share { $0.attributes["beta"] == nil }))
    }

    @Test("other attributes get values of their type, about 10% absent")
    func otherAttributes() {
        for name in ["shoe_size", "tier", "nickname", "opted_in_at", "is_staff", "lucky_numbers"] {
            #expect((0.07...0.13).contains(Self.share { $0.attributes[name] == nil }), "\(name)")
        }
        for user in Self.users {
            for (name, value) in user.attributes {
                switch (name, value) {
                case ("shoe_size", .number), ("nickname", .string), ("is_staff", .bool): break
                case ("tier", .string(let tier)): #expect(["bronze", "silver"].contains(tier))
                case ("opted_in_at", .time(let date)): #expect(date <= Self.now)
                case ("lucky_numbers", .list(let items)):
                    #expect(items.count <= 3 && items.allSatisfy { if case .number = $0 { true } else { false } })
                case ("country", .string), ("plan", .string), ("last_seen_at", .time), ("lifetime_value", .number), ("tags", .list), ("beta", .bool):
                    break
                default:
                    Issue.record("\(user.id): \(name) has the wrong type: \(value)")
                }
            }
        }
    }

    @Test("a well-known name with another type is treated as any attribute of that type")
    func wellKnownNameWithOtherType() {
        let schema = AttributeSchema([
            AttributeDefinition(name: "country", type: .number),
            AttributeDefinition(name: "plan", type: .string),
            AttributeDefinition(name: "country_code", type: .string, allowedValues: ["KR"]),
        ])
        var generator = UserGenerator(seed: 9, schema: schema, now: Self.now)
        let users = generator.next(count: 300)
        #expect(users.allSatisfy { user in user.attributes["country"].map { if case .number = $0 { true } else { false } } ?? true })
        #expect(Set(users.compactMap { $0.attributes["plan"] }) == [.string("free"), .string("pro"), .string("enterprise")])
        #expect(Set(users.compactMap { $0.attributes["country_code"] }) == [.string("KR")])
    }

    /// Every field of a user in a fixed order and spelling, for the golden digest.
    static func canonical(_ user: User) -> String {
        func render(_ value: AttributeValue) -> String {
            switch value {
            case .string(let text): "s:" + text
            case .number(let number): "n:\(number)"
            case .bool(let flag): "b:\(flag)"
            case .time(let date): "t:\(date.timeIntervalSince1970)"
            case .list(let items): "[" + items.map(render).joined(separator: ",") + "]"
            }
        }
        let fields: [String?] = [
            user.id, user.email, user.phone, user.locale, user.timezone, user.firstName, user.lastName,
            user.createdAt.map { "\($0.timeIntervalSince1970)" },
        ]
        let devices = user.devices.map { device in
            [device.platform.rawValue, device.service.rawValue, device.token ?? "", device.subscription?.endpoint ?? "", device.subscription?.p256dh ?? "",
             device.subscription?.auth ?? "", "\(device.isActive)"].joined(separator: "/")
        }
        let preferences = user.preferences.values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let attributes = user.attributes.sorted { $0.key < $1.key }.map { "\($0.key)=" + render($0.value) }
        return (fields.map { $0 ?? "-" } + devices + preferences + attributes).joined(separator: "|") + "\n"
    }

    /// Decodes base64url without padding, as Web Push keys are written.
    static func base64URLDecoded(_ text: String) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        return Data(base64Encoded: base64).map { [UInt8]($0) }
    }
}

extension AttributeValue {
    fileprivate func containsTag(_ tag: String) -> Bool {
        if case .list(let items) = self { return items.contains(.string(tag)) }
        return false
    }
}

/// 64-bit FNV-1a over UTF-8: a stable digest, unlike `Hasher`, which is seeded per process.
struct GoldenDigest {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func add(_ text: String) {
        for byte in text.utf8 {
            value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
    }
}
