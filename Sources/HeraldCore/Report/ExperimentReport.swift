import Foundation

/// One group of a campaign's test, as the store counts it: the people in it and what they did.
public struct ExperimentGroupCounts: Sendable, Hashable, Codable {
    public var campaignID: String
    /// A variant's name, `treatment` (a holdout without variants) or `holdout`.
    public var group: String
    /// People in the group whom a send reached or would have reached (the holdout: those
    /// recorded `skipped(holdout)`); people skipped for another reason are not in any group.
    public var people: Int
    /// People with at least one notification sent or delivered.
    public var sent: Int
    public var opened: Int
    public var clicked: Int
    /// People who converted within the window after their send (the holdout: after the send
    /// they would have had); nil when the campaign has no `conversion:`.
    public var converted: Int?
    /// The conversion event and window, as the campaign last declared them.
    public var conversionEvent: String?
    public var conversionWindowSeconds: Double?

    public init(
        campaignID: String, group: String, people: Int, sent: Int = 0, opened: Int = 0, clicked: Int = 0, converted: Int? = nil,
        conversionEvent: String? = nil, conversionWindowSeconds: Double? = nil
    ) {
        self.campaignID = campaignID
        self.group = group
        self.people = people
        self.sent = sent
        self.opened = opened
        self.clicked = clicked
        self.converted = converted
        self.conversionEvent = conversionEvent
        self.conversionWindowSeconds = conversionWindowSeconds
    }

    public var isHoldout: Bool { group == Experiment.holdoutName }

    /// Conversions per person in the group; nil without a conversion event or people.
    public var conversionRate: Double? {
        guard let converted, people > 0 else { return nil }
        return Double(converted) / Double(people)
    }
}

/// A group's conversion rate against the holdout's: the difference, with its 95% confidence
/// interval and a two-proportion test.
///
/// The interval is Agresti and Caffo's for a difference of two proportions: Wald's interval
/// after adding one conversion and one non-conversion to each group,
/// `d̃ ± 1.96·√(p̃₁q̃₁/(n₁+2) + p̃₂q̃₂/(n₂+2))` with `p̃ = (x+1)/(n+2)`. Unlike the plain Wald
/// interval it keeps its 95% coverage with few conversions or a group that converted no one
/// (4 of 1,800 against 0 of 200 is no evidence, and it says so). The difference is called
/// significant exactly when the interval leaves out zero, so that the verdict and the interval
/// never disagree.
public struct Lift: Sendable, Hashable, Codable {
    /// The group's rate minus the holdout's as observed, a fraction (0.03 = 3 percentage points).
    public var difference: Double
    /// The interval's bounds, within -1…1.
    public var low: Double
    public var high: Double
    /// The difference relative to the holdout's rate (0.333 = a third more); nil when the
    /// holdout converted no one.
    public var relative: Double?
    /// The test statistic: the adjusted difference over its standard error.
    public var z: Double
    public var isSignificant: Bool

    /// 1.96: the two-sided 95% quantile of the normal distribution.
    public static let z95 = 1.959_963_984_540_054

    /// The lift of `converted` of `people` over `baselineConverted` of `baselinePeople`; nil
    /// when either group is empty.
    public init?(converted: Int, people: Int, baselineConverted: Int, baselinePeople: Int) {
        guard people > 0, baselinePeople > 0 else { return nil }
        let rate = Double(converted) / Double(people)
        let baseline = Double(baselineConverted) / Double(baselinePeople)
        difference = rate - baseline
        relative = baseline > 0 ? difference / baseline : nil
        let adjusted = (Double(converted) + 1) / (Double(people) + 2)
        let adjustedBaseline = (Double(baselineConverted) + 1) / (Double(baselinePeople) + 2)
        let center = adjusted - adjustedBaseline
        let error = (adjusted * (1 - adjusted) / (Double(people) + 2) + adjustedBaseline * (1 - adjustedBaseline) / (Double(baselinePeople) + 2)).squareRoot()
        low = max(-1, center - Self.z95 * error)
        high = min(1, center + Self.z95 * error)
        z = center / error
        isSignificant = low > 0 || high < 0
    }

    /// `+3.0 pts (95% CI +0.3 to +5.7), significant` or `… not significant yet`.
    public var summary: String {
        "\(Self.points(difference)) (95% CI \(Self.points(low, unit: false)) to \(Self.points(high))), "
            + (isSignificant ? "significant" : "not significant yet")
    }

    static func points(_ fraction: Double, unit: Bool = true) -> String {
        let value = fraction * 100
        let text = String(format: "%+.1f", value == 0 ? 0 : value)
        return unit ? text + " pts" : text
    }
}

extension ExperimentGroupCounts {
    /// This group's lift against `holdout`; nil for the holdout itself, without conversions, or
    /// with an empty group.
    public func lift(against holdout: ExperimentGroupCounts?) -> Lift? {
        guard !isHoldout, let holdout, let converted, let baseline = holdout.converted else { return nil }
        return Lift(converted: converted, people: people, baselineConverted: baseline, baselinePeople: holdout.people)
    }
}
