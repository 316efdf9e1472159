/// `herald.yml`: providers, channels, limits, attribute schema, tracking, API keys and alerts,
/// decoded and validated once.
public struct HeraldConfiguration: Sendable, Hashable {
    /// `sqlite:herald.db` (a path relative to the workspace) or, later, a `postgres://` URL.
    public var store: String
    /// The IANA zone for recipients without a valid one. Default `UTC`.
    public var defaultTimezone: String
    public var attributes: AttributeSchema
    /// Categories users may opt out of besides `marketing` and the campaigns' own (`categories:`).
    public var categories: [String]
    /// By name, in file order.
    public var providers: [ProviderConfiguration]
    public var channels: ChannelRouting
    public var frequencyCaps: [FrequencyCap]
    public var quietHours: QuietHours?
    public var retry: RetryConfiguration
    public var tracking: TrackingConfiguration?
    public var api: APIConfiguration?
    /// `alerts:`; `nil` (no alerts posted) when herald.yml has none.
    public var alerts: AlertsConfiguration?

    public init(
        store: String = "sqlite:herald.db",
        defaultTimezone: String = "UTC",
        attributes: AttributeSchema = AttributeSchema(),
        categories: [String] = [],
        providers: [ProviderConfiguration] = [],
        channels: ChannelRouting = ChannelRouting(),
        frequencyCaps: [FrequencyCap] = [],
        quietHours: QuietHours? = nil,
        retry: RetryConfiguration = RetryConfiguration(),
        tracking: TrackingConfiguration? = nil,
        api: APIConfiguration? = nil,
        alerts: AlertsConfiguration? = nil
    ) {
        self.store = store
        self.defaultTimezone = defaultTimezone
        self.attributes = attributes
        self.categories = categories
        self.providers = providers
        self.channels = channels
        self.frequencyCaps = frequencyCaps
        self.quietHours = quietHours
        self.retry = retry
        self.tracking = tracking
        self.api = api
        self.alerts = alerts
    }

    public func provider(named name: String) -> ProviderConfiguration? {
        providers.first { $0.name == name }
    }
}

/// The kinds of provider Herald has transports for.
public enum ProviderKind: String, Sendable, Hashable, CaseIterable {
    case apns, fcm, webpush, jpush, pushy, twilio, vonage, sendgrid, mandrill, smtp

    /// The channel this kind of provider carries.
    public var channel: Channel {
        switch self {
        case .apns, .fcm, .webpush, .jpush, .pushy: .push
        case .twilio, .vonage: .sms
        case .sendgrid, .mandrill, .smtp: .email
        }
    }

    /// The push service a provider of this kind delivers to; nil for SMS and email.
    public var pushService: PushService? { PushService(rawValue: rawValue) }
}

/// One entry under `providers:`. Its settings are kept as text after `${ENV}` substitution;
/// each transport reads and checks its own.
public struct ProviderConfiguration: Sendable, Hashable {
    public var name: String
    public var kind: ProviderKind
    /// Every field but `kind`, e.g. `account_sid`, `auth_token`, `base_url`, `rate`.
    public var settings: [String: String]
    public var rate: RateLiteral?
    /// `price:`, what the provider charges; `nil` when herald.yml does not say. Not in `settings`.
    public var price: ProviderPrice?
    public var location: SourceLocation

    public init(
        name: String, kind: ProviderKind, settings: [String: String], rate: RateLiteral? = nil, price: ProviderPrice? = nil,
        location: SourceLocation
    ) {
        self.name = name
        self.kind = kind
        self.settings = settings
        self.rate = rate
        self.price = price
        self.location = location
    }
}

/// `channels:`: which providers carry each channel.
public struct ChannelRouting: Sendable, Hashable {
    /// The push provider of each push service (`channels.push`).
    public var push: [PushService: String]
    /// SMS providers in failover order.
    public var sms: [String]
    /// Email providers in failover order.
    public var email: [String]

    public init(push: [PushService: String] = [:], sms: [String] = [], email: [String] = []) {
        self.push = push
        self.sms = sms
        self.email = email
    }

    /// The routing with only the providers that can carry a message (those with a transport),
    /// so that a channel none of them carries is `skipped(no_provider)` when it is planned and
    /// `delivery: first_available` moves on to the next channel.
    public func carried(by providers: Set<String>) -> ChannelRouting {
        ChannelRouting(push: push.filter { providers.contains($0.value) }, sms: sms.filter(providers.contains), email: email.filter(providers.contains))
    }
}

/// `retry:`: exponential backoff with full jitter; a provider's Retry-After wins when it is longer.
public struct RetryConfiguration: Sendable, Hashable {
    /// Default 8.
    public var maxAttempts: Int
    /// Default 2s.
    public var initial: DurationLiteral
    /// Default 30m.
    public var max: DurationLiteral

    public init(maxAttempts: Int = 8, initial: DurationLiteral = DurationLiteral(amount: 2, unit: .seconds), max: DurationLiteral = DurationLiteral(amount: 30, unit: .minutes)) {
        self.maxAttempts = maxAttempts
        self.initial = initial
        self.max = max
    }
}

