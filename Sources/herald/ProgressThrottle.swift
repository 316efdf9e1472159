/// When to redraw a progress line: at most once per `interval`, and always for the last one.
///
/// A pure state machine over elapsed times, so that tests drive it without a clock:
///
/// ```swift
/// var throttle = ProgressThrottle(interval: .milliseconds(100))
/// throttle.shouldDraw(at: .zero)                // true: the first update is drawn
/// throttle.shouldDraw(at: .milliseconds(40))    // false
/// throttle.shouldDraw(at: .milliseconds(100))   // true
/// throttle.shouldDraw(at: .milliseconds(120), force: true)  // true: the final line
/// ```
struct ProgressThrottle: Sendable, Hashable {
    /// The shortest time between two draws. Default 100 ms: ten redraws a second.
    var interval: Duration
    /// When the last line was drawn; `nil` before the first.
    private(set) var lastDraw: Duration?

    init(interval: Duration = .milliseconds(100)) {
        self.interval = interval
    }

    /// Whether to draw now, `elapsed` after the start; records the draw when it says yes.
    mutating func shouldDraw(at elapsed: Duration, force: Bool = false) -> Bool {
        if !force, let lastDraw, elapsed - lastDraw < interval { return false }
        lastDraw = elapsed
        return true
    }
}
