import ArgumentParser
import Foundation
import HeraldContent
import HeraldCore
import HeraldEngine
import HeraldRules
import HeraldStore

struct PreviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview",
        abstract: "Show what one user would receive from a campaign, exactly as it would be sent, without writing anything.",
        discussion: """
            Makes the same decisions as a send (address, opt-ins, delivery mode) and renders each channel for the \
            user: push title, body, url and data per device; the SMS text with its segment count; the email subject \
            and text, with the HTML part written to a file. Nothing is stored or sent.
            """
    )

    @OptionGroup var options: WorkspaceOptions

    @Argument(help: "The campaign id.")
    var campaign: String

    @Option(help: "The user to preview for.")
    var user: String

    @Option(help: "Only this channel (push, sms, email); rendered even when the campaign's delivery mode would skip it.")
    var channel: String?

    @Option(help: "Where to write the email's HTML part. Default: a file in the system's temporary directory.")
    var html: String?

    @Option(name: .customLong("param"), help: ArgumentHelp("A template parameter, as `send --param` gives it (repeatable).", valueName: "key=value"))
    var params: [String] = []

    func validate() throws {
        if let channel, Channel(rawValue: channel) == nil {
            throw ValidationError("unknown channel '\(channel)' (\(Suggestion.hint(for: channel, in: Channel.allCases.map(\.rawValue))))")
        }
        _ = try SendCommand.parseParams(params)
    }

    func run() async throws {
        let workspace = try options.loadWorkspace()
        var campaign = try options.campaign(self.campaign, in: workspace)
        campaign.override(params: try SendCommand.parseParams(params))
        let store = try await options.openAnyStore(for: workspace, access: .readOnly).store
        guard let recipient = try await store.users(matching: .ids([user]), after: nil, limit: 1).first else {
            throw CLIError("no user with id \(Quoted.visible(user))")
        }
        let now = Date()
        var lines: [String] = []
        let person = [recipient.firstName, recipient.locale, recipient.timezone].compactMap { $0 }.joined(separator: ", ")
        lines.append("\(campaign.id) for \(recipient.id)\(person.isEmpty ? "" : " (\(person))")")
        if case .rule(let source) = try audienceRule(of: campaign, in: workspace) {
            let rule = try Rule(source, schema: workspace.configuration.attributes)
            let context = try await store.ruleContext(now: now, campaignID: campaign.id, defaultTimezone: workspace.configuration.defaultTimezone, for: [recipient.id])
            if !rule.evaluate(recipient, in: context) {
                let failing = rule.explain(recipient, in: context).filter { !$0.holds }.map(\.text)
                lines.append("note: not in the audience (\(failing.joined(separator: "; "))): a send reaches them only with --user")
            }
        }
        let renderer = TemplateRenderer(workspace: workspace)
        var previewed = campaign
        if let channel = channel.flatMap(Channel.init(rawValue:)) {
            previewed.channels = [channel]
        }
        let occurrence = Occurrence(id: 0, campaignID: campaign.id, fireAt: now, definitionHash: campaign.definitionHash, isNew: true)
        let routing = workspace.configuration.channels.carried(by: ProviderTransports.carriers(in: workspace.configuration))
        let decisions = RecipientPlanner(routing: routing, limits: RecipientPlanner.Limits(workspace.configuration))
            .plan(recipient, campaign: previewed, occurrence: occurrence, now: now, renderer: renderer)
        for decision in decisions {
            lines.append("")
            lines += try describe(decision, campaign: campaign, recipient: recipient, workspace: workspace)
        }
        print(lines.joined(separator: "\n"))
    }

    func audienceRule(of campaign: Campaign, in workspace: Workspace) throws -> Audience {
        if case .segment(let name, _) = campaign.audience, let segment = workspace.segments[name] {
            return .rule(segment.rule)
        }
        return campaign.audience
    }

    func describe(_ planned: PlannedNotification, campaign: Campaign, recipient: User, workspace: Workspace) throws -> [String] {
        let target = planned.channel == .push && !planned.device.isEmpty ? "push to \(Self.shortened(planned.device))" : planned.channel.rawValue
        switch planned.decision {
        case .skip(let reason, let detail):
            return ["\(target): not sent: \(reason.rawValue)" + (detail.map { " (\($0))" } ?? "") + Self.explanation(reason)]
        case .send(let content):
            let variant = content.variant.map { " (\($0.label(for: recipient.locale, baseLocale: workspace.templates[campaign.template]?.baseLocale)))" } ?? ""
            var lines = ["\(target) via \(planned.provider ?? "?")" + (planned.address.map { planned.channel == .push ? "" : " to \($0)" } ?? "") + variant + ":"]
            if let warning = planned.warning { lines.append("  warning: \(warning)") }
            switch content {
            case .push(let push):
                if let title = push.title { lines.append("  title: \(title)") }
                lines.append("  body:  \(push.body)")
                if let url = push.url { lines.append("  url:   \(url)") }
                if !push.data.isEmpty {
                    lines.append("  data:  " + push.data.keys.sorted().map { "\($0)=\(push.data[$0]!)" }.joined(separator: ", "))
                }
            case .sms(let sms):
                let segments = SMSSegments(text: sms.body)
                lines.append("  \(sms.body)")
                lines.append("  (\(sms.body.count) characters, \(plural(segments.count, "segment")), \(segments.encoding.rawValue))")
            case .email(let email):
                lines.append("  subject: \(email.subject)")
                if let html = email.html {
                    let path = try writeHTML(html, campaign: campaign.id)
                    lines.append("  html:    \(path) (\(plural(html.utf8.count, "byte")))")
                }
                lines.append("  text:")
                lines += email.text.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }
            }
            return lines
        }
    }

    static func explanation(_ reason: SkipReason) -> String {
        switch reason {
        case .notNeeded: " — delivery: first_available reached the user on an earlier channel; --channel renders it anyway"
        case .noAddress: " — the user has no address for this channel"
        case .optedOut: " — the user opted out of this channel or category"
        default: ""
        }
    }

    /// A device token cut to its ends: enough to tell devices apart.
    static func shortened(_ token: String) -> String {
        token.count <= 16 ? token : "\(token.prefix(8))…\(token.suffix(4))"
    }

    func writeHTML(_ text: String, campaign: String) throws -> String {
        let path = html ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("herald-preview-\(campaign)-\(user.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") }).html").path
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        } catch {
            throw CLIError("cannot write the HTML preview to '\(path)': \(error.localizedDescription)")
        }
        return path
    }
}
