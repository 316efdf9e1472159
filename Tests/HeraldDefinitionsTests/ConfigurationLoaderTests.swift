import Foundation
import HeraldCore
import HeraldDefinitions
import Testing

struct ConfigurationLoaderTests {
    func load(_ text: String, environment: [String: String] = [:]) -> (configuration: HeraldConfiguration?, messages: [String]) {
        let (configuration, diagnostics) = ConfigurationLoader(environment: environment).load(text: text)
        return (configuration, diagnostics.map(\.description))
    }

    @Test func emptyFileIsTheDefaultConfiguration() {
        #expect(load("").configuration == HeraldConfiguration())
        #expect(load("# only a comment\n").configuration == HeraldConfiguration())
    }

    // MARK: environment

    @Test func environmentVariablesAreSubstitutedInEveryValue() throws {
        let text = """
        store: sqlite:${DATA_DIR}/herald.db
        providers:
          smtp: {kind: smtp, url: "smtp://${SMTP_HOST}:587", password: ${SMTP_PASSWORD}, username: 'costs $5, ${NOTE}', from: a@example.com}
          twilio:
            kind: twilio
            account_sid: AC0123456789abcdef0123456789abcdef
            from: "+15005550006"
            auth_token: "${EMPTY}$${NOT_A_VARIABLE} and $HOME"
            rate: ${TWILIO_RATE}

        """
        let environment = [
            "DATA_DIR": "/var/lib/herald", "SMTP_HOST": "mail.example.com", "SMTP_PASSWORD": "p@ss, {word}: #1",
            "NOTE": "ok", "EMPTY": "", "TWILIO_RATE": "10/s",
        ]
        let (configuration, messages) = load(text, environment: environment)
        #expect(messages == [])
        let loaded = try #require(configuration)
        #expect(loaded.store == "sqlite:/var/lib/herald/herald.db")
        // A value from the environment is never read as YAML: commas, braces and '#' stay text.
        #expect(loaded.provider(named: "smtp")?.settings == [
            "url": "smtp://mail.example.com:587", "password": "p@ss, {word}: #1", "username": "costs $5, ok", "from": "a@example.com",
        ])
        #expect(loaded.provider(named: "twilio")?.settings == [
            "account_sid": "AC0123456789abcdef0123456789abcdef", "from": "+15005550006",
            "auth_token": "${NOT_A_VARIABLE} and $HOME", "rate": "10/s",
        ])
        #expect(loaded.provider(named: "twilio")?.rate == RateLiteral(count: 10, per: .second))
    }

    @Test func aPostgresStoreTakesItsPasswordFromTheEnvironmentAndABadURLSaysWhyAtItsLine() throws {
        let good = load("store: postgres://herald:${HERALD_DB_PASSWORD}@db:5432/herald\n", environment: ["HERALD_DB_PASSWORD": "s3cret"])
        #expect(good.messages == [])
        #expect(good.configuration?.store == "postgres://herald:s3cret@db:5432/herald")
        #expect(try StoreLocation(#require(good.configuration?.store)) == .postgres(PostgresLocation(host: "db", username: "herald", password: "s3cret", database: "herald")))
        #expect(load("default_timezone: UTC\nstore: postgres://herald:${HERALD_DB_PASSWORD}@db:5432/herald\n").messages == [
            "herald.yml:2:26: environment variable 'HERALD_DB_PASSWORD' is not set (set HERALD_DB_PASSWORD before starting herald, or write the value in place of ${HERALD_DB_PASSWORD})",
        ])
        // The reason, never the password.
        let bad = load("\nstore: postgres://herald:${PASSWORD}@db:5432\n", environment: ["PASSWORD": "s3cret"])
        #expect(bad.messages == [
            "herald.yml:2:8: invalid store URL: the PostgreSQL URL names no database (expected postgres://herald@db/herald)",
        ])
        #expect(load("store: postgres://:5432/herald\n").messages == [
            "herald.yml:1:8: invalid store URL: the PostgreSQL URL has no host (expected postgres://user@host:5432/database)",
        ])
    }

    @Test func environmentProblemsAreReportedAtTheirPosition() {
        let text = """
        store: sqlite:${DATA_DIR}
        tracking: {base_url: "https://t.example.com", secret: "${A}-${TRACKING_SECRET}"}
        api:
          listen: ${1HOST}:8080
        default_timezone: ${TZ
        # a ${COMMENTED} variable is ignored

        """
        #expect(load(text, environment: ["A": "x"]).messages == [
            "herald.yml:1:15: environment variable 'DATA_DIR' is not set (set DATA_DIR before starting herald, or write the value in place of ${DATA_DIR})",
            "herald.yml:2:61: environment variable 'TRACKING_SECRET' is not set (set TRACKING_SECRET before starting herald, or write the value in place of ${TRACKING_SECRET})",
            "herald.yml:4:11: '1HOST' is not an environment variable name (a name is letters, digits and '_', not starting with a digit, e.g. ${SMTP_PASSWORD})",
            "herald.yml:5:19: '${' is not closed (write ${NAME} on one line to read an environment variable, or $${ for a literal '${')",
        ])
    }

    // MARK: attributes

    @Test func attributeErrors() {
        let text = """
        attributes:
          countri: strng
          scores: [bool]
          email: string
          in: number
          Plan-Type: string
          tier: {type: number, values: [1, 2]}
          segment: {type: string, values: [a, a]}
          kind: {values: [a]}

        """
        #expect(load(text).messages == [
            "herald.yml:2:12: unknown attribute type 'strng' (did you mean 'string'?)",
            "herald.yml:3:11: unknown attribute type '[bool]' (expected one of: [string], [number])",
            "herald.yml:4:3: attribute 'email' is a built-in user field (choose another name; every user already has email)",
            "herald.yml:5:3: attribute name 'in' is a word of the rules language (choose another name)",
            "herald.yml:6:3: invalid attribute name 'Plan-Type' (use at most 64 letters, digits and '_', starting with a letter, e.g. last_seen_at)",
            "herald.yml:7:32: 'values' applies only to string attributes, and 'tier' is number (remove 'values', or make the type string)",
            "herald.yml:8:39: 'a' is listed twice (list each value once)",
            "herald.yml:9:9: missing field 'type' (expected one of: string, number, bool, time, [string], [number])",
        ])
    }

    /// The duplicate check of `values` is linear: 40 000 values once took half a minute.
    /// 40,000 values: the duplicate check is linear (it once took 32 s); the time itself is
    /// not asserted here, since this machine is shared.
    @Test(.tags(.slow)) func manyAllowedValuesAreChecked() throws {
        let values = (0..<40_000).map { "v\($0)" }
        let configuration = try #require(load("attributes:\n  plan: {type: string, values: [\(values.joined(separator: ", "))]}\n").configuration)
        #expect(configuration.attributes["plan"]?.allowedValues == values)
        let duplicated = "attributes:\n  plan:\n    type: string\n    values:\n" + (values + ["v39999"]).map { "      - \($0)\n" }.joined()
        #expect(load(duplicated).messages == ["herald.yml:40005:9: 'v39999' is listed twice (list each value once)"])
    }

    @Test func listAttributeWithAllowedValues() throws {
        let configuration = try #require(load("attributes:\n  badges: {type: [string], values: [gold, silver]}\n").configuration)
        #expect(configuration.attributes["badges"] == AttributeDefinition(
            name: "badges", type: .list(.string), allowedValues: ["gold", "silver"], location: SourceLocation(file: "herald.yml", line: 2, column: 3)
        ))
    }

    // MARK: providers and channels

    @Test func providerAndChannelErrors() {
        let text = """
        providers:
          apns: {kind: apns, team_id: T, key_id: K, key_file: keys/none.p8, topic: com.example.shop}
          mailer: {team: x}
          textit: {kind: txt, from: [a]}
          twilio: {kind: twilio, rate: fast}
        channels:
          push: {ios: apns, android: twilio, windows: apns, apns: apns, jpush: apns}
          sms: [twilio, mailer, twilio, nobody]
          email: sendgrid

        """
        #expect(load(text).messages == [
            "herald.yml:2:55: invalid key_file 'keys/none.p8' in provider 'apns' (no readable file at keys/none.p8)",
            "herald.yml:3:11: missing field 'kind' in provider 'mailer' (expected one of: apns, fcm, webpush, jpush, pushy, twilio, vonage, sendgrid, mandrill, smtp)",
            "herald.yml:4:18: unknown provider kind 'txt' (expected one of: apns, fcm, webpush, jpush, pushy, twilio, vonage, sendgrid, mandrill, smtp)",
            "herald.yml:4:29: wrong type for 'from': found a list (expected a text value)",
            "herald.yml:5:11: provider 'twilio' of kind twilio needs 'account_sid' (add account_sid (the account SID, AC followed by 32 hexadecimal digits))",
            "herald.yml:5:11: provider 'twilio' of kind twilio needs one of 'auth_token', 'api_key_secret' (add auth_token (the account's auth token, e.g. ${TWILIO_AUTH_TOKEN}), or api_key_secret (the API key's secret, e.g. ${TWILIO_API_KEY_SECRET}))",
            "herald.yml:5:11: provider 'twilio' of kind twilio needs one of 'from', 'messaging_service_sid' (add from (the sender: an E.164 number, a short code or an alphanumeric ID), or messaging_service_sid (a Messaging Service SID, MG followed by 32 hexadecimal digits))",
            "herald.yml:5:32: invalid rate 'fast' for 'rate' (expected a rate such as 100/s, 600/min, 50/h or 1000/d)",
            "herald.yml:7:30: provider 'twilio' is of kind twilio, which carries sms, not push (expected one of the push providers: apns)",
            "herald.yml:7:38: unknown field 'windows' (expected one of: apns, fcm, webpush, jpush, pushy, ios, android, web)",
            "herald.yml:7:53: push service apns is given twice, as 'ios' and as 'apns' (keep one; 'ios' is the older name of 'apns')",
            "herald.yml:7:72: provider 'apns' is of kind apns and cannot deliver to jpush devices (define a provider of kind jpush under 'providers:')",
            "herald.yml:8:25: provider 'twilio' is listed twice for sms (list each provider once)",
            "herald.yml:8:33: unknown provider 'nobody' (expected one of: apns, mailer, textit, twilio)",
            "herald.yml:9:10: unknown provider 'sendgrid' (expected one of: apns, mailer, textit, twilio)",
        ])
    }

    // MARK: limits, retry, tracking, api

    @Test func sectionErrors() {
        let text = """
        store: mysql://db
        limits:
          frequency_caps: {max: 3, per: 1d}
          quiet_hours: {from: "21:00", to: "21:00"}
          quiet: true
        retry: {max_attempts: 3, initial: 1h, max: 30m}
        tracking: {base_url: "t.example.com", opens: maybe}
        api:
          listen: "localhost"
          keys:
            - {app_key: billing, secret_sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", scopes: [send]}

        """
        #expect(load(text).messages == [
            "herald.yml:1:8: unsupported store 'mysql://db' (expected sqlite:PATH, e.g. sqlite:herald.db, or a postgres:// URL)",
            "herald.yml:3:19: wrong type for 'frequency_caps': found a mapping (expected a list of caps such as {max: 3, per: 1d, channel: push, category: marketing})",
            "herald.yml:4:16: quiet hours from 21:00 to 21:00 are empty (give different start and end times)",
            "herald.yml:5:3: unknown field 'quiet' (expected one of: frequency_caps, quiet_hours)",
            "herald.yml:6:35: the first retry delay 1h is longer than the longest delay 30m (make initial at most max)",
            "herald.yml:7:11: missing field 'secret' (expected the secret that signs tracked links, e.g. secret: ${HERALD_TRACKING_SECRET})",
            "herald.yml:7:22: invalid URL 't.example.com' for 'base_url' (expected an http or https URL, e.g. https://t.example.com)",
            "herald.yml:7:46: 'maybe' is not true or false for 'opens' (expected true or false)",
            "herald.yml:9:11: invalid address 'localhost' for 'listen' (expected HOST:PORT, e.g. 127.0.0.1:8080)",
            "herald.yml:11:5: API keys are no longer read from herald.yml (remove 'keys' and create each key with `herald keys create --scopes send,users,events,read`: the store keeps a salted hash, and the secret is shown once)",
        ])
    }

    @Test func apiSendersAreAddressesOrDomainsAndDefaultToTheEmailProvidersDomains() throws {
        let text = """
        providers:
          sendgrid: {kind: sendgrid, api_key: k, from: "Shop <news@shop.example>"}
        api:
          senders: [orders@example.com, "*@news.example.org", "not an address", "*@"]

        """
        let (configuration, diagnostics) = ConfigurationLoader(environment: [:]).load(text: text)
        #expect(diagnostics.filter { $0.severity == .error }.map(\.description) == [
            "herald.yml:4:55: invalid sender 'not an address' in 'senders' (expected a list of addresses or domains, e.g. [orders@example.com, \"*@news.example.com\"])",
            "herald.yml:4:73: invalid sender '*@' in 'senders' (expected a list of addresses or domains, e.g. [orders@example.com, \"*@news.example.com\"])",
        ])
        #expect(configuration == nil, "an invalid sender is an error")
        let valid = try #require(ConfigurationLoader(environment: [:]).load(text: text.replacingOccurrences(of: #", "not an address", "*@""#, with: "")).0)
        let check = valid.apiSenderCheck
        #expect(check("orders@example.com") && check("ORDERS@example.com") && check("anyone@news.example.org"))
        #expect(!check("ceo@example.com") && !check("news@shop.example"), "only what api.senders lists")
        // Without senders: the domains of the email providers' own from.
        let plain = try #require(ConfigurationLoader(environment: [:]).load(text: "providers:\n  sendgrid: {kind: sendgrid, api_key: k, from: \"Shop <news@shop.example>\"}\n").0)
        #expect(plain.apiSenderCheck("receipts@shop.example") && !plain.apiSenderCheck("receipts@shop.example.evil.net") && !plain.apiSenderCheck("a@other.example"))
    }

    @Test func shortTrackingSecretIsAWarningOnly() throws {
        let (configuration, diagnostics) = ConfigurationLoader(environment: [:])
            .load(text: "tracking: {base_url: \"https://t.example.com\", secret: short, clicks: false}\n")
        #expect(diagnostics.map(\.description) == [
            "herald.yml:1:55: warning: the tracking secret is short (5 characters) (use at least 16 random characters)",
        ])
        #expect(configuration?.tracking == TrackingConfiguration(baseURL: "https://t.example.com", secret: "short", opens: true, clicks: false))
    }

    // MARK: alerts

    @Test func alertsReadTheWebhookFromTheEnvironmentAndDefaultTheRest() throws {
        let text = """
        alerts:
          webhook: ${HERALD_ALERT_WEBHOOK}

        """
        let (configuration, messages) = load(text, environment: ["HERALD_ALERT_WEBHOOK": "https://hooks.slack.com/services/T0/B0/xyz"])
        #expect(messages == [])
        let alerts = try #require(configuration?.alerts)
        #expect(alerts == AlertsConfiguration(webhook: "https://hooks.slack.com/services/T0/B0/xyz"))
        #expect(alerts.failureRate == 0.2 && alerts.minAttempts == 20 && alerts.deadLetters == 1)
        #expect(alerts.window == DurationLiteral(amount: 5, unit: .minutes))
        #expect(alerts.oldestDue == DurationLiteral(amount: 15, unit: .minutes))
        #expect(alerts.breakerOpen == DurationLiteral(amount: 2, unit: .minutes))
        #expect(load("").configuration?.alerts == nil)
    }

    @Test func everyAlertsFieldIsRead() throws {
        let text = """
        alerts: {webhook: "http://127.0.0.1:9000/hook", failure_rate: 12.5%, min_attempts: 50, window: 10m, dead_letters: 3, oldest_due: 1h, breaker_open: 30s}

        """
        let (configuration, messages) = load(text)
        #expect(messages == [])
        #expect(configuration?.alerts == AlertsConfiguration(
            webhook: "http://127.0.0.1:9000/hook", failureRate: 0.125, minAttempts: 50, window: DurationLiteral(amount: 10, unit: .minutes),
            deadLetters: 3, oldestDue: DurationLiteral(amount: 1, unit: .hours), breakerOpen: DurationLiteral(amount: 30, unit: .seconds)
        ))
    }

    @Test func badAlertsValuesAreReportedWhereTheyAre() {
        let text = """
        alerts:
          webhook: hooks.example.com/alerts
          failure_rate: 150%
          min_attempts: -1
          window: -5m
          dead_letters: 0
          oldest_due: 0m
          breaker_opn: 2m

        """
        #expect(load(text).messages == [
            "herald.yml:2:12: invalid URL 'hooks.example.com/alerts' for 'webhook' (expected an http or https URL, e.g. webhook: ${HERALD_ALERT_WEBHOOK})",
            "herald.yml:3:17: 'failure_rate' must be more than 0% and at most 100%, found 150% (expected a percentage from 0% to 100%, e.g. 20%)",
            "herald.yml:4:17: 'min_attempts' must be at least 1, found -1 (expected a whole number of at least 1)",
            "herald.yml:5:11: invalid duration '-5m' for 'window' (expected a duration such as 30s, 15m, 12h, 7d or 2w)",
            "herald.yml:6:17: 'dead_letters' must be at least 1, found 0 (expected a whole number of at least 1)",
            "herald.yml:7:15: 'oldest_due' must be longer than zero (expected a duration such as 30s, 15m, 12h, 7d or 2w)",
            "herald.yml:8:3: unknown field 'breaker_opn' (did you mean 'breaker_open'?)",
        ])
    }

    @Test func aMissingOrSecretWebhookIsReportedWithoutItsValue() {
        #expect(load("alerts: {failure_rate: 0.2, window: 5}\n").messages == [
            "herald.yml:1:9: missing field 'webhook' (expected the http or https URL alerts are posted to, e.g. webhook: ${HERALD_ALERT_WEBHOOK})",
            "herald.yml:1:24: invalid percentage '0.2' for 'failure_rate' (write it as a percentage, e.g. 20%)",
            "herald.yml:1:37: invalid duration '5' for 'window' (expected a duration such as 30s, 15m, 12h, 7d or 2w)",
        ])
        #expect(load("alerts: {webhook: ${HOOK}, failure_rate: 20}\n", environment: ["HOOK": "not a url, but secret"]).messages == [
            "herald.yml:1:19: invalid URL '${HOOK}' (its value is not shown: it may be a secret) for 'webhook' (expected an http or https URL, e.g. webhook: ${HERALD_ALERT_WEBHOOK})",
            "herald.yml:1:42: invalid percentage '20' for 'failure_rate' (write it with a %, e.g. 20%)",
        ])
        #expect(load("alerts: {webhook: ${HOOK}}\n").messages == [
            "herald.yml:1:19: environment variable 'HOOK' is not set (set HOOK before starting herald, or write the value in place of ${HOOK})",
        ])
        #expect(load("alerts: {webhook: https://h.example.com, failure_rate: 0%}\n").messages == [
            "herald.yml:1:56: 'failure_rate' must be more than 0% and at most 100%, found 0% (expected a percentage from 0% to 100%, e.g. 20%)",
        ])
    }
}

