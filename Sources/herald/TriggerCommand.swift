import ArgumentParser
import Foundation
import HeraldCore
import HeraldEngine
import HeraldRules
import HeraldStore

struct TriggerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trigger",
        abstract: "Record an event for a user and plan the campaigns it triggers, for that user.",
        discussion: """
            Records the event (its name, the user, its properties and when it happened) and plans every campaign whose \
            `schedule: {trigger: {event: …}}` names it, for that user alone, due at the event's instant plus the \
            campaign's delay. A campaign's audience rule still applies: a user outside it is told, not sent to. Each \
            event is its own send: running the command twice records two events and plans twice, unless both name the \
            same --id, which records and plans once (and finishes a planning that was interrupted).

            The properties are a JSON object (at most 16 KiB, nested at most 8 levels). The triggered campaigns' \
            templates see each property as a variable of its own name, over the campaign's params of that name: \
            --properties '{"order_id": "A-1042"}' fills {{order_id}}. Planned notifications wait in the outbox until \
            due; `herald deliver` sends those that are due.
            """
    )

    @OptionGroup var options: WorkspaceOptions

    @Argument(help: "The event name, e.g. cart_abandoned.")
    var event: String

    @Option(help: "The id of the user the event happened to.")
    var user: String

    @Option(help: ArgumentHelp("The event's properties, a JSON object, e.g. '{\"order_id\": \"A-1042\"}'.", valueName: "json"))
    var properties: String?

    @Option(help: ArgumentHelp("When the event happened, ISO 8601 with a zone (2026-11-20T10:00:00Z). Default: now, to the second.", valueName: "instant"))
    var at: String?

    @Option(help: ArgumentHelp("The event's own id: the same id again is the same event, recorded and planned once.", valueName: "event-id"))
    var id: String?

    func validate() throws {
        guard ReceivedEvent.isValidName(event) else {
            throw ValidationError(
                "\(Quoted.visible(event)) is not an event name: use 1 to \(ReceivedEvent.maximumNameLength) letters, digits, '_', '-' and '.', e.g. cart_abandoned"
            )
        }
        _ = try parsedProperties()
        _ = try instant()
        if let id {
            guard !id.isEmpty, id.unicodeScalars.count <= ReceivedEvent.maximumNameLength,
                  !id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else {
                throw ValidationError("--id \(Quoted.visible(id)) is not an event id: give 1 to \(ReceivedEvent.maximumNameLength) characters without control characters")
            }
        }
    }

    func parsedProperties() throws -> EventProperties {
        guard let properties else { return .empty }
        do {
            return try EventProperties(json: properties)
        } catch {
            throw ValidationError("--properties: \(error.description); nothing was recorded")
        }
    }

    /// `--at`, or nil for now.
    func instant() throws -> Date? {
        guard let at else { return nil }
        switch ISO8601.seconds(from: at) {
        case .success(let seconds): return Date(timeIntervalSince1970: seconds)
        case .failure(let problem): throw ValidationError("--at \(Quoted.visible(at)) is not an instant: \(problem.hint)")
        }
    }

    func run() async throws {
        let workspace = try options.loadWorkspace()
        let app = try await HeraldApp.open(workspace, options: options)
        let now = app.clock.now
        // Now to the whole second by default: the due times printed and stored are then exact.
        let happened = try instant() ?? Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let outcome: EventIntake.Outcome
        do {
            outcome = try await app.eventIntake.receive(
                ReceivedEvent(externalID: id, userID: user, name: event, properties: try parsedProperties(), receivedAt: happened), at: now
            )
        } catch let error as EventError {
            let advice = error.code == .unknownUser ? " (import them first with `herald users import`)" : ""
            throw CLIError("\(error.message); nothing was recorded\(advice)")
        }
        print(Self.describe(outcome, workspace: workspace))
    }

    /// What `herald trigger` prints.
    static func describe(_ outcome: EventIntake.Outcome, workspace: Workspace) -> String {
        var lines: [String] = []
        let recorded = outcome.event
        if outcome.isNew {
            lines.append("recorded \(recorded.name) for \(recorded.userID) at \(ISO8601.string(from: recorded.receivedAt)) (event \(recorded.id))")
        } else {
            lines.append(
                "event id \(Quoted.visible(recorded.externalID ?? "")) was received before, at \(ISO8601.string(from: recorded.receivedAt)): "
                    + "nothing new was recorded, and each campaign it triggered is planned once"
            )
        }
        var planned = false
        for campaign in outcome.campaigns {
            switch campaign {
            case .planned(let campaignID, let dueAt, let decisions, let before):
                planned = planned || decisions.contains { $0.state == .planned }
                lines.append(
                    "\(campaignID): planned for \(recorded.userID), due \(ISO8601.string(from: dueAt))" + (before ? " (before)" : "") + ": "
                        + describe(decisions)
                )
            case .unusable(let campaignID, let plannedBefore):
                lines.append("\(campaignID): \(plannedBefore ? "planned before" : "not planned: the campaign is no longer usable in this workspace")")
            case .outsideAudience(let campaignID, let why):
                lines.append("\(campaignID): not planned: \(recorded.userID) is not in its audience (\(why))")
            }
        }
        if outcome.isNew && !outcome.triggersAnything {
            lines.append(noCampaignLine(for: recorded.name, in: workspace))
        }
        if planned {
            lines.append("notifications wait in the outbox until due; `herald deliver` sends those that are due")
        }
        return lines.joined(separator: "\n")
    }

    /// `sms planned; push skipped (no_provider)`, counting repeats (one push decision per device).
    static func describe(_ decisions: [PlanDecision]) -> String {
        guard !decisions.isEmpty else { return "nothing (the campaign has no channel to plan)" }
        var order: [String] = []
        var counts: [String: Int] = [:]
        for decision in decisions {
            let text = "\(decision.channel.rawValue) \(decision.state.rawValue)" + (decision.reason.map { " (\($0))" } ?? "")
            if counts[text] == nil { order.append(text) }
            counts[text, default: 0] += 1
        }
        return order.map { counts[$0]! > 1 ? "\($0) ×\(counts[$0]!)" : $0 }.joined(separator: "; ")
    }

    /// Says that no campaign names `event`, with the events that campaigns do name.
    static func noCampaignLine(for event: String, in workspace: Workspace) -> String {
        var byEvent: [String: [String]] = [:]
        for campaign in workspace.campaigns {
            if let name = campaign.triggeringEvent { byEvent[name, default: []].append(campaign.id) }
        }
        let names = byEvent.keys.sorted()
        guard !names.isEmpty else {
            return "no campaign is triggered by \(Quoted.visible(event)): no campaign in the workspace has a trigger "
                + "(the event is kept for rules that ask about it)"
        }
        let near = Suggestion.closest(to: event, in: names).map { "did you mean '\($0)'? " } ?? ""
        return "no campaign is triggered by \(Quoted.visible(event)) (\(near)campaigns are triggered by: "
            + names.map { "\($0) (\(byEvent[$0]!.sorted().joined(separator: ", ")))" }.joined(separator: ", ")
            + "); the event is kept for rules that ask about it"
    }
}
