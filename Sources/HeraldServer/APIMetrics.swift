import Foundation
import HeraldCore
import Hummingbird
import Logging
import NIOCore
import Prometheus
import Synchronization

/// `/metrics` in Prometheus' text format: the API's requests by route, method and status with
/// their latency; the outbox per channel and provider (queued, due now, in flight, retrying,
/// dead, and how long the oldest due row has waited), read from the store at each scrape; and,
/// in a process that also delivers (`herald run`), the dispatchers' sends by outcome and their
/// provider request latency, through swift-metrics.
///
/// Labels are route patterns (`/v1/users/{id}`), never a URL with a user id or a token in it.
public final class APIMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// The outbox lanes (channel, provider) a scrape has shown: a lane that drains out of the
    /// outbox reads 0 on later scrapes instead of keeping its last figures.
    private let lanes = Mutex<Set<[String]>>([])

    static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    func request(route: String, method: String, status: Int, duration: Duration) {
        let labels = [("route", route), ("method", method), ("status", String(status))]
        registry.makeCounter(name: "herald_api_requests_total", labels: labels, help: "API requests by route, method and status").increment()
        registry.makeDurationHistogram(
            name: "herald_api_request_duration_seconds", labels: [("route", route), ("method", method)], buckets: Self.latencyBuckets,
            help: "API request latency by route"
        ).record(duration)
    }

    /// The text of a scrape, after reading the outbox.
    func scrape(store: any OutboxInspection, now: Date) async throws -> [UInt8] {
        let snapshot = try await store.queueSnapshot(at: now)
        var shown: Set<[String]> = []
        for row in snapshot.rows {
            let lane = [row.channel.rawValue, row.provider.isEmpty ? "none" : row.provider]
            shown.insert(lane)
            setGauges(lane: lane, values: [
                Double(row.queued), Double(row.dueNow), Double(row.inFlight), Double(row.retrying), Double(row.dead),
                row.oldestDueAt.map { max(0, now.timeIntervalSince($0)) } ?? 0,
            ])
        }
        let drained = lanes.withLock { lanes in
            let drained = lanes.subtracting(shown)
            lanes.formUnion(shown)
            return drained
        }
        for lane in drained { setGauges(lane: lane, values: Array(repeating: 0, count: Self.outboxGauges.count)) }
        return registry.emitToBuffer()
    }

    /// The outbox gauges of a lane, in the order `setGauges` takes their values.
    static let outboxGauges: [(name: String, help: String)] = [
        ("herald_outbox_queued", "Notifications in the outbox"),
        ("herald_outbox_due", "Outbox rows due now and free to claim"),
        ("herald_outbox_in_flight", "Outbox rows leased to a dispatcher"),
        ("herald_outbox_retrying", "Outbox rows waiting for a retry"),
        ("herald_dead_notifications", "Notifications that ran out of attempts"),
        ("herald_outbox_oldest_due_age_seconds", "How long the oldest due row has waited (0 when none is due)"),
    ]

    private func setGauges(lane: [String], values: [Double]) {
        let labels = [("channel", lane[0]), ("provider", lane[1])]
        for (gauge, value) in zip(Self.outboxGauges, values) {
            registry.makeGauge(name: gauge.name, labels: labels, help: gauge.help).set(value)
        }
    }
}

/// Times every request and counts it by its route pattern, method and status.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    let metrics: APIMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        func route() -> String {
            // The matched pattern, `{id}` for a capture; unmatched paths are one label.
            guard let path = context.endpointPath else { return "unmatched" }
            return "/" + path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
        }
        func record(_ status: Int) {
            let duration = ContinuousClock.now - started
            let route = route()
            metrics.request(route: route, method: request.method.rawValue, status: status, duration: duration)
            logger.info("request", metadata: [
                "method": "\(request.method.rawValue)", "route": "\(route)", "status": "\(status)",
                "duration_ms": "\(String(format: "%.2f", Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1000))",
            ])
        }
        do {
            let response = try await next(request, context)
            record(response.status.code)
            return response
        } catch let error as any HTTPResponseError {
            record(error.status.code)
            throw error
        } catch {
            record(500)
            throw error
        }
    }
}
