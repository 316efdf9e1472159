import Foundation

/// An amount of money in one currency: a campaign param written `{amount: 129.00, currency: USD}`.
///
/// The amount is decimal, so that `19.99` is exactly 19.99. Templates show it with the
/// currency's symbol and digits in the recipient's locale: `$129.00` in en-US, `US$129.00` in
/// ko-KR, `129,00 $` in de-DE.
public struct Money: Sendable, Hashable, Codable, CustomStringConvertible {
    public var amount: Decimal
    /// An ISO 4217 code in capitals: `USD`, `EUR`, `KRW`.
    public var currency: String

    public init(amount: Decimal, currency: String) {
        self.amount = amount
        self.currency = currency
    }

    /// The ISO 4217 codes Foundation knows, in capitals and sorted: what `currency` may be.
    public static let knownCurrencies: [String] = Locale.Currency.isoCurrencies.map(\.identifier).filter { code in
        code.utf8.count == 3 && code.utf8.allSatisfy { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }
    }.sorted()

    /// `129.00 USD`: the amount as written in decimal and the code, for logs and plain output.
    public var description: String {
        "\(amount) \(currency)"
    }
}
