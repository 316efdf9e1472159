import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox

/// The transports of herald.yml's providers, and the one HTTP client they share.
///
/// Push kinds have no transport in this version: planning skips push as `no_provider` (see
/// `ChannelRouting.carried(by:)`), so a `first_available` campaign moves on to its next channel.
struct ProviderTransports {
    let transports: [any Transport]
    let http: ProviderHTTPClient

    /// - Parameter sandbox: a running sandbox that every SMS and email provider is pointed at,
    ///   with its credentials (`herald demo`); nil for herald.yml as written.
    init(_ configuration: HeraldConfiguration, sandbox: RunningSandbox? = nil, clock: any WallClock) {
        let http = ProviderHTTPClient()
        self.http = http
        let webhookBase = configuration.tracking.map { $0.baseURL.hasSuffix("/") ? String($0.baseURL.dropLast()) : $0.baseURL }
        transports = configuration.providers.compactMap { provider in
            // A provider with its own `timeout:` gets a client of its own (on the same event loops).
            let client = provider.settings["timeout"].flatMap(DurationLiteral.init).map { timeout in
                ProviderHTTPClient(configuration: ProviderHTTPClient.Configuration(
                    connectTimeout: min(timeout.duration, .seconds(5)), readTimeout: timeout.duration, requestTimeout: timeout.duration
                ))
            } ?? http
            return Self.make(provider, sandbox: sandbox, webhookBase: webhookBase, http: client, clock: clock)
        }
    }

    /// The kinds of provider this version has a transport for.
    static let carriedKinds: Set<ProviderKind> = [.twilio, .vonage, .sendgrid, .mandrill, .smtp]

    /// The names of herald.yml's providers that have a transport: the ones that can carry a message.
    static func carriers(in configuration: HeraldConfiguration) -> Set<String> {
        Set(configuration.providers.filter { carriedKinds.contains($0.kind) }.map(\.name))
    }

    static func make(
        _ provider: ProviderConfiguration, sandbox: RunningSandbox?, webhookBase: String?, http: ProviderHTTPClient, clock: any WallClock
    ) -> (any Transport)? {
        let settings = provider.settings
        func setting(_ key: String) -> String? { settings[key].flatMap { $0.isEmpty ? nil : $0 } }
        func integer(_ key: String, _ fallback: Int) -> Int { setting(key).flatMap(Int.init) ?? fallback }
        let from = setting("from").flatMap(EmailAddress.init(parsing:)) ?? EmailAddress(email: "herald@localhost.localdomain")
        switch provider.kind {
        case .twilio:
            var configuration = TwilioTransport.Configuration(
                accountSID: setting("account_sid") ?? "", authToken: setting("api_key_secret") ?? setting("auth_token") ?? "",
                apiKeySID: setting("api_key_secret") != nil ? setting("api_key_sid") : nil, from: setting("from"),
                messagingServiceSID: setting("messaging_service_sid"), baseURL: setting("base_url") ?? "https://api.twilio.com",
                statusCallback: setting("status_callback") ?? webhookBase.map { "\($0)/webhooks/twilio" }, concurrency: integer("concurrency", 32)
            )
            if let sandbox {
                configuration.baseURL = sandbox.baseURL(for: .twilio)
                configuration.accountSID = sandbox.accounts.twilioAccountSID
                configuration.authToken = sandbox.accounts.twilioAuthToken
                configuration.apiKeySID = nil
            }
            return TwilioTransport(name: provider.name, configuration: configuration, http: http, clock: clock)
        case .vonage:
            var configuration = VonageTransport.Configuration(
                apiKey: setting("api_key") ?? "", apiSecret: setting("api_secret") ?? "", from: setting("from") ?? "Herald",
                baseURL: setting("base_url") ?? "https://rest.nexmo.com", callback: setting("callback"), concurrency: integer("concurrency", 16)
            )
            if let sandbox {
                configuration.baseURL = sandbox.baseURL(for: .vonage)
                configuration.apiKey = sandbox.accounts.vonageAPIKey
                configuration.apiSecret = sandbox.accounts.vonageAPISecret
            }
            return VonageTransport(name: provider.name, configuration: configuration, http: http, clock: clock)
        case .sendgrid:
            var configuration = SendGridTransport.Configuration(
                apiKey: setting("api_key") ?? "", from: from, replyTo: setting("reply_to").flatMap(EmailAddress.init(parsing:)),
                baseURL: setting("base_url") ?? "https://api.sendgrid.com", concurrency: integer("concurrency", 16),
                unsubscribeMailto: setting("unsubscribe_mailto")
            )
            if let sandbox {
                configuration.baseURL = sandbox.baseURL(for: .sendgrid)
                configuration.apiKey = sandbox.accounts.sendGridAPIKey
            }
            return SendGridTransport(name: provider.name, configuration: configuration, http: http, clock: clock)
        case .mandrill:
            var configuration = MandrillTransport.Configuration(
                apiKey: setting("api_key") ?? "", from: from, baseURL: setting("base_url") ?? "https://mandrillapp.com/api/1.0",
                concurrency: integer("concurrency", 16), unsubscribeMailto: setting("unsubscribe_mailto")
            )
            if let sandbox {
                configuration.baseURL = sandbox.baseURL(for: .mandrill) + "/api/1.0"
                configuration.apiKey = sandbox.accounts.mandrillAPIKey
            }
            return MandrillTransport(name: provider.name, configuration: configuration, http: http, clock: clock)
        case .smtp:
            var configuration = SMTPTransport.Configuration(
                url: setting("url") ?? "", username: setting("username"), password: setting("password"), from: from,
                certificateAuthorityFile: setting("ca_file"), connections: integer("connections", 4),
                unsubscribeMailto: setting("unsubscribe_mailto")
            )
            if let sandbox, let url = sandbox.smtpURL {
                configuration.url = url
                configuration.username = sandbox.accounts.smtpUsername
                configuration.password = sandbox.accounts.smtpPassword
                configuration.certificateAuthorityFile = sandbox.certificateAuthorityFile
            }
            return SMTPTransport(name: provider.name, configuration: configuration, clock: clock)
        case .apns, .fcm, .webpush, .jpush, .pushy:
            return nil
        }
    }
}
