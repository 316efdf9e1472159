import Foundation

/// What a provider charges, from herald.yml's `price:` on a provider: an amount per SMS segment
/// or per message, for `herald plan`'s cost estimate.
///
/// ```yaml
/// providers:
///   twilio: {kind: twilio, …, price: {per_segment: "0.0079 USD"}}
///   sendgrid: {kind: sendgrid, …, price: {per_message: "0.0001 USD"}}
/// ```
public struct ProviderPrice: Sendable, Hashable, CustomStringConvertible {
    /// What one `amount` pays for.
    public enum Unit: String, Sendable, Hashable, CaseIterable {
        /// One SMS segment (`SMSSegments.count`): how Twilio and Vonage bill. SMS providers only.
        case segment = "per_segment"
        /// One message, however long.
        case message = "per_message"
    }

    public var unit: Unit
    public var amount: Money

    public init(_ unit: Unit, _ amount: Money) {
        self.unit = unit
        self.amount = amount
    }

    /// `0.0079 USD per segment`.
    public var description: String {
        "\(amount) per \(unit == .segment ? "segment" : "message")"
    }
}
