import Foundation
import HeraldCore
import HeraldDefinitions
import Testing

/// One bad workspace: the sample with some files changed, and every line `herald validate` must
/// print for it, exactly.
struct BadWorkspace: Sendable, CustomTestStringConvertible {
    enum Change: Sendable {
        case text(String)
        case bytes([UInt8])
        case delete
    }

    var name: String
    var changes: [String: Change]
    var environment: [String: String] = SampleWorkspace.environment
    var expected: [String]

    var testDescription: String { name }
}

struct DiagnosticTableTests {
    static let campaignHead = "campaign: restock-air-max\nchannels: [push, email]\ntemplate: restock\n"

    static let cases: [BadWorkspace] = [
        BadWorkspace(
            name: "YAML syntax error",
            changes: ["campaigns/restock-air-max.yml": .text("campaign: restock-air-max\nchannels: [push, email\ntemplate: restock\n")],
            expected: ["campaigns/restock-air-max.yml:3:9: invalid YAML: a list is not closed (the list that starts at line 2, column 11 needs a ']')"]
        ),
        BadWorkspace(
            name: "tab indentation",
            changes: ["campaigns/restock-air-max.yml": .text(campaignHead + "schedule:\n\tat: 2026-12-01T09:00\n")],
            expected: ["campaigns/restock-air-max.yml:5:1: invalid YAML: a tab character in the indentation (indent with spaces; YAML does not allow tabs)"]
        ),
        BadWorkspace(
            name: "wrong type",
            changes: ["campaigns/restock-air-max.yml": .text("campaign: restock-air-max\nchannels: push\ntemplate: restock\n")],
            expected: ["campaigns/restock-air-max.yml:2:11: wrong type for 'channels': found 'push' (expected a list of channels: push, sms, email)"]
        ),
        BadWorkspace(
            name: "unknown field with a hint",
            changes: ["campaigns/restock-air-max.yml": .text("campaign: restock-air-max\ntemplate: restock\nchanels: [push]\n")],
            expected: ["campaigns/restock-air-max.yml:3:1: unknown field 'chanels' (did you mean 'channels'?)"]
        ),
        BadWorkspace(
            name: "unknown field without a close match",
            changes: ["campaigns/restock-air-max.yml": .text(campaignHead + "priority: high\n")],
            expected: [
                "campaigns/restock-air-max.yml:4:1: unknown field 'priority' (expected one of: campaign, description, category, audience, channels, delivery, template, params, locale_params, schedule, frequency_caps, quiet_hours, throttle, expires_after, variants, holdout, conversion)",
            ]
        ),
        BadWorkspace(
            name: "bad enum value",
            changes: ["campaigns/restock-air-max.yml": .text(campaignHead + "delivery: every\n")],
            expected: ["campaigns/restock-air-max.yml:4:11: unknown delivery mode 'every' (expected one of: first_available, all)"]
        ),
        BadWorkspace(
            name: "unknown template",
            changes: ["campaigns/restock-air-max.yml": .text("campaign: restock-air-max\nchannels: [push]\ntemplate: restok\n")],
            expected: ["campaigns/restock-air-max.yml:3:11: unknown template 'restok' (did you mean 'restock'?)"]
        ),
        BadWorkspace(
            name: "unknown template of a variant",
            changes: ["campaigns/restock-air-max.yml": .text(campaignHead + "variants:\n  - {name: a}\n  - {name: b, template: restok}\n")],
            expected: ["campaigns/restock-air-max.yml:6:25: unknown template 'restok' (did you mean 'restock'?)"]
        ),
        BadWorkspace(
            name: "bad locale in a template file name",
            changes: [
                "templates/restock.korean.yml": .text("push: {title: 재입고}\n"),
                "templates/restock.ko_KR.yml": .text("push: {title: 재입고}\n"),
            ],
            expected: [
                "templates/restock.ko_KR.yml:1:1: invalid locale 'ko_KR' in the file name (did you mean 'templates/restock.ko-KR.yml'?)",
                "templates/restock.korean.yml:1:1: invalid locale 'korean' in the file name (expected a BCP 47 language tag such as ko, ko-KR, pt-BR or zh-Hant-TW)",
            ]
        ),
        BadWorkspace(
            name: "locale variant without a base template",
            changes: ["templates/promo.ko.yml": .text("sms: {body: 세일}\n")],
            expected: ["templates/promo.ko.yml:1:1: locale variant of template 'promo' has no base template (add templates/promo.yml)"]
        ),
        BadWorkspace(
            name: "duplicate campaign ids",
            changes: ["campaigns/restock-copy.yml": .text(SampleWorkspace.campaign)],
            expected: [
                "campaigns/restock-copy.yml:1:11: campaign id 'restock-air-max' does not match the file name 'restock-copy.yml' (rename the file to campaigns/restock-air-max.yml, or write campaign: restock-copy)",
                "campaigns/restock-copy.yml:1:11: duplicate campaign id 'restock-air-max' (also in campaigns/restock-air-max.yml)",
            ]
        ),
        BadWorkspace(
            name: "invalid IANA zone",
            changes: ["campaigns/restock-air-max.yml": .text(campaignHead + "schedule:\n  at: 2026-12-01T09:00\n  timezone: Asia/Seul\n")],
            expected: ["campaigns/restock-air-max.yml:6:13: unknown time zone 'Asia/Seul' (did you mean 'Asia/Seoul'?)"]
        ),
        BadWorkspace(
            name: "invalid default zone",
            changes: ["herald.yml": .text("default_timezone: Mars/Olympus_Mons\n")],
            expected: [
                "herald.yml:1:19: unknown time zone 'Mars/Olympus_Mons' (expected an IANA time zone such as UTC, Europe/Paris or Asia/Seoul)",
            ]
        ),
        BadWorkspace(
            name: "bad duration",
            changes: ["campaigns/restock-air-max.yml": .text(campaignHead + "expires_after: 2 days\n")],
            expected: ["campaigns/restock-air-max.yml:4:16: invalid duration '2 days' for 'expires_after' (expected a duration such as 30s, 15m, 12h, 7d or 2w)"]
        ),
        BadWorkspace(
            name: "bad rate",
            changes: ["campaigns/restock-air-max.yml": .text(campaignHead + "throttle: 2000/week\n")],
            expected: ["campaigns/restock-air-max.yml:4:11: invalid rate '2000/week' for 'throttle' (expected a rate such as 100/s, 600/min, 50/h or 1000/d)"]
        ),
        BadWorkspace(
            name: "bad cron",
            changes: ["campaigns/restock-air-max.yml": .text(campaignHead + "schedule:\n  cron: \"0 25 * * MON\"\n  timezone: Asia/Seoul\n")],
            expected: [
                "campaigns/restock-air-max.yml:5:10: invalid cron expression: hour value 25 is out of range 0-23 (expected 5 fields: minute hour day-of-month month day-of-week, e.g. \"0 9 * * MON\")",
            ]
        ),
        BadWorkspace(
            name: "missing environment variable",
            changes: [:],
            environment: SampleWorkspace.environment.filter { $0.key != "TWILIO_AUTH_TOKEN" },
            expected: [
                "herald.yml:16:89: environment variable 'TWILIO_AUTH_TOKEN' is not set (set TWILIO_AUTH_TOKEN before starting herald, or write the value in place of ${TWILIO_AUTH_TOKEN})",
            ]
        ),
        BadWorkspace(
            name: "file that is not UTF-8",
            changes: ["campaigns/restock-air-max.yml": .bytes(Array("campaign: restock-air-max\ndescription: caf".utf8) + [0xE9] + Array(" au lait\n".utf8))],
            expected: ["campaigns/restock-air-max.yml:2:17: file is not valid UTF-8: byte 0xE9 at offset 42 (save the file as UTF-8)"]
        ),
        BadWorkspace(
            name: "file larger than 1 MiB",
            changes: ["campaigns/restock-air-max.yml": .text("description: " + String(repeating: "x", count: 10 * 1024 * 1024) + "\n")],
            expected: ["campaigns/restock-air-max.yml:1:1: file is too large: 10485774 bytes (at most 1 MiB, 1048576 bytes)"]
        ),
        BadWorkspace(
            name: "missing segment",
            changes: ["campaigns/weekly-digest.yml": .text(SampleWorkspace.weekly.replacingOccurrences(of: "segment: wishlisters", with: "segment: wishlister"))],
            expected: ["campaigns/weekly-digest.yml:4:12: unknown segment 'wishlister' (did you mean 'wishlisters'?)"]
        ),
        BadWorkspace(
            name: "segment file whose name differs",
            changes: ["segments/wishlisters.yml": .text("segment: wishers\nwhere: beta\n")],
            expected: [
                "segments/wishlisters.yml:1:10: segment name 'wishers' does not match the file name 'wishlisters.yml' (rename the file to segments/wishers.yml, or write segment: wishlisters)",
            ]
        ),
        BadWorkspace(
            name: "channel not in the template",
            changes: ["templates/restock.yml": .text("template: restock\npush: {title: Back, body: Order now}\n")],
            expected: [
                "campaigns/restock-air-max.yml:7:18: channel 'email' is not in template 'restock' (add an email section to templates/restock.yml, or remove email from 'channels')",
                "campaigns/weekly-digest.yml:5:12: channel 'email' is not in template 'restock' (add an email section to templates/restock.yml, or remove email from 'channels')",
                "campaigns/weekly-digest.yml:5:19: channel 'sms' is not in template 'restock' (add a sms section to templates/restock.yml, or remove sms from 'channels')",
            ]
        ),
        BadWorkspace(
            name: "provider of the wrong kind in channels",
            changes: ["herald.yml": .text(SampleWorkspace.configuration.replacingOccurrences(of: "email: [sendgrid, smtp]", with: "email: [sendgrid, twilio]"))],
            expected: [
                "herald.yml:25:21: provider 'twilio' is of kind twilio, which carries sms, not email (expected one of the email providers: sendgrid, smtp)",
            ]
        ),
        BadWorkspace(
            name: "unknown provider in channels",
            changes: ["herald.yml": .text(SampleWorkspace.configuration.replacingOccurrences(of: "sms:   [twilio, vonage]", with: "sms:   [twilio, vonnage]"))],
            expected: ["herald.yml:24:19: unknown provider 'vonnage' (did you mean 'vonage'?)"]
        ),
        BadWorkspace(
            name: "missing body file",
            changes: ["templates/restock.txt": .delete],
            expected: ["templates/restock.yml:12:9: file 'templates/restock.txt' not found ('text' names a file beside the template)"]
        ),
        BadWorkspace(
            name: "body file that is not UTF-8",
            changes: ["templates/restock.html": .bytes([0x3C, 0x70, 0x3E, 0x0A, 0xFF, 0xFE])],
            expected: ["templates/restock.html:2:1: file is not valid UTF-8: byte 0xFF at offset 4 (save the file as UTF-8)"]
        ),
        BadWorkspace(
            name: "YAML anchors",
            changes: ["campaigns/restock-air-max.yml": .text(campaignHead + "params:\n  a: &name Air Max\n  b: *name\n")],
            expected: ["campaigns/restock-air-max.yml:5:6: YAML anchors are not supported (write the value out in full; Herald files do not use &anchors and *aliases)"]
        ),
        BadWorkspace(
            name: "yaml file extension",
            changes: ["campaigns/flash-sale.yaml": .text("campaign: flash-sale\n")],
            expected: ["campaigns/flash-sale.yaml:1:1: campaign files end in .yml (rename it to campaigns/flash-sale.yml)"]
        ),
        BadWorkspace(
            name: "errors in several files are all reported",
            changes: [
                "herald.yml": .text(SampleWorkspace.configuration.replacingOccurrences(of: "max_attempts: 8", with: "max_attempts: eight")),
                "campaigns/restock-air-max.yml": .text(campaignHead + "category: Promo!\n"),
                "campaigns/weekly-digest.yml": .text("campaign: weekly-digest\nchannels: [email, fax]\n"),
            ],
            expected: [
                "campaigns/restock-air-max.yml:4:11: invalid category 'Promo!' (expected marketing, transactional, or a topic of lowercase letters, digits, '-' and '_', e.g. price-alerts)",
                "campaigns/weekly-digest.yml:1:1: missing field 'template' (expected the name of a template in templates/, e.g. template: restock)",
                "campaigns/weekly-digest.yml:2:19: unknown channel 'fax' (expected one of: push, sms, email)",
                "herald.yml:34:23: 'eight' is not a whole number for 'max_attempts' (expected a whole number of at least 1)",
            ]
        ),
    ]

    @Test(arguments: cases)
    func reportsExactly(_ bad: BadWorkspace) throws {
        let (loaded, diagnostics) = try withSampleWorkspace { workspace in
            for (path, change) in bad.changes {
                switch change {
                case .text(let text): try workspace.write(path, text)
                case .bytes(let bytes): try workspace.write(path, bytes: Data(bytes))
                case .delete: try workspace.remove(path)
                }
            }
            return workspace.load(environment: bad.environment)
        }
        #expect(diagnostics.map(\.description) == bad.expected)
        #expect(loaded == nil)
    }
}
