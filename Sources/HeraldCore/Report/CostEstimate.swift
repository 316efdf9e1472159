import Foundation

/// What a plan would cost, per provider and in total, from herald.yml's prices
/// (`ProviderConfiguration.price`): segments × `per_segment`, or messages × `per_message`.
///
/// Amounts are exact decimals, never rounded. A total is per currency: providers priced in
/// different currencies give one total each, never added together. A provider without a price
/// has a line with no cost and is listed in `unpriced`, so that a total is never silently short.
///
/// ```swift
/// let estimate = CostEstimate(usage: [
///     .init(provider: "twilio", messages: 1_000, segments: 1_250),
///     .init(provider: "sendgrid", messages: 5_000),
/// ], prices: [
///     "twilio": ProviderPrice(.segment, Money(amount: Decimal(string: "0.0079")!, currency: "USD")),
///     "sendgrid": ProviderPrice(.message, Money(amount: Decimal(string: "0.0001")!, currency: "USD")),
/// ])
/// estimate.lines.map(\.cost)  // [9.875 USD, 0.5 USD]
/// estimate.totals             // [10.375 USD]
/// ```
public struct CostEstimate: Sendable, Hashable {
    /// What a plan sends through one provider.
    public struct Usage: Sendable, Hashable {
        public var provider: String
        public var messages: Int
        /// SMS segments (`SMSSegments.count` summed over the messages); 0 for push and email.
        public var segments: Int

        public init(provider: String, messages: Int, segments: Int = 0) {
            self.provider = provider
            self.messages = messages
            self.segments = segments
        }
    }

    /// One provider's usage, its price and what it costs.
    public struct Line: Sendable, Hashable {
        public var usage: Usage
        /// `nil` when herald.yml gives the provider no price.
        public var price: ProviderPrice?
        /// `nil` exactly when `price` is.
        public var cost: Money?

        public init(usage: Usage, price: ProviderPrice?) {
            self.usage = usage
            self.price = price
            cost = price.map { price in
                let count = price.unit == .segment ? usage.segments : usage.messages
                return Money(amount: price.amount.amount * Decimal(count), currency: price.amount.currency)
            }
        }
    }

    /// One line per provider, in the order the providers first appear in the usage.
    public var lines: [Line]
    /// The sum of the costs per currency, sorted by currency code; empty when nothing is priced.
    public var totals: [Money]

    /// - Parameters:
    ///   - usage: per provider; entries for the same provider are added together.
    ///   - prices: by provider name.
    public init(usage: [Usage], prices: [String: ProviderPrice]) {
        var merged: [Usage] = []
        var index: [String: Int] = [:]
        for entry in usage {
            if let position = index[entry.provider] {
                merged[position].messages += entry.messages
                merged[position].segments += entry.segments
            } else {
                index[entry.provider] = merged.count
                merged.append(entry)
            }
        }
        lines = merged.map { Line(usage: $0, price: prices[$0.provider]) }
        var sums: [String: Decimal] = [:]
        for case let cost? in lines.map(\.cost) {
            sums[cost.currency, default: 0] += cost.amount
        }
        totals = sums.keys.sorted().map { Money(amount: sums[$0]!, currency: $0) }
    }

    /// With the prices of herald.yml's providers.
    public init(usage: [Usage], configuration: HeraldConfiguration) {
        var prices: [String: ProviderPrice] = [:]
        for provider in configuration.providers {
            if let price = provider.price { prices[provider.name] = price }
        }
        self.init(usage: usage, prices: prices)
    }

    /// The providers used without a price, in line order.
    public var unpriced: [String] {
        lines.filter { $0.price == nil }.map(\.usage.provider)
    }
}
