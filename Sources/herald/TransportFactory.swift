import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox

/// The transports of herald.yml's providers, and the one HTTP client they share.
///
/// A provider whose key file cannot be used gets a transport that answers `misconfigured` for
/// every message (the provider is paused and alerted, attempts are not burned); `herald
/// validate` reports the same problem before.
struct ProviderTransports {
    let transports: [any Transport]
    let http: ProviderHTTPClient

    /// - Parameter sandbox: a running sandbox that every SMS and email provider is pointed at,
    ///   with its credentials (`herald demo`); nil for herald.yml as written.
    /// - Parameter root: the workspace directory, which relative key file paths start from.
    init(_ configuration: HeraldConfiguration, root: String, sandbox: RunningSandbox? = nil, clock: any WallClock) {
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
            return Self.make(provider, root: root, sandbox: sandbox, webhookBase: webhookBase, http: client, clock: clock)
        }
    }

    /// The kinds of provider this version has a transport for.
    static let carriedKinds = Set(ProviderKind.allCases)

    /// The names of herald.yml's providers that have a transport: the ones that can carry a message.
    static func carriers(in configuration: HeraldConfiguration) -> Set<String> {
        Set(configuration.providers.filter { carriedKinds.contains($0.kind) }.map(\.name))
    }

    static func make(
        _ provider: ProviderConfiguration, root: String, sandbox: RunningSandbox?, webhookBase: String?, http: ProviderHTTPClient,
        clock: any WallClock
    ) -> (any Transport)? {
        let settings = provider.settings
        func setting(_ key: String) -> String? { settings[key].flatMap { $0.isEmpty ? nil : $0 } }
        /// A file setting, relative to the workspace unless absolute.
        func path(_ key: String) -> String? {
            setting(key).map { $0.hasPrefix("/") ? $0 : URL(fileURLWithPath: root).appendingPathComponent($0).path }
        }
        func file(_ key: String) throws -> Data {
            guard let path = path(key) else { throw TransportSetupError("'\(key)' is not set") }
            guard let data = FileManager.default.contents(atPath: path) else { throw TransportSetupError("cannot read \(key) \(path)") }
            return data
        }
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
        case .apns:
            do {
                let production = setting("environment") != "development"
                var configuration = APNsTransport.Configuration(
                    keyID: setting("key_id") ?? "", teamID: setting("team_id") ?? "",
                    privateKeyPEM: String(decoding: try file("key_file"), as: UTF8.self), topic: setting("topic") ?? "",
                    baseURL: setting("base_url") ?? (production ? APNsTransport.Configuration.productionURL : APNsTransport.Configuration.developmentURL),
                    certificateAuthorityFile: path("ca_file"), concurrency: integer("concurrency", APNsTransport.Configuration.defaultConcurrency)
                )
                if let sandbox, let url = sandbox.apnsURL {
                    configuration.baseURL = url
                    configuration.keyID = sandbox.accounts.apnsKeyID
                    configuration.teamID = sandbox.accounts.apnsTeamID
                    configuration.topic = sandbox.accounts.apnsTopic
                    configuration.privateKeyPEM = SandboxAccounts.sandboxAPNsPrivateKeyPEM
                    configuration.certificateAuthorityFile = sandbox.certificateAuthorityFile
                }
                return try APNsTransport(name: provider.name, configuration: configuration, http: http, clock: clock)
            } catch {
                return MisconfiguredTransport(name: provider.name, reason: "\(error)")
            }
        case .fcm:
            do {
                var account = try FCMServiceAccount(json: sandbox.map { Data(SandboxFCMServiceAccount.demo.serviceAccountJSON(sandboxBaseURL: $0.baseURL(for: .fcm)).utf8) }
                    ?? file("service_account_file"))
                if let project = setting("project_id"), sandbox == nil { account.projectID = project }
                if let tokenURL = setting("token_url"), sandbox == nil { account.tokenURI = tokenURL }
                let configuration = FCMTransport.Configuration(
                    serviceAccount: account, baseURL: sandbox?.baseURL(for: .fcm) ?? setting("base_url") ?? "https://fcm.googleapis.com",
                    concurrency: integer("concurrency", 32)
                )
                return FCMTransport(name: provider.name, configuration: configuration, http: http, clock: clock)
            } catch {
                return MisconfiguredTransport(name: provider.name, reason: "\(error)")
            }
        case .webpush:
            do {
                let key = sandbox != nil ? SandboxAccounts.demoVAPIDPrivateKeyPEM : String(decoding: try file("vapid_private_key_file"), as: UTF8.self)
                let configuration = WebPushTransport.Configuration(
                    vapidPrivateKey: key, subject: setting("subject") ?? SandboxAccounts.demoVAPIDSubject, concurrency: integer("concurrency", 32)
                )
                return WebPushTransport(name: provider.name, configuration: configuration, http: http, clock: clock)
            } catch {
                return MisconfiguredTransport(name: provider.name, reason: "\(error)")
            }
        case .jpush:
            var configuration = JPushTransport.Configuration(
                appKey: setting("app_key") ?? "", masterSecret: setting("master_secret") ?? "", baseURL: setting("base_url") ?? "https://api.jpush.cn",
                apnsProduction: setting("apns_production") != "false", concurrency: integer("concurrency", 32)
            )
            if let sandbox {
                configuration.baseURL = sandbox.baseURL(for: .jpush)
                configuration.appKey = sandbox.accounts.jpushAppKey
                configuration.masterSecret = sandbox.accounts.jpushMasterSecret
            }
            return JPushTransport(name: provider.name, configuration: configuration, http: http, clock: clock)
        case .pushy:
            var configuration = PushyTransport.Configuration(
                apiKey: setting("api_key") ?? "", baseURL: setting("base_url") ?? "https://api.pushy.me", concurrency: integer("concurrency", 32)
            )
            if let sandbox {
                configuration.baseURL = sandbox.baseURL(for: .pushy)
                configuration.apiKey = sandbox.accounts.pushyAPIKey
            }
            return PushyTransport(name: provider.name, configuration: configuration, http: http, clock: clock)
        }
    }
}

/// A provider that cannot be set up (an unreadable key file): every message is `misconfigured`,
/// so the provider is paused and alerted instead of burning attempts.
struct MisconfiguredTransport: Transport {
    let name: String
    let reason: String

    func send(_ messages: [OutboundMessage]) async -> [DeliveryOutcome] {
        messages.map { _ in .misconfigured(reason: reason) }
    }
}

struct TransportSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