/// Each kind's settings are checked like a campaign file's fields.
struct ProviderSettingsTests {
    func messages(_ text: String, environment: [String: String] = [:]) -> [String] {
        ConfigurationLoader(environment: environment).load(text: text).diagnostics.map(\.description)
    }

    @Test func everyKindOfThisVersionAcceptsItsDocumentedSettings() {
        let text = """
        providers:
          twilio: {kind: twilio, account_sid: AC0123456789abcdef0123456789abcdef, auth_token: ${TWILIO_AUTH_TOKEN}, from: "+15005550006", base_url: "http://127.0.0.1:4010/twilio", rate: 100/s}
          twilio-keys: {kind: twilio, account_sid: AC0123456789abcdef0123456789abcdef, api_key_sid: SK0123456789abcdef0123456789abcdef, api_key_secret: s, messaging_service_sid: MG0123456789abcdef0123456789abcdef}
          vonage: {kind: vonage, api_key: a1b2c3d4, api_secret: ${VONAGE_API_SECRET}, from: HERALD}
          sendgrid: {kind: sendgrid, api_key: ${SENDGRID_API_KEY}, from: "Shop <news@example.com>", base_url: "https://api.eu.sendgrid.com", unsubscribe_mailto: u@example.com}
          mandrill: {kind: mandrill, api_key: k, from: news@example.com}
          smtp: {kind: smtp, url: "smtps://mail.example.com:465", username: herald, password: ${SMTP_PASSWORD}, from: "Shop <news@example.com>", connections: 8}

        """
        #expect(messages(text, environment: ["TWILIO_AUTH_TOKEN": "t", "VONAGE_API_SECRET": "v", "SENDGRID_API_KEY": "s", "SMTP_PASSWORD": "p"]) == [])
    }

