import Foundation

/// The alert incidents open across every process on one database, so that an incident is posted
/// once however many workers watch the channel: the process whose ``openIncident(_:)`` opens it
/// posts the alert, and the one whose ``closeIncident(_:unseenSince:at:)`` closes it posts the
/// recovery.
///
/// Each process that still sees an incident's condition says so (``openIncident(_:)`` again),
/// and a close can require that nobody has for a while: processes that see a provider through
/// breakers of their own can disagree, and one that sees it closed must not post the recovery
/// (after which the other posts the same alert again) while another still sees it open.
///
/// `SQLiteStore` keeps them in its `alert_incidents` table; another store (PostgreSQL) implements
/// the same three calls, each atomic on its own.
///
/// ```swift
/// if try await store.openIncident(alert) { try await sink.post(.fire(alert)) }   // posted by one process only
/// if let opened = try await store.closeIncident(key, unseenSince: now - 30, at: now) { … }  // likewise its recovery
/// ```
public protocol AlertIncidentStore: Sendable {
    /// Opens the incident of `alert.key` with `alert` unless one is open already; either way
    /// records that its condition was seen at `alert.at`.
    ///
    /// - Returns: true when this call opened it (the caller posts the alert), false when another
    ///   process (or an earlier check) had.
    func openIncident(_ alert: Alert) async throws -> Bool

    /// Closes the open incident of `key`, unless a process saw its condition after `cutoff`.
    ///
    /// - Returns: the alert that opened it when this call closed it (the caller posts the
    ///   recovery), nil when none was open (another process closed it first) or its condition
    ///   was seen after `cutoff`.
    func closeIncident(_ key: Alert.Key, unseenSince cutoff: Date, at now: Date) async throws -> Alert?

    /// The incidents open now, on every channel, each with the alert that opened it.
    func openIncidents() async throws -> [Alert]
}

extension Alert {
    /// An incident as a store keeps it: kind, channel, provider (`""` for none), severity and
    /// message as written, its start in seconds since 1970; `at` is when it was observed, its
    /// start by default. Nil for a kind or channel this version does not know.
    public init?(storedKind kind: String, channel: String, provider: String, severity: String, message: String, startedAt: Double, at: Date?) {
        guard let kind = Kind(rawValue: kind), let channel = Channel(rawValue: channel) else { return nil }
        let start = Date(timeIntervalSince1970: startedAt)
        self.init(
            kind: kind, channel: channel, provider: provider.isEmpty ? nil : provider, message: message,
            severity: Severity(rawValue: severity) ?? .critical, startedAt: start, at: at ?? start
        )
    }
}
