import HeraldContent
import Foundation
import HeraldCore

/// Decides, for one user, what each channel of a campaign does: send (with rendered content) or
/// skip with a reason. Pure: no store, no clock.
///
/// Order of checks per channel: a provider for the channel, an address, the opt-in (channel,
/// category, channel:category), then `first_available` (a later channel is `not_needed` once one
/// is chosen), then rendering.
public struct RecipientPlanner: Sendable {
    public var routing: ChannelRouting
    /// Signs `{{unsubscribe_url}}`; `nil` (the variable renders empty) without `tracking:`.
    public var unsubscribeLinks: UnsubscribeLinks?

    public init(routing: ChannelRouting, unsubscribeLinks: UnsubscribeLinks? = nil) {
        self.routing = routing
        self.unsubscribeLinks = unsubscribeLinks
    }

    public func plan(
        _ user: User, campaign: Campaign, occurrence: Occurrence, dueAt: Date, renderer: some NotificationRendering
    ) -> [PlannedNotification] {
        var result: [PlannedNotification] = []
        var reached = false
        for channel in campaign.channels {
            func make(_ decision: PlannedNotification.Decision, device: Device? = nil, provider: String?, address: String?) -> PlannedNotification {
                PlannedNotification(
                    occurrenceID: occurrence.id, campaignID: campaign.id, category: campaign.category, userID: user.id,
                    channel: channel, device: device?.address ?? "", provider: provider, address: address, dueAt: dueAt, decision: decision
                )
            }
            if reached, campaign.delivery == .firstAvailable {
                result.append(make(.skip(.notNeeded, detail: nil), provider: nil, address: nil))
                continue
            }
            let targets = self.targets(for: user, on: channel)
            guard !targets.isEmpty else {
                result.append(make(.skip(.noAddress, detail: nil), provider: nil, address: nil))
                continue
            }
            guard user.preferences.allows(channel: channel, category: campaign.category) else {
                result.append(make(.skip(.optedOut, detail: nil), provider: nil, address: nil))
                continue
            }
            let routed = targets.filter { $0.provider != nil }
            guard !routed.isEmpty else {
                result.append(make(.skip(.noProvider, detail: "no provider that can carry it in herald.yml channels.\(channel.rawValue)"), provider: nil, address: nil))
                continue
            }
            let decision: PlannedNotification.Decision
            var warning: String?
            do {
                // One rendering serves every device of the channel, so the link names the channel,
                // not a device; the dispatcher hands the same link to the transport.
                let key = NotificationKey(occurrenceID: occurrence.id, userID: user.id, channel: channel)
                let unsubscribeURL = unsubscribeLinks?.url(for: key) ?? ""
                let rendered = try renderer.render(campaign, channel: channel, for: user, unsubscribeURL: unsubscribeURL)
                decision = .send(rendered.content)
                if !rendered.missingVariables.isEmpty {
                    warning = "missing variables rendered empty: " + rendered.missingVariables.joined(separator: ", ")
                }
            } catch {
                decision = .skip(.renderFailed, detail: String(describing: error))
            }
            for target in routed {
                var planned = make(decision, device: target.device, provider: target.provider, address: target.address)
                planned.warning = warning
                result.append(planned)
            }
            if case .send = decision { reached = true }
        }
        return result
    }

    /// The addresses a channel reaches for this user: the email, the phone, or every active push
    /// device, each with the provider that carries it.
    func targets(for user: User, on channel: Channel) -> [(address: String, device: Device?, provider: String?)] {
        switch channel {
        case .email:
            guard let email = user.email, !email.isEmpty else { return [] }
            return [(email, nil, routing.email.first)]
        case .sms:
            guard let phone = user.phone, !phone.isEmpty else { return [] }
            return [(phone, nil, routing.sms.first)]
        case .push:
            return user.activeDevices.map { ($0.address, $0, routing.push[$0.platform]) }
        }
    }
}
