import Foundation
import HeraldCore
import Logging
import ServiceLifecycle

/// Turns the `at` and `cron` schedules of the campaigns into planned occurrences, as a
/// long-running service: plans what is due, then sleeps until the next fire instant.
///
/// Each pass first resumes every scheduled occurrence whose planning stopped part way (a crashed
/// or stopped scheduler, oldest first, not only the latest), then, per campaign, asks
/// ``Schedule/due(lastFireAt:firstSeen:now:grace:limit:)`` what is due: an occurrence missed by
/// less than the campaign's `expires_after` (one hour without it) is planned late, an older one
/// is recorded expired. An occurrence is claimed in the store before it is planned, with a lease
/// that this scheduler renews while it plans, so that two schedulers on one database plan it
/// once; one held by another live scheduler is left to it. An occurrence planned before is never
/// planned again, even after an edit of its campaign: edits change later occurrences only.
///
/// The scheduler plans; it does not deliver (the dispatchers do). The clock is injected and
/// sleeps, so tests run it in virtual time. On graceful shutdown it stops at the next page
/// boundary of the occurrence it is planning and releases its lease, so that the next scheduler
/// resumes it at once.
///
/// ```swift
/// let scheduler = Scheduler(store: store, clock: SystemWallClock()) {
///     Scheduler.Definitions(campaigns: workspace.campaigns, planner: planner)
/// }
/// try await ServiceGroup(services: [scheduler], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
/// ```
public struct Scheduler: Service {
    public struct Configuration: Sendable {
        /// This scheduler's name in occurrence leases; unique among live schedulers. Default
        /// `hostname:pid` (``Scheduler/defaultOwner``). A scheduler restarted under the same name
        /// resumes its own occurrences at once instead of waiting for their leases to end.
        public var owner: String
        /// How long a claim holds an occurrence without renewal; renewed every third of it while
        /// planning. Another scheduler resumes the occurrence once it ends. Default 60 s.
        public var lease: Duration
        /// How often, at most, the campaigns are read again when no occurrence is due sooner, so
        /// that new and edited campaigns are seen. Default 60 s.
        public var rescanInterval: Duration
        /// At most this many occurrences of one campaign per pass (a cron of every minute after
        /// a month of downtime); the next pass goes on at once. Default 1000.
        public var occurrencesPerPass: Int
        /// Plan what is due now and return instead of sleeping (`herald schedule run --once`).
        /// Default false.
        public var runsOnce: Bool

        public init(
            owner: String = Scheduler.defaultOwner, lease: Duration = .seconds(60), rescanInterval: Duration = .seconds(60),
            occurrencesPerPass: Int = 1000, runsOnce: Bool = false
        ) {
            self.owner = owner
            self.lease = lease
            self.rescanInterval = rescanInterval
            self.occurrencesPerPass = occurrencesPerPass
            self.runsOnce = runsOnce
        }
    }

    /// The campaigns to schedule and a planner built from the same definitions: read again at
    /// every pass, so that edits take effect for later occurrences.
    public struct Definitions: Sendable {
        /// The usable campaigns; those without an `at` or `cron` schedule are passed over.
        public var campaigns: [Campaign]
        /// Plans an occurrence of any of `campaigns` (their templates, segments and routing).
        public var planner: Planner
        /// Reads a campaign file's text as it was when an occurrence started (kept with the
        /// occurrence): an occurrence resumed after its campaign was edited is finished with
        /// the definition it started with. Nil: the current definition is used.
        public var restore: (@Sendable (_ text: String, _ file: String) -> Campaign?)?

        public init(campaigns: [Campaign], planner: Planner, restore: (@Sendable (_ text: String, _ file: String) -> Campaign?)? = nil) {
            self.campaigns = campaigns
            self.planner = planner
            self.restore = restore
        }
    }

