import Foundation
import HeraldCore
import Testing

struct CostEstimateTests {
    static func money(_ amount: String, _ currency: String) -> Money {
        Money(amount: Decimal(string: amount, locale: Locale(identifier: "en_US_POSIX"))!, currency: currency)
    }

    static let prices: [String: ProviderPrice] = [
        "twilio": ProviderPrice(.segment, money("0.0079", "USD")),
        "vonage": ProviderPrice(.segment, money("0.0333", "EUR")),
        "vonage-flat": ProviderPrice(.message, money("0.05", "EUR")),
        "sendgrid": ProviderPrice(.message, money("0.0001", "USD")),
    ]

    @Test func segmentsTimesPerSegmentAndMessagesTimesPerMessage() {
        let estimate = CostEstimate(usage: [
            .init(provider: "twilio", messages: 1_000, segments: 1_250),
            .init(provider: "sendgrid", messages: 5_000),
        ], prices: Self.prices)
        #expect(estimate.lines.map(\.cost) == [Self.money("9.875", "USD"), Self.money("0.5", "USD")])
        #expect(estimate.totals == [Self.money("10.375", "USD")])
        #expect(estimate.unpriced == [])
        #expect(estimate.totals.map(\.description) == ["10.375 USD"])
    }

    @Test func currenciesAreTotalledSeparatelyNeverAdded() {
        let estimate = CostEstimate(usage: [
            .init(provider: "vonage", messages: 10, segments: 30),
            .init(provider: "twilio", messages: 10, segments: 30),
            .init(provider: "vonage-flat", messages: 10, segments: 30),
        ], prices: Self.prices)
        #expect(estimate.lines.map(\.cost) == [Self.money("0.999", "EUR"), Self.money("0.237", "USD"), Self.money("0.5", "EUR")])
        // Sorted by currency code, one total each.
        #expect(estimate.totals == [Self.money("1.499", "EUR"), Self.money("0.237", "USD")])
    }

    @Test func unpricedProvidersHaveNoCostAndAreListed() {
        let estimate = CostEstimate(usage: [
            .init(provider: "mandrill", messages: 7),
            .init(provider: "twilio", messages: 1, segments: 2),
            .init(provider: "apns", messages: 3),
        ], prices: Self.prices)
        #expect(estimate.lines.map(\.cost) == [nil, Self.money("0.0158", "USD"), nil])
        #expect(estimate.lines.map(\.price) == [nil, Self.prices["twilio"], nil])
        #expect(estimate.unpriced == ["mandrill", "apns"])
        #expect(estimate.totals == [Self.money("0.0158", "USD")])
    }

    @Test func usageOfOneProviderIsAddedUp() {
        let estimate = CostEstimate(usage: [
            .init(provider: "twilio", messages: 2, segments: 3),
            .init(provider: "sendgrid", messages: 1),
            .init(provider: "twilio", messages: 1, segments: 4),
        ], prices: Self.prices)
        #expect(estimate.lines.map(\.usage) == [
            .init(provider: "twilio", messages: 3, segments: 7), .init(provider: "sendgrid", messages: 1),
        ])
        #expect(estimate.lines.first?.cost == Self.money("0.0553", "USD"))
    }

    @Test func nothingSentCostsZeroAndNoUsageHasNoTotals() {
        #expect(CostEstimate(usage: [], prices: Self.prices).totals == [])
        let zero = CostEstimate(usage: [.init(provider: "twilio", messages: 0)], prices: Self.prices)
        #expect(zero.totals == [Self.money("0", "USD")])
    }

    @Test func largeCountsStayExact() {
        let estimate = CostEstimate(usage: [.init(provider: "twilio", messages: 590_111, segments: 1_180_222)], prices: Self.prices)
        #expect(estimate.totals == [Self.money("9323.7538", "USD")])
    }

    @Test func pricesComeFromTheConfiguration() {
        let location = SourceLocation(file: "herald.yml", line: 1, column: 1)
        let configuration = HeraldConfiguration(providers: [
            ProviderConfiguration(name: "twilio", kind: .twilio, settings: [:], price: Self.prices["twilio"], location: location),
            ProviderConfiguration(name: "sendgrid", kind: .sendgrid, settings: [:], location: location),
        ])
        let estimate = CostEstimate(usage: [
            .init(provider: "twilio", messages: 1, segments: 1), .init(provider: "sendgrid", messages: 1),
        ], configuration: configuration)
        #expect(estimate.lines.map(\.cost) == [Self.money("0.0079", "USD"), nil])
        #expect(estimate.unpriced == ["sendgrid"])
    }
}