    @Test func missingSecretsUnknownKeysAndBadValuesAreReportedWhereTheyAre() {
        let text = """
        providers:
          sendgrid: {kind: sendgrid, api_key: ${SENDGRID_API_KEY}, from: "Shop news@example.com", apikey: x}
          smtp: {kind: smtp, url: "smtp.example.com:587", from: a@example.com, ca_file: /nonexistent/ca.pem}
          vonage: {kind: vonage, api_key: k, from: "+1 555"}
          twilio: {kind: twilio, account_sid: AC123, auth_token: t, from: "+15005550006", base_url: "ftp://x"}

        """
        #expect(messages(text) == [
            "herald.yml:2:39: environment variable 'SENDGRID_API_KEY' is not set (set SENDGRID_API_KEY before starting herald, or write the value in place of ${SENDGRID_API_KEY})",
            "herald.yml:2:66: invalid from 'Shop news@example.com' in provider 'sendgrid' (expected an address, e.g. \"Shop <news@example.com>\" or news@example.com)",
            "herald.yml:2:91: unknown field 'apikey' in provider 'sendgrid' of kind sendgrid (did you mean 'api_key'?)",
            "herald.yml:3:27: invalid url 'smtp.example.com:587' in provider 'smtp' (expected smtp://host:587 (STARTTLS is required) or smtps://host:465)",
            "herald.yml:3:81: invalid ca_file '/nonexistent/ca.pem' in provider 'smtp' (no readable file at /nonexistent/ca.pem)",
            "herald.yml:4:11: provider 'vonage' of kind vonage needs 'api_secret' (add api_secret (the API secret, e.g. ${VONAGE_API_SECRET}))",
            "herald.yml:4:44: invalid from '+1 555' in provider 'vonage' (expected an E.164 number (+15005550006), a short code or an alphanumeric ID of at most 11 characters)",
            "herald.yml:5:39: invalid account_sid 'AC123' in provider 'twilio' (expected AC followed by 32 hexadecimal digits)",
            "herald.yml:5:93: invalid base_url 'ftp://x' in provider 'twilio' (expected an http or https URL, e.g. https://api.example.com or http://127.0.0.1:4010/twilio)",
        ])
    }
}