    /// What the scheduler did about one occurrence.
    public enum Event: Sendable, Hashable {
        /// Planned (`isResumed`: its interrupted planning was finished).
        case planned(campaignID: String, fireAt: Date, result: Planner.Result, isResumed: Bool)
        /// Missed by `missedBy` seconds, not less than the `grace`: recorded as skipped(expired).
        case expired(campaignID: String, fireAt: Date, missedBy: TimeInterval, grace: TimeInterval)
        /// Another scheduler is planning it; left to it.
        case held(campaignID: String, fireAt: Date, owner: String, until: Date)
        /// Planning stopped part way for a graceful shutdown; the lease was released.
        case interrupted(campaignID: String, fireAt: Date)
        /// Planning failed (the lease was released, the next pass tries again), or the campaign
        /// could not be looked at (`fireAt` nil).
        case failed(campaignID: String, fireAt: Date?, message: String)
        /// An unfinished occurrence of a campaign that is no longer usable (removed or broken):
        /// left as it is until the campaign is back.
        case orphaned(campaignID: String, fireAt: Date)
    }

    /// The next fire instant among the campaigns.
    public struct NextOccurrence: Sendable, Hashable {
        /// The campaign that fires first.
        public var campaignID: String
        /// When: in the future, or now when a pass left occurrences for the next (`occurrencesPerPass`).
        public var fireAt: Date
    }

    /// What one pass did.
    public struct Pass: Sendable, Hashable {
        /// What was done, occurrence by occurrence, in order.
        public var events: [Event] = []
        /// The earliest fire instant not handled yet; nil when no campaign fires again.
        public var next: NextOccurrence?
        /// A graceful shutdown stopped the pass early.
        public var isInterrupted = false
    }

