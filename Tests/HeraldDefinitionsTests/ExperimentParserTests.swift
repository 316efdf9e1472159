import Foundation
import HeraldCore
import HeraldDefinitions
import Testing

/// `variants:`, `holdout:` and `conversion:` in a campaign file.
struct ExperimentParserTests {
    static let file = "campaigns/flash-sale.yml"
    static let head = "campaign: flash-sale\nchannels: [push]\ntemplate: sale\nparams: {discount: 30%}\n"

    func parse(_ text: String) -> (campaign: Campaign?, messages: [String]) {
        let (campaign, diagnostics) = CampaignParser().parse(text: Self.head + text, file: Self.file)
        return (campaign, diagnostics.map(\.description))
    }

    @Test func variantsAHoldoutAndAConversionAreRead() throws {
        let campaign = try #require(parse("""
            variants:
              - {name: control}
              - {name: deeper, weight: 2, params: {discount: 40%}}
              - {name: long, template: sale-long}
            holdout: 12.5%
            conversion: {event: purchase, within: 3d}

            """).campaign)
        #expect(campaign.experiment == Experiment(
            variants: [
                Variant(name: "control"), Variant(name: "deeper", weight: 2, params: ["discount": .string("40%")]), Variant(name: "long", template: "sale-long"),
            ],
            holdoutBasisPoints: 1250,
            conversion: Conversion(event: "purchase", within: DurationLiteral(amount: 3, unit: .days))
        ))
        #expect(campaign.applying(campaign.experiment.variants[1]).params["discount"] == .string("40%"))
        #expect(campaign.applying(campaign.experiment.variants[2]).template == "sale-long")
    }

    @Test(arguments: [
        ("variants:\n  - {name: only}\n", "campaigns/flash-sale.yml:6:3: 'variants' has one variant (a test needs at least two variants; to compare one version with sending nothing, use holdout: 10% alone)"),
        ("variants:\n  - {name: a}\n  - {name: a, weight: 2}\n", "campaigns/flash-sale.yml:7:12: variant 'a' is listed twice (give each variant its own name)"),
        ("variants:\n  - {name: holdout}\n  - {name: b}\n", "campaigns/flash-sale.yml:6:12: 'holdout' is not a variant name: the report uses it for a group of its own (choose another name)"),
        ("variants:\n  - {name: a, weight: 0}\n  - {name: b}\n", "campaigns/flash-sale.yml:6:23: 'weight' must be at least 1, found 0 (expected a whole number of at least 1)"),
        ("variants:\n  - {name: a, weight: 1000000000000000}\n  - {name: b}\n", "campaigns/flash-sale.yml:6:23: 'weight' is at most 1000000, found 1000000000000000 (weights are relative: 1 and 3 split a quarter and three quarters)"),
        ("variants:\n  - {name: a, templat: x}\n  - {name: b}\n", "campaigns/flash-sale.yml:6:15: unknown field 'templat' (did you mean 'template'?)"),
        ("holdout: 10\n", "campaigns/flash-sale.yml:5:10: invalid holdout '10' (expected a percentage of recipients who get nothing, e.g. holdout: 10%, with at most two decimals)"),
        ("holdout: 0%\n", "campaigns/flash-sale.yml:5:10: holdout must be more than 0% and less than 100%, found 0% (expected a percentage of recipients who get nothing, e.g. holdout: 10%)"),
        ("holdout: 100%\n", "campaigns/flash-sale.yml:5:10: holdout must be more than 0% and less than 100%, found 100% (expected a percentage of recipients who get nothing, e.g. holdout: 10%)"),
        ("conversion: {event: purchase}\n", "campaigns/flash-sale.yml:5:13: missing field 'within' (expected how long after the send a conversion counts, e.g. within: 3d)"),
        ("conversion: {event: buy now, within: 3d}\n", "campaigns/flash-sale.yml:5:21: invalid event name 'buy now' (use letters, digits, '_', '-' and '.', e.g. purchase)"),
        ("category: transactional\nholdout: 10%\nconversion: {event: purchase, within: 3d}\n", "campaigns/flash-sale.yml:6:10: a transactional campaign cannot hold recipients out or test variants (everyone must get a transactional message (an order confirmation, a code); test a marketing campaign instead)"),
    ])
    func aBrokenTestSaysWhereAndWhy(yaml: String, message: String) {
        let (campaign, messages) = parse(yaml)
        #expect(campaign == nil)
        #expect(messages == [message])
    }

    @Test func aHoldoutWithoutAConversionIsAWarning() throws {
        let (campaign, messages) = parse("holdout: 10%\n")
        #expect(campaign?.experiment.holdoutBasisPoints == 1000)
        #expect(messages == [
            "campaigns/flash-sale.yml:5:10: warning: a holdout without a conversion event measures nothing (add conversion: {event: purchase, within: 3d}: the holdout receives nothing to open or click, so only conversions compare with it)",
        ])
    }
}
