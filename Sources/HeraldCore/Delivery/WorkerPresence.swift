import Foundation

/// A delivery worker (`herald worker`, `herald run`) as the store knows it: which channels it
/// delivers and when it last said it was alive.
///
/// A provider's `rate:` in herald.yml is the provider's (one account's limit), not each
/// process's: the workers that send through a provider divide its rate between them. Each worker
/// says every few seconds that it is alive (``WorkerPresenceStore/announce(_:liveSince:)``),
/// reads back who else is, and takes its share (``ProviderShares``).
public struct WorkerPresence: Sendable, Hashable {
    /// Unique per process run (host, process id and a random part).
    public var id: String
    /// The channels it delivers.
    public var channels: Set<Channel>
    public var host: String
    public var processID: Int
    public var startedAt: Date
    /// When it last said it was alive.
    public var seenAt: Date

    public init(id: String, channels: Set<Channel>, host: String, processID: Int, startedAt: Date, seenAt: Date) {
        self.id = id
        self.channels = channels
        self.host = host
        self.processID = processID
        self.startedAt = startedAt
        self.seenAt = seenAt
    }

    /// The channels as the stores keep them: raw values, sorted, comma-separated.
    public var storedChannels: String {
        channels.map(\.rawValue).sorted().joined(separator: ",")
    }

    /// Channels kept as ``storedChannels``; names this version does not know are left out.
    public static func channels(stored: String) -> Set<Channel> {
        Set(stored.split(separator: ",").compactMap { Channel(rawValue: String($0)) })
    }
}

/// The delivery workers on one database (SQLite's `workers` table, PostgreSQL's).
public protocol WorkerPresenceStore: Sendable {
    /// Records that `worker` is alive at `worker.seenAt`, forgets workers not seen for an hour
    /// before `liveSince`, and returns every worker seen at `liveSince` or later (`worker`
    /// itself included), ordered by id.
    func announce(_ worker: WorkerPresence, liveSince: Date) async throws -> [WorkerPresence]

    /// Removes the worker (it stops): the others take its share at their next announcement.
    func withdraw(workerID: String) async throws

    /// The workers seen at `liveSince` or later, ordered by id (`herald queue`).
    func liveWorkers(since liveSince: Date) async throws -> [WorkerPresence]
}

/// Each provider's share of its `rate:` for one worker: one over the live workers that deliver a
/// channel the provider carries (failover traffic included), so that together they send at the
/// provider's rate, not once per worker.
public enum ProviderShares {
    /// - Parameters:
    ///   - providers: the channels each provider carries (a provider may carry more than one).
    ///   - live: the live workers, this one included.
    /// - Returns: a share in (0, 1] for every provider of `providers`; 1 when no live worker
    ///   delivers its channels (this worker does not either, then).
    public static func shares(providers: [String: Set<Channel>], live: [WorkerPresence]) -> [String: Double] {
        providers.mapValues { channels in
            let senders = live.filter { !$0.channels.isDisjoint(with: channels) }.count
            return 1 / Double(max(1, senders))
        }
    }

    /// The channels each provider of `routing` carries.
    public static func channels(of routing: ChannelRouting) -> [String: Set<Channel>] {
        var channels: [String: Set<Channel>] = [:]
        for provider in routing.push.values { channels[provider, default: []].insert(.push) }
        for provider in routing.sms { channels[provider, default: []].insert(.sms) }
        for provider in routing.email { channels[provider, default: []].insert(.email) }
        return channels
    }
}
