import Foundation
import HeraldCore
import HeraldDefinitions
import Testing

struct WorkspaceLoaderTests {
    @Test func sampleWorkspaceLoadsWithoutDiagnostics() throws {
        try withSampleWorkspace { workspace in
            let (loaded, diagnostics) = workspace.load()
            #expect(diagnostics.map(\.description) == [])
            let result = try #require(loaded)
            #expect(result.root == workspace.root.path)
            #expect(result.campaigns.map(\.id) == ["cart-abandoned", "restock-air-max", "weekly-digest"])
            #expect(result.segments.keys.sorted() == ["wishlisters"])
            #expect(result.templates.keys.sorted() == ["restock"])
        }
    }

    @Test func campaignFieldsAreRead() throws {
        let result = try #require(try withSampleWorkspace { $0.load().workspace })
        let campaign = try #require(result.campaign(id: "restock-air-max"))
        #expect(campaign.description == "Tell wishlisters the Air Max is back")
        #expect(campaign.category == "marketing")
        #expect(campaign.audience == .rule(RuleSource(
            text: #"country in ["KR", "JP"] and "sku-123" in wishlist and last_seen_at > now() - 30d"#,
            location: SourceLocation(file: "campaigns/restock-air-max.yml", line: 5, column: 10)
        )))
        #expect(campaign.channels == [.push, .email])
        #expect(campaign.delivery == .firstAvailable)
        #expect(campaign.template == "restock")
        // A plain `2026-12-01` is a date (printed as written; `{{date(order_by)}}` formats it).
        #expect(campaign.params == ["item_name": .string("Air Max 90"), "order_by": .date(CalendarDate(year: 2026, month: 12, day: 1))])
        #expect(campaign.schedule == .at(LocalDateTime(year: 2026, month: 12, day: 1, hour: 9), zone: .recipient))
        #expect(campaign.frequencyCaps == [FrequencyCap(max: 1, per: .rolling(DurationLiteral(amount: 1, unit: .days)))])
        #expect(campaign.quietHours == QuietHours(from: TimeOfDay(hour: 22, minute: 0), to: TimeOfDay(hour: 8, minute: 0), then: .delay))
        #expect(campaign.throttle == RateLiteral(count: 2000, per: .minute))
        #expect(campaign.expiresAfter == DurationLiteral(amount: 2, unit: .days))
        #expect(campaign.file == "campaigns/restock-air-max.yml")
        #expect(campaign.definitionHash == DefinitionHash.fnv1a64(Array(SampleWorkspace.campaign.utf8)))
        #expect(campaign.definitionHash.count == 16)

        let weekly = try #require(result.campaign(id: "weekly-digest"))
        #expect(weekly.category == "digest")
        #expect(weekly.audience == .segment(name: "wishlisters", location: SourceLocation(file: "campaigns/weekly-digest.yml", line: 4, column: 12)))
        #expect(weekly.delivery == .all)
        #expect(weekly.channels == [.email, .sms])
        guard case .cron(let cron) = weekly.schedule else {
            Issue.record("expected a cron schedule, got \(weekly.schedule)")
            return
        }
        #expect(cron.expression.source == "0 9 * * MON")
        #expect(cron.expression.daysOfWeek == [1])
        #expect(cron.zone == .fixed("Asia/Seoul"))
        #expect(cron.start == LocalDateTime(year: 2026, month: 12, day: 1))
        #expect(cron.end == LocalDateTime(year: 2027, month: 1, day: 31, hour: 23, minute: 59))

        let abandoned = try #require(result.campaign(id: "cart-abandoned"))
        #expect(abandoned.isTransactional)
        #expect(abandoned.audience == .everyone)
        #expect(abandoned.schedule == .trigger(event: "cart_abandoned", delay: DurationLiteral(amount: 1, unit: .hours)))
    }

    @Test func segmentRuleKeepsItsFilePosition() throws {
        let result = try #require(try withSampleWorkspace { $0.load().workspace })
        let segment = try #require(result.segments["wishlisters"])
        #expect(segment.file == "segments/wishlisters.yml")
        // A `|` block: the expression starts on the line after the indicator, at its indentation.
        #expect(segment.rule == RuleSource(
            text: "\"sku-123\" in wishlist\n  and beta\n",
            location: SourceLocation(file: "segments/wishlisters.yml", line: 4, column: 3)
        ))
    }

    @Test func templateVariantOverridesSomeFieldsAndInheritsTheRest() throws {
        let result = try #require(try withSampleWorkspace { $0.load().workspace })
        let template = try #require(result.templates["restock"])
        #expect(template.variants.keys.sorted() == ["ko"])

        let korean = template.content(for: "ko-KR")
        #expect(korean.push?.title == TemplateText("{{item_name}} 재입고", at: SourceLocation(file: "templates/restock.ko.yml", line: 2, column: 11)))
        #expect(korean.push?.body == TemplateText("Order by {{order_by}}, {{first_name}}.", at: SourceLocation(file: "templates/restock.yml", line: 4, column: 10)))
        #expect(korean.push?.data == ["sku": TemplateText("sku-123", at: SourceLocation(file: "templates/restock.yml", line: 6, column: 15))])
        #expect(korean.email?.subject?.text == "{{item_name}} is back in stock")
        #expect(korean.email?.html == TemplateText("<p>{{item_name}} 재입고</p>\n", at: SourceLocation(file: "templates/restock.ko.html", line: 1, column: 1)))
        #expect(korean.email?.text == TemplateText("{{item_name}} is back\n", at: SourceLocation(file: "templates/restock.txt", line: 1, column: 1)))

        let english = template.content(for: "en-US")
        #expect(english == template.base)
        #expect(english.push?.title?.text == "{{item_name}} is back")
        #expect(english.push?.url?.text == "https://shop.example.com/items/sku-123")
        #expect(english.sms?.body?.text == "{{item_name}} is back. Order: {{link}} Reply STOP to opt out")
        #expect(english.email?.html?.text == "<p>{{item_name}} is back</p>\n")
    }

    @Test func configurationIsReadWithEnvironmentSubstitution() throws {
        let result = try #require(try withSampleWorkspace { $0.load().workspace })
        let configuration = result.configuration
        #expect(configuration.store == "sqlite:herald.db")
        #expect(configuration.defaultTimezone == "UTC")
        #expect(configuration.attributes.names == ["country", "plan", "last_seen_at", "lifetime_value", "tags", "wishlist", "beta"])
        #expect(configuration.attributes["plan"] == AttributeDefinition(
            name: "plan", type: .string, allowedValues: ["free", "pro", "enterprise"],
            location: SourceLocation(file: "herald.yml", line: 5, column: 3)
        ))
        #expect(configuration.attributes["tags"]?.type == .list(.string))
        #expect(configuration.attributes["last_seen_at"]?.type == .time)
        #expect(configuration.attributes["lifetime_value"]?.type == .number)
        #expect(configuration.attributes["beta"]?.type == .bool)

        #expect(configuration.providers.map(\.name) == ["apns", "fcm", "webpush", "twilio", "vonage", "sendgrid", "smtp"])
        #expect(configuration.provider(named: "twilio") == ProviderConfiguration(
            name: "twilio", kind: .twilio,
            settings: ["account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "twilio-token-1", "from": "+15005550006", "rate": "100/s"],
            rate: RateLiteral(count: 100, per: .second),
            location: SourceLocation(file: "herald.yml", line: 16, column: 3)
        ))
        #expect(configuration.provider(named: "apns")?.settings["key_file"] == "keys/apns.p8")
        #expect(configuration.provider(named: "fcm")?.settings == ["service_account_file": "keys/fcm.json"])
        #expect(configuration.provider(named: "smtp")?.settings["password"] == "smtp-pass")
        #expect(configuration.provider(named: "sendgrid")?.rate == RateLiteral(count: 600, per: .minute))

        #expect(configuration.channels == ChannelRouting(
            push: [.apns: "apns", .fcm: "fcm", .webpush: "webpush"], sms: ["twilio", "vonage"], email: ["sendgrid", "smtp"]
        ))
        #expect(configuration.frequencyCaps == [
            FrequencyCap(max: 3, per: .rolling(DurationLiteral(amount: 1, unit: .days)), channel: .push),
            FrequencyCap(max: 10, per: .rolling(DurationLiteral(amount: 7, unit: .days))),
            FrequencyCap(max: 1, per: .calendarDay, channel: .sms),
        ])
        #expect(configuration.quietHours == QuietHours(from: TimeOfDay(hour: 21, minute: 0), to: TimeOfDay(hour: 8, minute: 0), then: .delay))
        #expect(configuration.retry == RetryConfiguration(maxAttempts: 8, initial: DurationLiteral(amount: 2, unit: .seconds), max: DurationLiteral(amount: 30, unit: .minutes)))
        #expect(configuration.tracking == TrackingConfiguration(baseURL: "https://t.example.com", secret: "tracking-secret-0123456789"))
        #expect(configuration.api == APIConfiguration(listen: "127.0.0.1:8080"))
    }

    @Test func minimalWorkspaceUsesDefaults() throws {
        try withTemporaryWorkspace { workspace in
            try workspace.write("herald.yml", "# nothing configured yet\ndefault_timezone: Europe/Paris\n")
            try workspace.write("templates/hello.yml", "template: hello\nsms: {body: Hello}\n")
            try workspace.write("campaigns/hello.yml", "campaign: hello\nchannels: [sms]\ntemplate: hello\nschedule: {at: 2026-03-29T02:30}\n")
            try workspace.write("campaigns/manual.yml", "campaign: manual\nchannels: [sms]\ntemplate: hello\n")
            let (loaded, diagnostics) = workspace.load(environment: [:])
            #expect(diagnostics.map(\.description) == [
                "campaigns/hello.yml:2:12: warning: channel 'sms' has no provider in herald.yml (add it under 'channels:' in herald.yml, or notifications on it will fail as misconfigured)",
                "campaigns/manual.yml:2:12: warning: channel 'sms' has no provider in herald.yml (add it under 'channels:' in herald.yml, or notifications on it will fail as misconfigured)",
            ])
            let result = try #require(loaded)
            #expect(result.configuration == HeraldConfiguration(defaultTimezone: "Europe/Paris"))
            let hello = try #require(result.campaign(id: "hello"))
            // Without `timezone:`, a wall-clock schedule is read in herald.yml's default zone.
            #expect(hello.schedule == .at(LocalDateTime(year: 2026, month: 3, day: 29, hour: 2, minute: 30), zone: .fixed("Europe/Paris")))
            #expect(hello.category == "marketing")
            #expect(hello.delivery == .firstAvailable)
            #expect(hello.audience == .everyone)
            #expect(result.campaign(id: "manual")?.schedule == .manual)
        }
    }

    @Test func crlfFilesLoadLikeLFFiles() throws {
        let changes = Dictionary(uniqueKeysWithValues: SampleWorkspace.files.map { ($0.key, Optional($0.value.replacingOccurrences(of: "\n", with: "\r\n"))) })
        try withSampleWorkspace(changes) { workspace in
            let (loaded, diagnostics) = workspace.load()
            #expect(diagnostics.map(\.description) == [])
            let result = try #require(loaded)
            #expect(result.segments["wishlisters"]?.rule.location == SourceLocation(file: "segments/wishlisters.yml", line: 4, column: 3))
            #expect(result.campaign(id: "restock-air-max")?.params["item_name"] == .string("Air Max 90"))
        }
    }

    /// What `herald validate` runs: the sample with an `alerts:` block loads, a bad one is reported.
    @Test func theWorkspaceAcceptsAnAlertsBlockAndReportsABadOne() throws {
        let valid = SampleWorkspace.configuration + "alerts:\n  webhook: ${HERALD_ALERT_WEBHOOK}\n  failure_rate: 25%\n"
        try withSampleWorkspace(["herald.yml": valid]) { workspace in
            var environment = SampleWorkspace.environment
            environment["HERALD_ALERT_WEBHOOK"] = "https://hooks.slack.com/services/T0/B0/xyz"
            let (loaded, diagnostics) = workspace.load(environment: environment)
            #expect(diagnostics.map(\.description) == [])
            #expect(loaded?.configuration.alerts == AlertsConfiguration(webhook: "https://hooks.slack.com/services/T0/B0/xyz", failureRate: 0.25))
        }
        let lines = SampleWorkspace.configuration.split(separator: "\n", omittingEmptySubsequences: false).count
        let invalid = SampleWorkspace.configuration + "alerts:\n  webhook: https://hooks.example.com/x\n  failure_rate: 150%\n"
        try withSampleWorkspace(["herald.yml": invalid]) { workspace in
            let (loaded, diagnostics) = workspace.load()
            #expect(loaded == nil)
            #expect(diagnostics.map(\.description) == [
                "herald.yml:\(lines + 2):17: 'failure_rate' must be more than 0% and at most 100%, found 150% (expected a percentage from 0% to 100%, e.g. 20%)",
            ])
        }
    }

    @Test func missingDirectoryAndMissingConfigurationAreReported() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("herald-missing-\(UUID().uuidString)").path
        let (none, noDirectory) = WorkspaceLoader(environment: [:]).load(directory: missing)
        #expect(none == nil)
        #expect(noDirectory.map(\.description) == ["workspace directory '\(missing)' does not exist (run `herald init` to create one)"])

        try withTemporaryWorkspace { workspace in
            let (loaded, diagnostics) = workspace.load()
            #expect(loaded == nil)
            #expect(diagnostics.map(\.description) == ["no herald.yml in '\(workspace.root.path)' (run `herald init` to create one)"])
        }
    }
}
