import Foundation

/// The funnel of one campaign on one channel: of one send of it (an occurrence), or of all its
/// sends together.
/// What one report row stands for besides its campaign and channel.
public enum ReportGrouping: String, Sendable, Hashable, CaseIterable {
    /// Each send (occurrence), and a total per campaign sent more than once.
    case send
    /// Each provider that carried (or was to carry) the notifications.
    case provider
    /// Each day (UTC) the notifications were due.
    case day
}

public struct ReportRow: Sendable, Hashable, Codable {
    public var campaignID: String
    /// The provider or the day of a row of a report `--by provider` or `--by day`; nil by send.
    public var group: String?
    /// The send this row counts, or `nil` for the total of all the campaign's sends.
    public var occurrenceID: Int64?
    /// When that send fired; `nil` for the total.
    public var fireAt: Date?
    public var channel: Channel
    /// People considered: distinct users with a notification on the channel.
    public var recipients: Int
    /// Every notification considered: planned or skipped (push: one per device, so it can
    /// exceed `recipients`).
    public var targeted: Int
    /// Skipped, by reason (`opted_out`, `no_address`, …).
    public var skipped: [String: Int]
    /// Still in the outbox or in flight.
    public var pending: Int
    public var sent: Int
    public var delivered: Int
    public var failed: Int
    public var dead: Int
    /// Failed because the address bounced (hard or soft), from provider webhooks.
    public var bounced = 0
    /// Notifications a person opened (machine opens by privacy proxies excluded), each once.
    public var opened = 0
    /// Notifications opened only by a machine (a privacy proxy fetching the pixel).
    public var machineOpened = 0
    /// Notifications with at least one click, each once.
    public var clicked = 0
    /// Notifications whose recipient unsubscribed through them (one-click, the provider's link,
    /// or a spam report), each once.
    public var unsubscribed = 0
    /// Of those, spam reports.
    public var complained = 0

    public init(
        campaignID: String, occurrenceID: Int64? = nil, fireAt: Date? = nil, channel: Channel, recipients: Int = 0, targeted: Int = 0,
        skipped: [String: Int] = [:], pending: Int = 0, sent: Int = 0, delivered: Int = 0, failed: Int = 0, dead: Int = 0
    ) {
        self.campaignID = campaignID
        self.occurrenceID = occurrenceID
        self.fireAt = fireAt
        self.channel = channel
        self.recipients = recipients
        self.targeted = targeted
        self.skipped = skipped
        self.pending = pending
        self.sent = sent
        self.delivered = delivered
        self.failed = failed
        self.dead = dead
    }

    public var skippedTotal: Int { skipped.values.reduce(0, +) }

    /// Counts `count` notifications in `state` (with its `reason`, for skips and bounces).
    public mutating func add(_ count: Int, in state: NotificationState, reason: String?) {
        targeted += count
        switch state {
        case .planned, .sending: pending += count
        case .sent: sent += count
        case .delivered: delivered += count
        case .failed:
            failed += count
            if reason == "bounced" || reason == "soft_bounce" { bounced += count }
        case .dead: dead += count
        case .skipped: skipped[reason ?? "unknown", default: 0] += count
        }
    }

    /// Whether this row is the total of all sends rather than one send.
    public var isTotal: Bool { occurrenceID == nil && group == nil }

    /// Notifications that were attempted: everything not skipped.
    public var attempted: Int { targeted - skippedTotal }

    /// Accepted by a provider (sent or delivered) out of those attempted; nil when none was.
    public var sendRate: Double? {
        attempted > 0 ? Double(sent + delivered) / Double(attempted) : nil
    }

    /// Failed or dead out of those attempted; nil when none was.
    public var failureRate: Double? {
        attempted > 0 ? Double(failed + dead) / Double(attempted) : nil
    }

    /// Confirmed delivered out of those a provider accepted; nil when none was.
    public var deliveryRate: Double? {
        sent + delivered > 0 ? Double(delivered) / Double(sent + delivered) : nil
    }

    /// Opened by a person out of those delivered; nil when none was.
    public var openRate: Double? {
        delivered > 0 ? Double(opened) / Double(delivered) : nil
    }

    /// Clicked out of those delivered; nil when none was.
    public var clickRate: Double? {
        delivered > 0 ? Double(clicked) / Double(delivered) : nil
    }

    /// Skipped out of targeted; nil when nothing was targeted.
    public var skipRate: Double? {
        targeted > 0 ? Double(skippedTotal) / Double(targeted) : nil
    }
}
