import ArgumentParser
import Foundation
import HeraldCore

struct ScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Work with campaign schedules.",
        subcommands: [Preview.self]
    )

    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The next fire instants of a cron expression, or when a campaign is sent next.",
            discussion: """
                With --cron, prints the next --count instants strictly after --from, one per line, in ISO 8601 with \
                the zone's offset (2026-03-08T03:00:00-04:00) and nothing else, so that scripts can read them. A time \
                that falls in a daylight-saving gap fires once, moved forward by the gap; one that happens twice fires \
                at the first.
                """
        )

        @OptionGroup var location: WorkspaceLocation

        @Argument(help: "A campaign id (instead of --cron).")
        var campaign: String?

        @Option(help: "A cron expression: 5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly.")
        var cron: String?

        @Option(help: "The IANA zone the expression is read in. Default: UTC.")
        var timezone: String = "UTC"

        @Option(help: "The instant to start after, in ISO 8601. Default: now.")
        var from: String?

        @Option(help: "How many instants.")
        var count: Int = 5

        func validate() throws {
            guard (campaign == nil) != (cron == nil) else {
                throw ValidationError("give a campaign id or --cron EXPRESSION, not both")
            }
            guard (1...10_000).contains(count) else { throw ValidationError("--count must be between 1 and 10000, got \(count)") }
            guard TimeZone(identifier: timezone) != nil, timezone.contains("/") || timezone == "UTC" || timezone == "GMT" else {
                throw ValidationError("unknown time zone '\(timezone)' (expected an IANA name such as America/New_York)")
            }
            if let from, ISO8601.date(from: from) == nil {
                throw ValidationError("--from '\(from)' is not an ISO 8601 instant, e.g. 2026-03-08T00:00:00Z")
            }
            if let cron {
                do {
                    _ = try CronExpression(cron)
                } catch {
                    throw ValidationError("--cron '\(cron)': \(error.message)")
                }
            }
        }

        func run() async throws {
            let start = from.flatMap(ISO8601.date(from:)) ?? Date()
            if let cron {
                print(Self.instants(try CronExpression(cron), zone: TimeZone(identifier: timezone)!, after: start, count: count, window: nil).joined(separator: "\n"))
                return
            }
            let options = try WorkspaceOptions.parse(["--workspace", location.workspace])
            let workspace = try options.loadWorkspace()
            let campaign = try options.campaign(self.campaign!, in: workspace)
            print(Self.describe(campaign, defaultZone: workspace.configuration.defaultTimezone, after: start, count: count))
        }

        static func instants(_ cron: CronExpression, zone: TimeZone, after start: Date, count: Int, window: ClosedRange<LocalDateTime>?) -> [String] {
            var after = start
            var lines: [String] = []
            while lines.count < count, let next = cron.next(after: after, in: zone, window: window) {
                lines.append(ISO8601.string(from: next, in: zone))
                after = next
            }
            return lines
        }

        static func describe(_ campaign: Campaign, defaultZone: String, after start: Date, count: Int) -> String {
            switch campaign.schedule {
            case .manual:
                return "\(campaign.id) has no schedule: it is sent by `herald send \(campaign.id) --now` (or the API)"
            case .trigger(let event, let delay):
                return "\(campaign.id) is sent to a user when the event '\(event)' happens for them" + (delay.map { ", \($0) later" } ?? "")
            case .instant(let instant):
                return "\(campaign.id) is sent once at \(ISO8601.string(from: instant))" + (instant <= start ? " (in the past)" : "")
            case .at(let time, .fixed(let zoneName)):
                let zone = TimeZone(identifier: zoneName) ?? TimeZone(identifier: "UTC")!
                let instant = time.instant(in: zone)
                return "\(campaign.id) is sent once at \(ISO8601.string(from: instant, in: zone))" + (instant <= start ? " (in the past)" : "")
            case .at(let time, .recipient):
                // The earliest and latest zones on Earth: UTC+14 and UTC-12.
                let earliest = time.instant(in: TimeZone(secondsFromGMT: 14 * 3600)!)
                let latest = time.instant(in: TimeZone(secondsFromGMT: -12 * 3600)!)
                return "\(campaign.id) is sent once at \(time) in each recipient's zone (\(defaultZone) for those without one): "
                    + "from \(ISO8601.string(from: earliest)) (UTC+14) to \(ISO8601.string(from: latest)) (UTC-12)"
            case .cron(let schedule):
                let window = schedule.window
                switch schedule.zone {
                case .fixed(let zoneName):
                    let zone = TimeZone(identifier: zoneName) ?? TimeZone(identifier: "UTC")!
                    let lines = instants(schedule.expression, zone: zone, after: start, count: count, window: window)
                    return (["\(campaign.id) (cron \(schedule.expression) in \(zoneName)) is sent next at:"] + lines.map { "  " + $0 })
                        .joined(separator: "\n") + (lines.isEmpty ? "\n  (never again)" : "")
                case .recipient:
                    let zone = TimeZone(identifier: defaultZone) ?? TimeZone(identifier: "UTC")!
                    let lines = instants(schedule.expression, zone: zone, after: start, count: count, window: window)
                    return (["\(campaign.id) (cron \(schedule.expression) in each recipient's zone) fires next, on the clock of \(defaultZone), at:"] + lines.map { "  " + $0 })
                        .joined(separator: "\n")
                }
            }
        }
    }
}
