import Foundation
import HeraldCore
import HeraldDefinitions
import Testing

/// herald.yml's `price:` on a provider, decoded and checked like every other setting.
struct ProviderPriceTests {
    static let twilio = "kind: twilio, account_sid: AC0123456789abcdef0123456789abcdef, auth_token: t, from: \"+15005550006\""
    static let vonage = "kind: vonage, api_key: k, api_secret: s, from: HERALD"
    static let sendgrid = "kind: sendgrid, api_key: k, from: news@example.com"

    func load(_ text: String, environment: [String: String] = [:]) -> (configuration: HeraldConfiguration?, messages: [String]) {
        let (configuration, diagnostics) = ConfigurationLoader(environment: environment).load(text: text)
        return (configuration, diagnostics.map(\.description))
    }

    static func money(_ amount: String, _ currency: String) -> Money {
        Money(amount: Decimal(string: amount, locale: Locale(identifier: "en_US_POSIX"))!, currency: currency)
    }

    @Test func pricesPerSegmentAndPerMessage() throws {
        let text = """
        providers:
          twilio: {\(Self.twilio), price: {per_segment: "0.0079 USD"}}
          vonage:
            kind: vonage
            api_key: k
            api_secret: s
            from: HERALD
            price:
              per_message: ${VONAGE_PRICE}
          sendgrid: {\(Self.sendgrid), price: {per_message: 0.0001 USD}}
          mandrill: {kind: mandrill, api_key: k, from: news@example.com}

        """
        let (configuration, messages) = load(text, environment: ["VONAGE_PRICE": "0.0333 EUR"])
        #expect(messages == [])
        let loaded = try #require(configuration)
        #expect(loaded.provider(named: "twilio")?.price == ProviderPrice(.segment, Self.money("0.0079", "USD")))
        #expect(loaded.provider(named: "vonage")?.price == ProviderPrice(.message, Self.money("0.0333", "EUR")))
        #expect(loaded.provider(named: "sendgrid")?.price == ProviderPrice(.message, Self.money("0.0001", "USD")))
        #expect(loaded.provider(named: "mandrill")?.price == nil)
        // The price is not a text setting handed to the transport.
        #expect(loaded.provider(named: "twilio")?.settings["price"] == nil)
        #expect(loaded.provider(named: "twilio")?.price?.description == "0.0079 USD per segment")
    }

    @Test func anEmptyPriceFieldIsNoPrice() throws {
        let (configuration, messages) = load("providers:\n  twilio: {\(Self.twilio), price: }\n")
        #expect(messages == [])
        #expect(try #require(configuration).provider(named: "twilio")?.price == nil)
    }

    @Test func priceErrorsAreReportedWhereTheyAre() {
        let text = """
        providers:
          t1: {\(Self.twilio), price: {per_segmnt: "0.0079 USD"}}
          t2: {\(Self.twilio), price: {per_segment: "0.0079 usd"}}
          t3: {\(Self.twilio), price: {per_segment: "0.0079 USB"}}
          t4: {\(Self.twilio), price: {per_segment: "-0.01 USD", per_message: "0.01 USD"}}
          t5: {\(Self.twilio), price: {per_segment: "0.0079"}}
          t6: {\(Self.twilio), price: {per_segment: "USD 0.0079"}}
          t7: {\(Self.twilio), price: {per_segment: "1e-3 USD"}}
          t8: {\(Self.twilio), price: {}}
          t9: {\(Self.twilio), price: "0.0079 USD"}
          s1: {\(Self.sendgrid), price: {per_segment: "0.0001 USD"}}
          s2: {\(Self.sendgrid), prices: {per_message: "0.0001 USD"}}
          v1: {\(Self.vonage), price: {per_message: [1]}}

        """
        #expect(load(text).messages == [
            "herald.yml:2:116: unknown field 'per_segmnt' (did you mean 'per_segment'?)",
            "herald.yml:3:129: unknown currency 'usd' for 'per_segment' of provider 't2' (did you mean 'USD'?)",
            "herald.yml:4:129: unknown currency 'USB' for 'per_segment' of provider 't3' (did you mean 'USD'?)",
            "herald.yml:5:129: negative price '-0.01 USD' for 'per_segment' of provider 't4' (write what the provider charges, 0 or more)",
            "herald.yml:5:142: provider 't4' has both per_segment and per_message (keep one: Twilio and Vonage bill per segment)",
            "herald.yml:6:129: no currency in price '0.0079' for 'per_segment' of provider 't5' (write the code after the amount, e.g. \"0.0079 USD\")",
            "herald.yml:7:129: invalid price 'USD 0.0079' for 'per_segment' of provider 't6' (write the amount first, e.g. \"0.0079 USD\")",
            "herald.yml:8:129: invalid amount '1e-3' for 'per_segment' of provider 't7' (write digits with an optional decimal point, e.g. \"0.0079 USD\")",
            "herald.yml:9:115: no price for provider 't8' (expected {per_segment: \"0.0079 USD\"}, or remove 'price')",
            "herald.yml:10:115: wrong type for 'price': found '0.0079 USD' (expected {per_segment: \"0.0079 USD\"})",
            "herald.yml:11:68: provider 's1' of kind sendgrid carries email, which has no segments (price it per message, e.g. price: {per_message: \"0.0001 USD\"})",
            "herald.yml:12:60: unknown field 'prices' in provider 's2' of kind sendgrid (did you mean 'price'?)",
            "herald.yml:12:68: wrong type for 'prices': found a mapping (expected a text value)",
            "herald.yml:13:84: wrong type for 'per_message' of provider 'v1': found a list (expected an amount and an ISO 4217 currency code, e.g. \"0.0079 USD\")",
        ])
    }

    @Test func aBadPriceLeavesNoConfiguration() {
        #expect(load("providers:\n  twilio: {\(Self.twilio), price: {per_segment: \"0.0079 XXY\"}}\n").configuration == nil)
    }
}