    /// `hostname:pid`.
    public static var defaultOwner: String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    }

    let store: any ScheduleStore
    let clock: any WallClock
    let configuration: Configuration
    let definitions: @Sendable () async throws -> Definitions
    let onEvent: @Sendable (Event) async -> Void
    let onPass: @Sendable (Pass) async -> Void
    let logger: Logger

    /// - Parameters:
    ///   - definitions: reads the campaigns and builds their planner; called at every pass. When
    ///     it throws after a first success, the scheduler logs it and keeps the last definitions.
    ///   - onEvent: called as each occurrence is handled (the CLI prints it).
    ///   - onPass: called after each pass of ``run()``, before it sleeps.
    public init(
        store: any ScheduleStore, clock: any WallClock, configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "herald.scheduler"),
        onEvent: @escaping @Sendable (Event) async -> Void = { _ in },
        onPass: @escaping @Sendable (Pass) async -> Void = { _ in },
        definitions: @escaping @Sendable () async throws -> Definitions
    ) {
        self.store = store
        self.clock = clock
        self.configuration = configuration
        self.definitions = definitions
        self.onEvent = onEvent
        self.onPass = onPass
        self.logger = logger
    }

    /// Runs passes until cancelled or shut down gracefully (or, with `runsOnce`, until nothing
    /// is due any more), sleeping on the clock between them until the next fire instant or the
    /// rescan interval, whichever comes first.
    ///
    /// - Throws: when the first reading of the definitions fails; never for a single occurrence
    ///   (those are ``Event/failed(campaignID:fireAt:message:)``).
    public func run() async throws {
        var current: Definitions?
        do {
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                do {
                    current = try await definitions()
                } catch let error where current != nil && !(error is CancellationError) {
                    logger.error("cannot read the campaigns again; scheduling the ones read before", metadata: ["error": "\(error)"])
                }
                guard let definitions = current else { return }
                let pass = try await runPass(definitions)
                await onPass(pass)
                if pass.isInterrupted { return }
                let now = clock.now
                if let next = pass.next, next.fireAt <= now { continue }
                if configuration.runsOnce { return }
                let rescan = now.addingTimeInterval(Self.seconds(configuration.rescanInterval))
                let wake = pass.next.map { min($0.fireAt, rescan) } ?? rescan
                logger.debug("sleeping", metadata: ["scheduler.wake_at": "\(ISO8601.string(from: wake))"])
                try await cancelWhenGracefulShutdown { [clock] in try await clock.sleep(until: wake) }
            }
        } catch is CancellationError {
            // Cancelled or shut down while sleeping or planning: whatever was planning keeps its
            // pages, and the next scheduler resumes it.
        }
    }

    /// One pass at the clock's current time: resumes every interrupted occurrence it can claim,
    /// then records and plans what is due, campaign by campaign.
    ///
    /// - Throws: `CancellationError` only; every other failure is an event.
    public func runPass(_ definitions: Definitions) async throws -> Pass {
        var pass = Pass()
        let now = clock.now
        let campaigns = Dictionary(definitions.campaigns.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        func note(_ event: Event) async {
            pass.events.append(event)
            log(event)
            await onEvent(event)
        }

        let unfinished: [Occurrence]
        do {
            unfinished = try await store.unfinishedScheduledOccurrences()
        } catch let error where !(error is CancellationError) {
            await note(.failed(campaignID: "*", fireAt: nil, message: "\(error)"))
            unfinished = []
        }
        for occurrence in unfinished {
            if Task.isShuttingDownGracefully {
                pass.isInterrupted = true
                return pass
            }
            guard let campaign = campaigns[occurrence.campaignID] else {
                await note(.orphaned(campaignID: occurrence.campaignID, fireAt: occurrence.fireAt))
                continue
            }
            if let event = try await claimAndPlan(campaign, fireAt: occurrence.fireAt, definitions: definitions, now: now) {
                await note(event)
                if case .interrupted = event {
                    pass.isInterrupted = true
                    return pass
                }
            }
        }

        // Occurrences an event triggered whose planning stopped (the process that recorded the
        // event stopped before planning it). Each is left alone for a lease's length, so that
        // the process recording an event at this moment plans it itself.
        let stalled: [StalledTrigger]
        do {
            stalled = try await store.stalledTriggeredOccurrences(
                createdBefore: now.addingTimeInterval(-Self.seconds(configuration.lease)), at: now, limit: configuration.occurrencesPerPass
            )
        } catch let error where !(error is CancellationError) {
            await note(.failed(campaignID: "*", fireAt: nil, message: "\(error)"))
            stalled = []
        }
        for trigger in stalled {
            if Task.isShuttingDownGracefully {
                pass.isInterrupted = true
                return pass
            }
            let occurrence = trigger.occurrence
            guard var campaign = campaigns[occurrence.campaignID] else {
                await note(.orphaned(campaignID: occurrence.campaignID, fireAt: occurrence.fireAt))
                continue
            }
            let claimed: Bool
            do {
                claimed = try await store.claimTriggeredOccurrence(id: occurrence.id, owner: configuration.owner, lease: configuration.lease, at: now)
            } catch let error where !(error is CancellationError) {
                await note(.failed(campaignID: campaign.id, fireAt: occurrence.fireAt, message: "\(error)"))
                continue
            }
            guard claimed else { continue }
            // The event's user only, with the event's properties; no one when the event is gone
            // (its user was erased), which finishes the occurrence with nothing planned.
            if let properties = trigger.event?.properties { campaign.override(properties: properties) }
            let event = try await plan(
                campaign, claimed: occurrence, recipients: [trigger.event?.userID].compactMap { $0 }, planner: definitions.planner
            )
            await note(event)
            if case .interrupted = event {
                pass.isInterrupted = true
                return pass
            }
        }

        for campaign in definitions.campaigns {
            switch campaign.schedule {
            case .manual, .trigger: continue
            case .at, .instant, .cron: break
            }
            let due: ScheduleDue
            do {
                let firstSeen = try await store.firstSeen(campaignID: campaign.id, at: now)
                let last = try await store.lastFireInstant(campaignID: campaign.id)
                due = campaign.due(lastFireAt: last, firstSeen: firstSeen, now: now, limit: configuration.occurrencesPerPass)
            } catch let error where !(error is CancellationError) {
                await note(.failed(campaignID: campaign.id, fireAt: nil, message: "\(error)"))
                continue
            }
            var next = due.next
            for occurrence in due.occurrences {
                if Task.isShuttingDownGracefully {
                    pass.isInterrupted = true
                    return pass
                }
                let event: Event?
                if occurrence.isExpired {
                    event = try await recordExpired(campaign, fireAt: occurrence.fireAt, now: now)
                } else {
                    event = try await claimAndPlan(campaign, fireAt: occurrence.fireAt, definitions: definitions, now: now)
                }
                guard let event else { continue }
                await note(event)
                if case .interrupted = event {
                    pass.isInterrupted = true
                    return pass
                }
                if case .failed = event {
                    // Keep the order of occurrences: the rest wait for the next pass (after the
                    // rescan interval, not at once), which resumes this one first.
                    next = nil
                    break
                }
            }
            if let next, pass.next.map({ next < $0.fireAt }) ?? true {
                pass.next = NextOccurrence(campaignID: campaign.id, fireAt: next)
            }
        }
        return pass
    }

    func recordExpired(_ campaign: Campaign, fireAt: Date, now: Date) async throws -> Event? {
        // In each recipient's zone, what counts is the last recipient's time, 26 hours on.
        let spread = campaign.schedule.recipientSpread
        let missedBy = now.timeIntervalSince(fireAt) - spread
        let grace = campaign.catchUpGrace
        let limit = campaign.expiresAfter.map { "expires_after \($0)" } ?? "the grace of 1h (no expires_after)"
        let what = spread > 0 ? "occurrence of \(ISO8601.string(from: fireAt)) in each recipient's zone, its last recipient's time" : "occurrence of \(ISO8601.string(from: fireAt))"
        let detail = "\(what) missed by \(Self.describe(missedBy)), not less than \(limit)"
        do {
            let recorded = try await store.recordExpiredOccurrence(
                campaignID: campaign.id, fireAt: fireAt, definitionHash: campaign.definitionHash, detail: detail, at: now
            )
            return recorded ? .expired(campaignID: campaign.id, fireAt: fireAt, missedBy: missedBy, grace: grace) : nil
        } catch let error where !(error is CancellationError) {
            return .failed(campaignID: campaign.id, fireAt: fireAt, message: "\(error)")
        }
    }

    /// Claims the occurrence and plans it while holding the lease; nil when there is nothing
    /// to do (planned or expired before).
    func claimAndPlan(_ campaign: Campaign, fireAt: Date, definitions: Definitions, now: Date) async throws -> Event? {
        var campaign = campaign
        let claim: OccurrenceClaim
        do {
            claim = try await store.claimOccurrence(
                campaignID: campaign.id, fireAt: fireAt, definitionHash: campaign.definitionHash, definitionText: campaign.definitionText,
                owner: configuration.owner, lease: configuration.lease, at: now
            )
        } catch let error where !(error is CancellationError) {
            return .failed(campaignID: campaign.id, fireAt: fireAt, message: "\(error)")
        }
        let occurrence: Occurrence
        switch claim {
        case .created(let created):
            occurrence = created
        case .resumed(let resumed):
            occurrence = resumed
            if resumed.definitionHash != campaign.definitionHash {
                // Edited since the occurrence started: the rest of its recipients get what the
                // first ones got, from the campaign's text as it was then.
                if let text = resumed.definitionText, let original = definitions.restore?(text, campaign.file),
                   original.id == campaign.id, original.definitionHash == resumed.definitionHash {
                    campaign = original
                    logger.notice("resuming an occurrence whose campaign was edited since it started, with the definition it started with", metadata: [
                        "campaign.id": "\(campaign.id)", "occurrence.id": "\(resumed.id)",
                    ])
                } else {
                    logger.warning(
                        "resuming an occurrence whose campaign was edited since it started, and whose first definition cannot be read again; recipients not planned yet get the edited campaign",
                        metadata: ["campaign.id": "\(campaign.id)", "occurrence.id": "\(resumed.id)"]
                    )
                }
            }
        case .held(let owner, let until):
            return .held(campaignID: campaign.id, fireAt: fireAt, owner: owner, until: until)
        case .planned, .expired:
            return nil
        }
        return try await plan(campaign, claimed: occurrence, planner: definitions.planner)
    }

    /// Plans an occurrence this scheduler claimed, for its audience or for `recipients`, while
    /// holding the lease.
    func plan(_ campaign: Campaign, claimed occurrence: Occurrence, recipients: [String]? = nil, planner: Planner) async throws -> Event {
        let fireAt = occurrence.fireAt
        do {
            let result = try await planHoldingLease(campaign, occurrence: occurrence, recipients: recipients, planner: planner)
            return .planned(campaignID: campaign.id, fireAt: fireAt, result: result, isResumed: !occurrence.isNew)
        } catch {
            let shuttingDown = Task.isShuttingDownGracefully
            if error is LeaseLost {
                // Another scheduler took the occurrence over (this one stalled past its lease):
                // it finishes the planning; what this one wrote stays, keyed by user and channel.
                return .held(campaignID: campaign.id, fireAt: fireAt, owner: "another scheduler", until: clock.now)
            }
            try? await store.releaseOccurrenceLease(id: occurrence.id, owner: configuration.owner)
            if shuttingDown { return .interrupted(campaignID: campaign.id, fireAt: fireAt) }
            if error is CancellationError { throw error }
            return .failed(campaignID: campaign.id, fireAt: fireAt, message: "\(error)")
        }
    }

    /// Plans while a second task renews the lease every third of its length; a graceful
    /// shutdown cancels both (the planner stops between pages).
    func planHoldingLease(_ campaign: Campaign, occurrence: Occurrence, recipients: [String]?, planner: Planner) async throws -> Planner.Result {
        try await cancelWhenGracefulShutdown { [self] in
            try await withThrowingTaskGroup(of: Planner.Result?.self) { group in
                group.addTask { try await planner.plan(campaign, occurrence: occurrence, recipients: recipients) }
                group.addTask {
                    let interval = Self.seconds(configuration.lease) / 3
                    while true {
                        try await clock.sleep(until: clock.now.addingTimeInterval(interval))
                        guard try await store.renewOccurrenceLease(id: occurrence.id, owner: configuration.owner, lease: configuration.lease, at: clock.now) else {
                            throw LeaseLost()
                        }
                    }
                }
                while let value = try await group.next() {
                    if let result = value {
                        group.cancelAll()
                        return result
                    }
                }
                throw CancellationError()
            }
        }
    }

    func log(_ event: Event) {
        switch event {
        case .planned(let campaignID, let fireAt, let result, let isResumed):
            logger.info(isResumed ? "resumed occurrence" : "planned occurrence", metadata: [
                "campaign.id": "\(campaignID)", "occurrence.fire_at": "\(ISO8601.string(from: fireAt))",
                "occurrence.id": "\(result.occurrence.id)", "planned": "\(result.summary.planned)",
            ])
        case .expired(let campaignID, let fireAt, _, _):
            logger.notice("occurrence expired", metadata: ["campaign.id": "\(campaignID)", "occurrence.fire_at": "\(ISO8601.string(from: fireAt))"])
        case .held(let campaignID, let fireAt, let owner, _):
            logger.info("occurrence held by another scheduler", metadata: [
                "campaign.id": "\(campaignID)", "occurrence.fire_at": "\(ISO8601.string(from: fireAt))", "lease.owner": "\(owner)",
            ])
        case .interrupted(let campaignID, let fireAt):
            logger.notice("planning interrupted by shutdown", metadata: ["campaign.id": "\(campaignID)", "occurrence.fire_at": "\(ISO8601.string(from: fireAt))"])
        case .failed(let campaignID, let fireAt, let message):
            logger.error("scheduling failed", metadata: [
                "campaign.id": "\(campaignID)", "occurrence.fire_at": "\(fireAt.map(ISO8601.string(from:)) ?? "-")", "error": "\(message)",
            ])
        case .orphaned(let campaignID, let fireAt):
            logger.warning("unfinished occurrence of a campaign that cannot be used", metadata: [
                "campaign.id": "\(campaignID)", "occurrence.fire_at": "\(ISO8601.string(from: fireAt))",
            ])
        }
    }

    /// `3h 5m`, `45s`: how late an occurrence was.
    public static func describe(_ interval: TimeInterval) -> String {
        let total = Int(interval.rounded(.down))
        let days = total / 86_400, hours = total % 86_400 / 3600, minutes = total % 3600 / 60, seconds = total % 60
        let parts = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")].filter { $0.0 > 0 }.prefix(2)
        return parts.isEmpty ? "0s" : parts.map { "\($0.0)\($0.1)" }.joined(separator: " ")
    }

    static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}

/// The planning lease was taken over by another scheduler.
struct LeaseLost: Error {}
