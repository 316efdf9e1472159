import Foundation
import HeraldCore
import Logging
import ServiceLifecycle

/// The dispatchers of a process as one long-running service (`herald worker`, `herald run`):
/// every channel's lanes deliver at once, and none waits on another.
///
/// On graceful shutdown (SIGTERM, SIGINT) it stops claiming, lets the sends in flight finish
/// until `shutdownDeadline`, gives back what was claimed but not sent, gives back as "may have
/// been sent" what a provider still holds at the deadline (repeated after a restart with the same
/// idempotency id), and returns.
///
/// ```swift
/// let delivery = DeliveryService(dispatchers: dispatchers, signal: signal, clock: SystemWallClock())
/// try await ServiceGroup(services: [delivery], gracefulShutdownSignals: [.sigterm], logger: logger).run()
/// ```
public struct DeliveryService: Service {
    public struct Configuration: Sendable {
        /// How long sends already at a provider may take to finish after a shutdown signal.
        /// Default 10 seconds.
        public var shutdownDeadline: Duration

        public init(shutdownDeadline: Duration = .seconds(10)) {
            self.shutdownDeadline = shutdownDeadline
        }
    }

    let dispatchers: [Dispatcher]
    let signal: WorkSignal
    let clock: any WallClock
    let configuration: Configuration
    let health: DeliveryHealth?
    let roster: WorkerRoster?
    let onStop: @Sendable ([Channel: Dispatcher.Summary]) async -> Void

    /// - Parameters:
    ///   - dispatchers: one per channel to deliver; they should share `signal`.
    ///   - health: records provider health and raises alerts while the dispatchers run.
    ///   - roster: announces this worker before the first claim and while the dispatchers run,
    ///     so that the workers on the database divide each provider's rate; withdraws it after.
    ///   - onStop: told what each channel did, once every lane has stopped.
    public init(
        dispatchers: [Dispatcher], signal: WorkSignal, clock: any WallClock, configuration: Configuration = Configuration(),
        health: DeliveryHealth? = nil, roster: WorkerRoster? = nil,
        onStop: @escaping @Sendable ([Channel: Dispatcher.Summary]) async -> Void = { _ in }
    ) {
        self.health = health
        self.roster = roster
        self.dispatchers = dispatchers
        self.signal = signal
        self.clock = clock
        self.configuration = configuration
        self.onStop = onStop
    }

    public func run() async throws {
        // Its share of each provider's rate before its first send (the roster's loop logs a
        // failure when its next announcement fails too).
        _ = try? await roster?.announce(at: clock.now)
        let summaries = await withGracefulShutdownHandler {
            await withTaskGroup(of: (Channel, Dispatcher.Summary)?.self) { group in
                for dispatcher in dispatchers {
                    group.addTask { (dispatcher.channel, await dispatcher.run()) }
                }
                if let health {
                    group.addTask {
                        await health.run(clock: clock, signal: signal)
                        return nil
                    }
                }
                if let roster {
                    group.addTask {
                        await roster.run(clock: clock, signal: signal)
                        return nil
                    }
                }
                var summaries: [Channel: Dispatcher.Summary] = [:]
                for await finished in group {
                    guard let (channel, summary) = finished else { continue }
                    summaries[channel] = (summaries[channel] ?? Dispatcher.Summary()) + summary
                }
                return summaries
            }
        } onGracefulShutdown: { [signal, clock, configuration] in
            signal.stop(deadline: clock.now.addingTimeInterval(configuration.shutdownDeadline.timeInterval))
        }
        await roster?.withdraw()
        await onStop(summaries)
    }
}
