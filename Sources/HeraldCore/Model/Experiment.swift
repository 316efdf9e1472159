/// A campaign's A/B test: variants that split its recipients by weight, a holdout that receives
/// nothing and is kept to compare against, and the conversion event that measures both.
///
/// ```yaml
/// variants:
///   - {name: short, weight: 1}
///   - {name: long, weight: 1, template: winter-sale-long}
///   - {name: deeper, weight: 2, params: {discount: 40%}}
/// holdout: 10%
/// conversion: {event: purchase, within: 3d}
/// ```
public struct Experiment: Sendable, Hashable {
    /// In order; empty when the campaign only keeps a holdout.
    public var variants: [Variant]
    /// The share of recipients held out, in basis points (1000 = 10%); 0 for none.
    public var holdoutBasisPoints: Int
    public var conversion: Conversion?

    /// The group of the recipients a holdout-only experiment sends to.
    public static let treatmentName = "treatment"
    /// The group that receives nothing.
    public static let holdoutName = "holdout"
    /// The largest weight a variant may have, so that the split's arithmetic cannot overflow.
    public static let maximumWeight = 1_000_000
    /// Names a variant cannot have: the groups' own.
    public static let reservedNames = [holdoutName, treatmentName]

    public init(variants: [Variant] = [], holdoutBasisPoints: Int = 0, conversion: Conversion? = nil) {
        self.variants = variants
        self.holdoutBasisPoints = holdoutBasisPoints
        self.conversion = conversion
    }

    /// `10%`, `12.5%`: the holdout as written.
    public var holdoutText: String {
        let whole = holdoutBasisPoints / 100, fraction = holdoutBasisPoints % 100
        if fraction == 0 { return "\(whole)%" }
        return fraction % 10 == 0 ? "\(whole).\(fraction / 10)%" : "\(whole).\(fraction < 10 ? "0" : "")\(fraction)%"
    }

    /// Whether recipients are split at all (a conversion alone measures without splitting).
    public var splits: Bool { !variants.isEmpty || holdoutBasisPoints > 0 }

    /// The group a recipient falls in, from their bucket in 0..<10,000 (the rules engine's
    /// `bucket(10000)` for the campaign and user, stable across runs, processes and machines):
    /// the first `holdoutBasisPoints` buckets are the holdout, the rest is divided among the
    /// variants in proportion to their weights.
    public func group(forBucket bucket: Int) -> Group {
        if bucket < holdoutBasisPoints { return .holdout }
        guard !variants.isEmpty else { return .variant(nil) }
        let total = variants.reduce(0) { $0 + $1.weight }
        let span = 10_000 - holdoutBasisPoints
        // The position among the variants' buckets, scaled to the total weight.
        let position = (bucket - holdoutBasisPoints) * total
        var upper = 0
        for variant in variants {
            upper += variant.weight
            if position < upper * span { return .variant(variant) }
        }
        return .variant(variants[variants.count - 1])
    }

    public enum Group: Sendable, Hashable {
        case holdout
        /// A variant, or nil for the campaign itself (a holdout without variants).
        case variant(Variant?)

        /// The name stored with each notification of the group.
        public var name: String {
            switch self {
            case .holdout: Experiment.holdoutName
            case .variant(let variant): variant?.name ?? Experiment.treatmentName
            }
        }
    }
}

/// One version of a campaign: its own template, or its own params laid over the campaign's.
public struct Variant: Sendable, Hashable {
    public var name: String
    /// Relative: weights 1 and 3 send to a quarter and three quarters of the treated recipients.
    public var weight: Int
    /// A template instead of the campaign's.
    public var template: String?
    /// Params laid over the campaign's (and over its `locale_params`).
    public var params: [String: TemplateValue]

    public init(name: String, weight: Int = 1, template: String? = nil, params: [String: TemplateValue] = [:]) {
        self.name = name
        self.weight = weight
        self.template = template
        self.params = params
    }
}

/// `conversion: {event: purchase, within: 3d}`: a recipient converts when the API receives this
/// event for them within the window after their send (for the holdout, after the send they
/// would have had).
public struct Conversion: Sendable, Hashable {
    public var event: String
    public var within: DurationLiteral

    public init(event: String, within: DurationLiteral) {
        self.event = event
        self.within = within
    }
}

extension Campaign {
    /// The campaign as one variant sends it: the variant's template, its params over the
    /// campaign's for every locale.
    public func applying(_ variant: Variant) -> Campaign {
        var campaign = self
        if let template = variant.template { campaign.template = template }
        for (name, value) in variant.params {
            campaign.params[name] = value
            for locale in campaign.localeParams.keys { campaign.localeParams[locale]?[name] = nil }
        }
        return campaign
    }
}
