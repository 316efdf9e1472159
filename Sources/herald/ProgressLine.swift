import Foundation
import HeraldCore

/// One line of a progress bar, as text: what `ProgressReporter` draws, a pure function of the
/// numbers so that tests compare exact strings.
///
/// ```swift
/// ProgressLine(label: "planning").render(done: 150_000, total: 590_111, elapsed: .seconds(12), width: 80)
/// // "planning 150,000/590,111 [███████▎                     ]  25%  12,500/s  ETA 35s"
/// ProgressLine(label: "planning").render(done: 150_000, total: nil, elapsed: .seconds(12), width: 80)
/// // "planning 150,000  12,500/s  12s"
/// ```
struct ProgressLine: Sendable, Hashable {
    /// Printed first, e.g. `planning`; empty for none.
    var label: String
    /// The longest bar, in columns between its brackets.
    var maximumBarWidth = 40
    /// A narrower bar is left out: it would show too little to be worth the room.
    var minimumBarWidth = 10

    /// The line for `done` of `total` (`nil`: unknown) after `elapsed`, at most `width` columns.
    ///
    /// The rate is the average since the start (`-/s` until something is done); the ETA is what
    /// remains at that rate. Once `done` reaches `total`, `ETA` gives way to the time taken
    /// (`in 1m12s`).
    func render(done: Int, total: Int?, elapsed: Duration, width: Int) -> String {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = done > 0 && seconds > 0 ? Double(done) / seconds : nil
        let rateText = rate.map { ReportFormatter.grouped(Int($0.rounded())) + "/s" } ?? "-/s"
        let prefix = label.isEmpty ? "" : label + " "
        guard let total, total > 0 else {
            return Self.fit(prefix + "\(ReportFormatter.grouped(done))  \(rateText)  \(Self.duration(seconds))", width: width)
        }
        let clamped = min(max(done, 0), total)
        let counts = "\(ReportFormatter.grouped(done))/\(ReportFormatter.grouped(total))"
        let percent = String(repeating: " ", count: 3 - String(clamped * 100 / total).count) + "\(clamped * 100 / total)%"
        let timing: String
        if done >= total {
            timing = "in " + Self.duration(seconds)
        } else if let rate {
            timing = "ETA " + Self.duration(Double(total - done) / rate)
        } else {
            timing = "ETA -"
        }
        let tail = " \(percent)  \(rateText)  \(timing)"
        let room = width - prefix.count - counts.count - tail.count - 3
        guard room >= minimumBarWidth else { return Self.fit(prefix + counts + tail, width: width) }
        let barWidth = min(room, maximumBarWidth)
        return prefix + counts + " [" + Self.bar(clamped, of: total, width: barWidth) + "]" + tail
    }

    /// Full blocks and one partial block, in eighths, padded with spaces to `width`.
    static func bar(_ done: Int, of total: Int, width: Int) -> String {
        let eighths = done * width * 8 / total
        let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        let filled = String(repeating: "█", count: eighths / 8) + partial[eighths % 8]
        return filled + String(repeating: " ", count: width - filled.count)
    }

    /// `12s`, `1m05s`, `2h03m`: rounded to the second.
    static func duration(_ seconds: Double) -> String {
        let whole = seconds.isFinite ? Int(max(0, seconds).rounded()) : 0
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m" + String(format: "%02ds", whole % 60) }
        return "\(whole / 3600)h" + String(format: "%02dm", whole / 60 % 60)
    }

    /// The line cut to `width` columns: a progress line that wraps cannot be redrawn in place.
    static func fit(_ line: String, width: Int) -> String {
        line.count <= width ? line : String(line.prefix(max(0, width)))
    }
}
