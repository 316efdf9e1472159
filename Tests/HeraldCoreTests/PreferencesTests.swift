import HeraldCore
import Testing

@Suite struct PreferencesTests {
    /// Whether a send of a category on a channel may go out, for preferences as a user sets them.
    @Test(arguments: [
        ([:], "marketing", true),
        (["email": false], "marketing", false),
        (["email": false], "transactional", false),
        (["marketing": false], "marketing", false),
        (["marketing": false], "transactional", true),
        (["marketing": false], "news", true),
        (["email:marketing": false], "marketing", false),
        (["sms:marketing": false], "marketing", true),
        (["marketing:email": false], "marketing", true),
        (["email:transactional": false], "transactional", true),
        (["email": true, "marketing": false], "marketing", false),
        (["email": false, "email:marketing": true], "marketing", false),
    ] as [([String: Bool], String, Bool)])
    func anOptOutAtAnyLevelThatAppliesWins(values: [String: Bool], category: String, allowed: Bool) {
        #expect(Preferences(values).allows(channel: .email, category: category) == allowed)
    }

    @Test(arguments: [
        ("email", true), ("marketing", true), ("push:marketing", true), ("sms:order-updates_2", true),
        ("fax:marketing", false), ("Marketing", false), ("email:", false), (":marketing", false), ("a:b:c", false), ("", false),
        ("push:Marketing", false),
    ])
    func aKeyIsAChannelACategoryOrBoth(key: String, isValid: Bool) {
        #expect(Preferences.isValidKey(key) == isValid)
    }
}
