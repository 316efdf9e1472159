import Foundation
import Yams

extension FaultPlan {
    /// Reads a faults file (`herald sandbox --faults FILE`):
    ///
    /// ```yaml
    /// seed: 7
    /// twilio:
    ///   error_rate: {429: 0.05, 503: 0.01}        # share of requests per status (SMTP: reply code to DATA)
    ///   latency: {min: 20ms, max: 200ms}          # or 50ms, or {mean: 100ms, stddev: 30ms}
    ///   outages: [{from: 30s, to: 60s}]           # seconds since the sandbox started (or see outages_from)
    ///   retry_after: 5                            # seconds, on injected 429 and 503
    ///   timeout_rate: 0.02                        # share of requests left unanswered (not recorded)
    ///   invalid: ["+15551230000"]
    ///   unreachable: ["+15551230001"]
    ///   opted_out: ["+15551230002"]
    /// sendgrid: {error_rate: {500: 0.02}}
    /// outages_from: first_request                 # count outages from the first provider request (default: start)
    /// ```
    ///
    /// - Throws: ``SandboxError`` naming `file:line:column` and what would be valid.
    public static func load(yaml text: String, file: String) throws -> FaultPlan {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw SandboxError("\(file): not valid YAML: \(error)")
        }
        var plan = FaultPlan()
        guard let node else { return plan }
        func fail(_ message: String, at node: Node) -> SandboxError {
            let line = node.mark?.line ?? 1, column = node.mark?.column ?? 1
            return SandboxError("\(file):\(line):\(column): \(message)")
        }
        guard let root = node.mapping else { throw fail("expected a mapping of providers (twilio, vonage, sendgrid, mandrill, smtp), seed and outages_from", at: node) }
        let providers = SandboxProvider.allCases.map(\.rawValue)
        for (keyNode, value) in root {
            let key = keyNode.string ?? ""
            if key == "seed" {
                guard let seed = value.int, seed >= 0 else { throw fail("seed must be a whole number ≥ 0", at: value) }
                plan.seed = UInt64(seed)
                continue
            }
            if key == "outages_from" {
                guard let origin = value.string.flatMap(FaultPlan.OutageOrigin.init(rawValue:)) else {
                    throw fail("outages_from is start (the default) or first_request", at: value)
                }
                plan.outagesFrom = origin
                continue
            }
            guard let provider = SandboxProvider(rawValue: key) else {
                throw fail("unknown provider '\(key)'\(suggestion(key, providers + ["seed", "outages_from"]))", at: keyNode)
            }
            guard let fields = value.mapping else { throw fail("the faults of \(key) must be a mapping, e.g. {error_rate: {429: 0.05}}", at: value) }
            var faults = ProviderFaults()
            let known = ["error_rate", "latency", "outages", "retry_after", "invalid", "unreachable", "opted_out", "timeout_rate"]
            for (fieldNode, fieldValue) in fields {
                let field = fieldNode.string ?? ""
                switch field {
                case "error_rate":
                    guard let rates = fieldValue.mapping else { throw fail("error_rate must map statuses to shares, e.g. {429: 0.05}", at: fieldValue) }
                    var total = 0.0
                    for (statusNode, rateNode) in rates {
                        guard let status = statusNode.int, (400...599).contains(status) else {
                            throw fail("'\(statusNode.string ?? "")' is not an error status (400–599)", at: statusNode)
                        }
                        guard let rate = rateNode.float, rate >= 0, rate <= 1 else { throw fail("a share is a number from 0 to 1", at: rateNode) }
                        faults.errorRates[status] = rate
                        total += rate
                    }
                    if total > 1 { throw fail("the shares add up to \((total * 1000).rounded() / 1000), more than 1", at: fieldValue) }
                case "latency":
                    faults.latency = try latency(fieldValue, fail: fail)
                case "outages":
                    guard let items = fieldValue.sequence else { throw fail("outages is a list like [{from: 30s, to: 60s}]", at: fieldValue) }
                    for item in items {
                        guard let window = item.mapping, let from = window["from"], let to = window["to"],
                              let start = seconds(from), let end = seconds(to), end > start
                        else { throw fail("an outage is {from: 30s, to: 60s}, with to after from", at: item) }
                        faults.outages.append(ProviderFaults.Outage(start: start, end: end))
                    }
                case "retry_after":
                    guard let value = fieldValue.int, value >= 0 else { throw fail("retry_after is a whole number of seconds", at: fieldValue) }
                    faults.retryAfter = value
                case "timeout_rate":
                    guard let rate = fieldValue.float, rate >= 0, rate <= 1 else { throw fail("timeout_rate is a share from 0 to 1", at: fieldValue) }
                    faults.timeoutRate = rate
                case "invalid", "unreachable", "opted_out":
                    guard let items = fieldValue.sequence else { throw fail("\(field) is a list of addresses", at: fieldValue) }
                    let addresses = Set(items.compactMap(\.string))
                    switch field {
                    case "invalid": faults.invalid = addresses
                    case "unreachable": faults.unreachable = addresses
                    default: faults.optedOut = addresses
                    }
                default:
                    throw fail("unknown field '\(field)' in the faults of \(key)\(suggestion(field, known))", at: fieldNode)
                }
            }
            plan.providers[provider] = faults
        }
        return plan
    }

    private static func latency(_ node: Node, fail: (String, Node) -> SandboxError) throws -> ProviderFaults.Latency {
        if let fixed = milliseconds(node) { return .fixed(fixed) }
        guard let fields = node.mapping else { throw fail("latency is 50ms, {min: 20ms, max: 200ms} or {mean: 100ms, stddev: 30ms}", node) }
        if let min = fields["min"].flatMap(milliseconds), let max = fields["max"].flatMap(milliseconds), max >= min {
            return .uniform(min: min, max: max)
        }
        if let mean = fields["mean"].flatMap(milliseconds), let deviation = fields["stddev"].flatMap(milliseconds) {
            return .normal(mean: mean, standardDeviation: deviation)
        }
        throw fail("latency is 50ms, {min: 20ms, max: 200ms} or {mean: 100ms, stddev: 30ms}", node)
    }

    /// `250ms`, `2s`, or a bare number of milliseconds.
    static func milliseconds(_ node: Node) -> Double? {
        guard let text = node.string?.trimmingCharacters(in: .whitespaces) else { return nil }
        if text.hasSuffix("ms") { return Double(text.dropLast(2)) }
        if text.hasSuffix("s") { return Double(text.dropLast()).map { $0 * 1000 } }
        return Double(text)
    }

    /// `30s`, `2m`, or a bare number of seconds.
    static func seconds(_ node: Node) -> Double? {
        guard let text = node.string?.trimmingCharacters(in: .whitespaces) else { return nil }
        if text.hasSuffix("ms") { return Double(text.dropLast(2)).map { $0 / 1000 } }
        if text.hasSuffix("m") { return Double(text.dropLast()).map { $0 * 60 } }
        if text.hasSuffix("s") { return Double(text.dropLast()) }
        return Double(text)
    }

    /// `; did you mean 'error_rate'?` for a close name.
    static func suggestion(_ text: String, _ candidates: [String]) -> String {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var row = Array(0...b.count)
            for (i, x) in a.enumerated() {
                var previous = row[0]
                row[0] = i + 1
                for (j, y) in b.enumerated() {
                    let current = row[j + 1]
                    row[j + 1] = min(row[j + 1] + 1, row[j] + 1, previous + (x == y ? 0 : 1))
                    previous = current
                }
            }
            return row[b.count]
        }
        let best = candidates.map { ($0, distance(Array(text), Array($0))) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= max(2, text.count / 3) else { return "; expected one of: \(candidates.joined(separator: ", "))" }
        return "; did you mean '\(best.0)'?"
    }
}
