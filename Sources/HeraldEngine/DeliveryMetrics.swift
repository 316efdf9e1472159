import HeraldCore
import Metrics

/// What the dispatchers report to swift-metrics: sends by channel, provider and outcome, and how
/// long each provider request took. A process that serves `/metrics` (`herald run`) bootstraps a
/// Prometheus factory and shows them; elsewhere they go to swift-metrics' no-op default.
enum DeliveryMetrics {
    static func record(_ outcomes: [DeliveryOutcome], channel: Channel, provider: String, duration: Duration) {
        var counts: [String: Int] = [:]
        for outcome in outcomes { counts[kind(outcome), default: 0] += 1 }
        for (outcome, count) in counts {
            Counter(label: "herald_sends_total", dimensions: [("channel", channel.rawValue), ("provider", provider), ("outcome", outcome)])
                .increment(by: count)
        }
        Timer(label: "herald_provider_request_duration_seconds", dimensions: [("channel", channel.rawValue), ("provider", provider)])
            .recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    static func kind(_ outcome: DeliveryOutcome) -> String {
        switch outcome {
        case .accepted: "accepted"
        case .retry: "retry"
        case .throttled: "throttled"
        case .rejected: "rejected"
        case .deadAddress: "dead_address"
        case .optedOut: "opted_out"
        case .misconfigured: "misconfigured"
        }
    }
}