/// `alerts:`: when a channel is in trouble, and where to say so.
///
/// A channel alerts when its failure rate or its dead letters over `window` cross their
/// thresholds, when its oldest due notification has waited longer than `oldestDue`, when one of
/// its providers is misconfigured, or when a provider's circuit breaker has stayed open longer
/// than `breakerOpen`. Each incident is posted once to `webhook`, with a recovery when it clears.
///
/// ```yaml
/// alerts:
///   webhook: ${HERALD_ALERT_WEBHOOK}
///   failure_rate: 20%
///   min_attempts: 20
///   window: 5m
///   dead_letters: 1
///   oldest_due: 15m
///   breaker_open: 2m
/// ```
public struct AlertsConfiguration: Sendable, Hashable {
    /// The http or https URL alerts are posted to as JSON (a Slack incoming webhook works). It is
    /// a secret: never logged. Required.
    public var webhook: String
    /// The share of failed attempts over `window` that alerts, as a fraction (`20%` is 0.2).
    /// Default 0.2.
    public var failureRate: Double
    /// With fewer attempts than this in `window`, the failure rate is not judged. Default 20.
    public var minAttempts: Int
    /// The span that attempts, failures and dead letters are counted over. Default 5m.
    public var window: DurationLiteral
    /// Dead-lettered notifications in `window` that alert. Default 1.
    public var deadLetters: Int
    /// How long the oldest due notification of a channel may wait before it alerts. Default 15m.
    public var oldestDue: DurationLiteral
    /// How long a provider's circuit breaker may stay open before it alerts. Default 2m.
    public var breakerOpen: DurationLiteral

    public init(
        webhook: String,
        failureRate: Double = 0.2,
        minAttempts: Int = 20,
        window: DurationLiteral = DurationLiteral(amount: 5, unit: .minutes),
        deadLetters: Int = 1,
        oldestDue: DurationLiteral = DurationLiteral(amount: 15, unit: .minutes),
        breakerOpen: DurationLiteral = DurationLiteral(amount: 2, unit: .minutes)
    ) {
        self.webhook = webhook
        self.failureRate = failureRate
        self.minAttempts = minAttempts
        self.window = window
        self.deadLetters = deadLetters
        self.oldestDue = oldestDue
        self.breakerOpen = breakerOpen
    }
}

/// `tracking:`: where open and click links point and the secret that signs them.
public struct TrackingConfiguration: Sendable, Hashable {
    public var baseURL: String
    public var secret: String
    /// Default true.
    public var opens: Bool
    /// Default true.
    public var clicks: Bool

    public init(baseURL: String, secret: String, opens: Bool = true, clicks: Bool = true) {
        self.baseURL = baseURL
        self.secret = secret
        self.opens = opens
        self.clicks = clicks
    }
}

/// `api:`: where the HTTP API listens. Its keys live in the store (`herald keys`).
extension HeraldConfiguration {
    /// Whether an API send may name `address` as its sender: `api.senders`, or the domains of
    /// the email providers' own `from`.
    public var apiSenderCheck: @Sendable (String) -> Bool {
        let senders = api?.senders
        let providerSenders = APIConfiguration.providerSenders(of: providers)
        return { APIConfiguration.allows(sender: $0, senders: senders, providerSenders: providerSenders) }
    }
}

public struct APIConfiguration: Sendable, Hashable {
    /// Default `127.0.0.1:8080`.
    public var listen: String
    /// The senders an API send may name in `from`: addresses (`orders@example.com`) or whole
    /// domains (`*@example.com`). Nil (not written): any address at a domain of an email
    /// provider's own `from`.
    public var senders: [String]?

    public init(listen: String = "127.0.0.1:8080", senders: [String]? = nil) {
        self.listen = listen
        self.senders = senders
    }

    /// The senders of herald.yml's email providers (`from: "Shop <news@example.com>"` gives
    /// `news@example.com`).
    public static func providerSenders(of providers: [ProviderConfiguration]) -> [String] {
        providers.filter { $0.kind.channel == .email }.compactMap { provider in
            guard let setting = provider.settings["from"] else { return nil }
            let from = String(setting.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
            guard !from.isEmpty else { return nil }
            if from.hasSuffix(">"), let open = from.lastIndex(of: "<") {
                return String(from[from.index(after: open)..<from.index(before: from.endIndex)])
            }
            return from
        }
    }

    /// Whether `address` may be an API send's sender: it matches `senders`, or, without them,
    /// its domain is the domain of one of `providerSenders` (the email providers' `from`).
    public static func allows(sender address: String, senders: [String]?, providerSenders: [String]) -> Bool {
        let lowered = address.lowercased()
        guard let at = lowered.lastIndex(of: "@") else { return false }
        let domain = lowered[lowered.index(after: at)...]
        let patterns = senders ?? providerSenders.compactMap { sender in
            sender.lastIndex(of: "@").map { "*" + sender[$0...].lowercased() }
        }
        return patterns.contains { pattern in
            let pattern = pattern.lowercased()
            return pattern.hasPrefix("*@") ? domain == pattern.dropFirst(2) : lowered == pattern
        }
    }
}
