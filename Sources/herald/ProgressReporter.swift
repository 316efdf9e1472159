#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A progress bar on standard error for long work such as planning a large audience:
/// done/total, a bar, the rate per second and the ETA, redrawn in place with `\r` at most ten
/// times a second (`ProgressThrottle`), and a final line ended with a newline by `finish()`.
///
/// Disabled, it writes nothing at all: `standardError(label:quiet:)` disables it when standard
/// error is not a terminal (a pipe, a file, CI) or with `--quiet`, so logs and scripts never see
/// a `\r`. Safe to call from concurrent tasks: the state is behind a `Mutex`, and `done` only
/// grows (a late report of a smaller count is ignored).
///
/// ```swift
/// let progress = ProgressReporter.standardError(label: "planning", quiet: options.quiet)
/// try await planner.plan(occurrence, progress: progress.hook)  // hook(done, total) per page
/// progress.finish()
/// // planning 590,111/590,111 [████████████████████████████████████████] 100%  49,176/s  in 12s
/// ```
final class ProgressReporter<C: Clock>: Sendable where C.Duration == Duration {
    private struct State: Sendable {
        var done = 0
        var total: Int?
        var throttle: ProgressThrottle
        /// The columns of the line on screen, to blank out what a shorter line leaves; 0 before
        /// the first draw.
        var drawnWidth = 0
        var isFinished = false
    }

    /// Whether anything is ever written.
    let isEnabled: Bool
    let line: ProgressLine
    /// The terminal's width; lines never exceed it, since a wrapped line cannot be redrawn.
    let width: Int
    private let clock: C
    private let start: C.Instant
    private let write: @Sendable (String) -> Void
    private let state: Mutex<State>

    /// - Parameters:
    ///   - isEnabled: `false` writes nothing, whatever is reported.
    ///   - interval: the shortest time between two redraws.
    ///   - write: where the text goes, e.g. standard error; called with the reporter's lock held,
    ///     so that lines from concurrent updates never interleave.
    init(
        label: String, isEnabled: Bool, width: Int = 80, clock: C, interval: Duration = .milliseconds(100),
        write: @escaping @Sendable (String) -> Void
    ) {
        self.isEnabled = isEnabled
        line = ProgressLine(label: label)
        self.width = width
        self.clock = clock
        start = clock.now
        self.write = write
        state = Mutex(State(throttle: ProgressThrottle(interval: interval)))
    }

    /// Reports that `done` items of `total` (`nil`: not known yet) are done; redraws unless the
    /// last redraw was less than the interval ago.
    func update(done: Int, total: Int?) {
        record(total: total) { $0 = max($0, done) }
    }

    /// Adds `count` to what is done: for workers that each know only their own share.
    func advance(by count: Int, total: Int? = nil) {
        record(total: total) { $0 += count }
    }

    private func record(total: Int?, _ change: (inout Int) -> Void) {
        guard isEnabled else { return }
        state.withLock { state in
            guard !state.isFinished else { return }
            change(&state.done)
            if let total { state.total = total }
            if state.throttle.shouldDraw(at: start.duration(to: clock.now)) {
                draw(&state)
            }
        }
    }

    /// `hook(done, total)`: what a planner calls after each page, e.g. `plan(…, progress: progress.hook)`.
    var hook: @Sendable (_ done: Int, _ total: Int?) -> Void {
        { [self] done, total in update(done: done, total: total) }
    }

    /// Draws the final line and ends it with a newline; nothing when nothing was drawn. Later
    /// updates are ignored.
    func finish() {
        guard isEnabled else { return }
        state.withLock { state in
            guard !state.isFinished else { return }
            state.isFinished = true
            guard state.drawnWidth > 0 else { return }
            _ = state.throttle.shouldDraw(at: start.duration(to: clock.now), force: true)
            draw(&state)
            write("\n")
        }
    }

    private func draw(_ state: inout State) {
        let text = line.render(done: state.done, total: state.total, elapsed: start.duration(to: clock.now), width: width)
        let blank = String(repeating: " ", count: max(0, state.drawnWidth - text.count))
        write("\r" + text + blank)
        state.drawnWidth = text.count
    }
}

extension ProgressReporter where C == ContinuousClock {
    /// A reporter on standard error, enabled only when standard error is a terminal and not
    /// `quiet`, as wide as that terminal (`COLUMNS` when set, else 80 when it cannot be read).
    static func standardError(label: String, quiet: Bool) -> ProgressReporter<ContinuousClock> {
        let isTerminal = isatty(STDERR_FILENO) == 1
        return ProgressReporter(
            label: label, isEnabled: isTerminal && !quiet, width: isTerminal ? standardErrorWidth() : 80, clock: ContinuousClock()
        ) { text in
            FileHandle.standardError.write(Data(text.utf8))
        }
    }

    /// Like `Terminal.width`, for standard error, which is where progress goes.
    private static func standardErrorWidth() -> Int {
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns > 0 {
            return columns
        }
        var size = winsize()
        guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }
}
