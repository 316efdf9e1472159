import Foundation

/// The faults the sandbox injects, per provider (`--faults FILE`).
public struct FaultPlan: Sendable, Hashable {
    public var providers: [SandboxProvider: ProviderFaults]
    /// Seeds the draws of error rates and latencies, so that a run can be repeated. Default 1.
    public var seed: UInt64
    /// What the outages' `from` and `to` count from. Default ``OutageOrigin/start``.
    public var outagesFrom: OutageOrigin

    /// The instant an outage window is counted from.
    public enum OutageOrigin: String, Sendable, Hashable {
        /// The sandbox started.
        case start
        /// The sandbox received its first provider request: an outage then falls inside the
        /// delivery of whatever was planned while the sandbox sat idle.
        case firstRequest = "first_request"
    }

    public init(providers: [SandboxProvider: ProviderFaults] = [:], seed: UInt64 = 1, outagesFrom: OutageOrigin = .start) {
        self.providers = providers
        self.seed = seed
        self.outagesFrom = outagesFrom
    }

    public subscript(provider: SandboxProvider) -> ProviderFaults {
        providers[provider] ?? ProviderFaults()
    }
}

/// What goes wrong with one provider.
public struct ProviderFaults: Sendable, Hashable {
    /// The share of requests answered with each HTTP status (e.g. 429: 0.05, 503: 0.01), with
    /// the provider's own error body. For SMTP, the reply code to DATA (451, 554).
    public var errorRates: [Int: Double]
    /// How long each answer takes.
    public var latency: Latency?
    /// Intervals, in seconds since the sandbox started (or since its first provider request, by
    /// ``FaultPlan/outagesFrom``), during which every request gets a 503 (SMTP: a 421 greeting).
    public var outages: [Outage]
    /// The Retry-After (seconds) sent with injected 429 and 503 answers. Default none.
    public var retryAfter: Int?
    /// Addresses (E.164 numbers or emails) the provider refuses as invalid.
    public var invalid: Set<String>
    /// Addresses the provider accepts but cannot deliver to (a handset off, a mailbox full):
    /// played back as a failed delivery.
    public var unreachable: Set<String>
    /// Addresses whose owner opted out (SMS STOP, an unsubscribe, a spam complaint).
    public var optedOut: Set<String>
    /// The share of requests that get no answer for two minutes (the client times out first);
    /// such a request is not recorded and has no effect, like one lost on the way. Default 0.
    public var timeoutRate: Double

    public init(
        errorRates: [Int: Double] = [:], latency: Latency? = nil, outages: [Outage] = [], retryAfter: Int? = nil,
        invalid: Set<String> = [], unreachable: Set<String> = [], optedOut: Set<String> = [], timeoutRate: Double = 0
    ) {
        self.timeoutRate = timeoutRate
        self.errorRates = errorRates
        self.latency = latency
        self.outages = outages
        self.retryAfter = retryAfter
        self.invalid = invalid
        self.unreachable = unreachable
        self.optedOut = optedOut
    }

    /// A delay distribution, in milliseconds.
    public enum Latency: Sendable, Hashable {
        case fixed(Double)
        case uniform(min: Double, max: Double)
        /// Normal, cut at zero.
        case normal(mean: Double, standardDeviation: Double)
    }

    public struct Outage: Sendable, Hashable {
        public var start: Double
        public var end: Double
        public init(start: Double, end: Double) {
            self.start = start
            self.end = end
        }
    }
}

/// Draws the faults of each request: a pure state machine over a seeded generator, so that a
/// fault plan gives the same sequence of answers every run.
struct FaultDraw {
    private var state: UInt64
    /// Whether outages count from the first request rather than the sandbox's start.
    let outagesFromFirstRequest: Bool
    /// Seconds from the sandbox's start to its first provider request, once there was one.
    private(set) var firstRequest: Double?

    init(seed: UInt64, outagesFrom: FaultPlan.OutageOrigin = .start) {
        state = seed
        outagesFromFirstRequest = outagesFrom == .firstRequest
    }

    /// Whether a request `elapsed` seconds after the sandbox started falls in one of `faults`'
    /// outages. Every provider request passes here (whatever its provider's faults), so the
    /// first one sets the origin of ``FaultPlan/OutageOrigin/firstRequest``.
    mutating func isInOutage(_ faults: ProviderFaults, elapsed: Double) -> Bool {
        let origin = firstRequest ?? elapsed
        firstRequest = origin
        let since = outagesFromFirstRequest ? elapsed - origin : elapsed
        return faults.outages.contains { since >= $0.start && since < $0.end }
    }

    /// A uniform number in [0, 1): SplitMix64.
    mutating func next() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        value ^= value >> 31
        return Double(value >> 11) / Double(1 << 53)
    }

    /// The injected status for one request, or nil; statuses are tried in ascending order so that
    /// the draw does not depend on dictionary order.
    mutating func status(for faults: ProviderFaults, elapsed: Double) -> Int? {
        if isInOutage(faults, elapsed: elapsed) { return 503 }
        guard !faults.errorRates.isEmpty else { return nil }
        var point = next()
        for (status, rate) in faults.errorRates.sorted(by: { $0.key < $1.key }) {
            if point < rate { return status }
            point -= rate
        }
        return nil
    }

    /// Whether one request gets no answer (`timeout_rate`).
    mutating func hangs(_ faults: ProviderFaults) -> Bool {
        faults.timeoutRate > 0 && next() < faults.timeoutRate
    }

    /// The delay of one answer.
    mutating func delay(for faults: ProviderFaults) -> Duration? {
        guard let latency = faults.latency else { return nil }
        let milliseconds: Double
        switch latency {
        case .fixed(let value):
            milliseconds = value
        case .uniform(let low, let high):
            milliseconds = low + (high - low) * next()
        case .normal(let mean, let deviation):
            // Box–Muller.
            let u1 = max(next(), 1e-12), u2 = next()
            milliseconds = mean + deviation * (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
        }
        return milliseconds > 0 ? .microseconds(Int64(min(milliseconds, 600_000) * 1000)) : nil
    }
}
