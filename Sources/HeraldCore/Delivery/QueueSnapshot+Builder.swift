import Foundation

extension QueueSnapshot {
    /// A snapshot put together from the figures each store's queries give per channel and
    /// provider (the outbox, the dead notifications, the sends of the last minute) and the
    /// providers' recorded health: the stores keep their SQL, and what a row holds, which rows
    /// there are and their order are this one type's.
    ///
    /// ```swift
    /// var builder = QueueSnapshot.Builder()
    /// builder.update(channel: "email", provider: "sendgrid") { $0.dead = 2 }
    /// builder.apply(try await store.providerHealth())
    /// let snapshot = builder.snapshot(at: now)
    /// ```
    public struct Builder: Sendable {
        struct Key: Hashable {
            var channel: String
            var provider: String
        }

        var rows: [Key: QueueRow] = [:]

        public init() {}

        /// Changes the row of `channel` and `provider` (nil: the notification has none), made
        /// when new; a channel this version does not know is left out.
        public mutating func update(channel: String, provider: String?, _ change: (inout QueueRow) -> Void) {
            guard let parsed = Channel(rawValue: channel) else { return }
            let key = Key(channel: channel, provider: provider ?? "")
            var row = rows[key] ?? QueueRow(channel: parsed, provider: key.provider)
            change(&row)
            rows[key] = row
        }

        /// Puts each provider's breaker and pause on its rows; a provider with nothing queued,
        /// dead or sent still gets a row when its health names its channel.
        public mutating func apply(_ health: [ProviderHealth]) {
            for health in health {
                if !rows.keys.contains(where: { $0.provider == health.provider }), let channel = health.channel {
                    update(channel: channel.rawValue, provider: health.provider) { _ in }
                }
                for key in rows.keys where key.provider == health.provider {
                    rows[key]?.breaker = health.breaker
                    rows[key]?.pausedReason = health.pausedReason
                }
            }
        }

        /// The rows by channel, then provider.
        public func snapshot(at now: Date) -> QueueSnapshot {
            QueueSnapshot(at: now, rows: rows.values.sorted { ($0.channel, $0.provider) < ($1.channel, $1.provider) })
        }
    }
}
