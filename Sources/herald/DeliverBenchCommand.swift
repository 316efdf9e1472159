#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation
import HeraldContent
import HeraldCore
import HeraldEngine
import HeraldProviders
import HeraldSandbox
import HeraldStore
import NIOHTTP1
import Synchronization

/// `herald bench deliver`: delivery end to end, from a planned outbox through the real
/// dispatcher, transport and HTTP client to `herald sandbox` on loopback, with every claim,
/// outcome and event written, next to the sandbox's own ceiling for the same requests.
struct DeliverBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliver",
        abstract: "Delivery throughput: a planned email or push outbox of N notifications delivered to the sandbox, against the sandbox's ceiling.",
        discussion: """
            For each --notifications size: writes the sample workspace with a transactional email campaign and N users \
            with an address each, plans it with `herald send --plan-only` (a child process, not measured), starts `herald \
            sandbox` as a child process, and delivers the email outbox in this process exactly as `herald deliver` does \
            (rate limits in herald.yml removed; retries, breakers, leases and the event trail as usual). Reports \
            notifications per second, CPU time, this process's memory while delivering (peak and over time: flat means \
            no growth with the outbox's size), and how long claims took. The ceiling posts the same SendGrid request \
            (the same number of recipients per request, as many requests in flight as the dispatcher keeps) to the same \
            sandbox with the same HTTP client, and the ratio is Herald's rate over it. With --channel push, every user \
            has one iPhone and the pushes go to the sandbox's APNs over HTTP/2 and TLS (one connection, as many streams \
            as the APNs transport keeps); the ceiling is h2load replaying the transport's request (Debian: apt-get \
            install nghttp2-client). Build with -c release.
            """
    )

    enum ContentKind: String, ExpressibleByArgument, CaseIterable {
        /// One announcement for every recipient: SendGrid takes up to 1,000 per request.
        case identical
        /// A different mail per recipient: one request each.
        case personal
    }

    enum BenchChannel: String, ExpressibleByArgument, CaseIterable {
        case email, push
    }

    @Option(help: "email (SendGrid) or push (APNs).")
    var channel: BenchChannel = .email

    @Option(name: .customLong("notifications"), help: "Outbox sizes (repeatable). Default: 100000 and 1000000.")
    var sizes: [Int] = []

    @Option(help: "identical: one announcement for all, batched by SendGrid (1,000 per request; each recipient's signed tracking and unsubscribe links go in SendGrid substitutions); personal: one request per mail.")
    var content: ContentKind = .identical

    @Option(help: "Groups each provider lane keeps at the provider at once (the dispatcher's concurrency).")
    var concurrency = Dispatcher.Configuration().concurrency

    @Option(help: "Rows per claim for unbatched mail.")
    var batchSize = Dispatcher.Configuration().batchSize

    @Option(help: "Messages of identical content per request.")
    var maximumBatch = Dispatcher.Configuration().maximumBatch

    @Option(help: "Messages handed to a transport that sends one per request in one call, their outcomes recorded in one transaction.")
    var groupSize = Dispatcher.Configuration().groupSize

    @Option(help: "With --channel push: pushes in flight on the APNs connection (herald.yml's `concurrency` of the apns provider; default its own, \(APNsTransport.Configuration.defaultConcurrency)).")
    var streams: Int?

    func validate() throws {
        guard sizes.allSatisfy({ $0 > 0 }), concurrency > 0, batchSize > 0, maximumBatch > 0, groupSize > 0, (streams ?? 1) > 0 else {
            throw ValidationError("sizes and counts must be at least 1")
        }
    }

    func run() async throws {
        #if DEBUG
        print("warning: a debug build; run `swift build -c release` and .build/release/herald bench deliver for meaningful figures")
        #endif
        let herald = BenchCommand.heraldExecutable
        var results: [Result] = []
        for size in sizes.isEmpty ? [100_000, 1_000_000] : sizes {
            let result = try await measure(size, herald: herald)
            result.print()
            results.append(result)
        }
        if results.count > 1 {
            print("growth (cost per notification, smallest size = 1.00):")
            let base = results[0]
            for result in results {
                print(String(
                    format: "  %@: %.1f µs wall, %.1f µs CPU per notification (%.2f×, %.2f×); peak RSS %.0f MB",
                    grouped(result.notifications), result.wallPerNotification * 1e6, result.cpuPerNotification * 1e6,
                    result.wallPerNotification / base.wallPerNotification, result.cpuPerNotification / base.cpuPerNotification, result.peakMB
                ))
            }
        }
    }

    struct Result {
        var notifications: Int
        var content: ContentKind
        var perRequest: Int
        var wall: Double
        var cpu: Double
        var sent: Int
        var accepted: Int
        var peakMB: Double
        var baselineMB: Double
        /// RSS (MB) at each tenth of the run.
        var rssOverTime: [Double]
        var claims: [Duration]
        var claimedRows: Int
        var ceiling: Double
        var concurrency: Int
        var channel: BenchChannel = .email
        /// How the ceiling was measured, when it was not.
        var ceilingProblem: String?

        var rate: Double { Double(sent) / wall }
        var wallPerNotification: Double { wall / Double(max(notifications, 1)) }
        var cpuPerNotification: Double { cpu / Double(max(notifications, 1)) }

        func print() {
            if channel == .push {
                Swift.print("\(grouped(notifications)) push notifications to APNs (HTTP/2 and TLS, one connection, \(concurrency) streams in flight):")
            } else {
                Swift.print("\(grouped(notifications)) email notifications, \(content.rawValue) content (\(perRequest) per SendGrid request, \(concurrency) requests in flight):")
            }
            Swift.print(String(format: "  delivered %@ in %.2f s: %.0f notifications/s; %.2f s CPU (%.1f µs per notification)", grouped(sent), wall, rate, cpu, cpuPerNotification * 1e6))
            Swift.print("  the sandbox accepted \(grouped(accepted))" + (accepted == sent ? "" : " (differs from the \(grouped(sent)) recorded as sent)"))
            if let ceilingProblem {
                Swift.print("  sandbox ceiling not measured: \(ceilingProblem)")
            } else {
                Swift.print(String(format: "  sandbox ceiling for the same requests%@: %.0f messages/s; ratio %.2f", channel == .push ? " (h2load)" : "", ceiling, rate / max(ceiling, 1)))
            }
            Swift.print(String(format: "  memory: %.0f MB before delivering, peak %.0f MB; by tenths of the run: %@ MB", baselineMB, peakMB,
                               rssOverTime.map { String(format: "%.0f", $0) }.joined(separator: " ")))
            let sorted = claims.sorted()
            func percentile(_ p: Double) -> Double {
                guard !sorted.isEmpty else { return 0 }
                return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))].seconds * 1000
            }
            Swift.print(String(
                format: "  claims: %@ of %.0f rows on average; latency p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                grouped(claims.count), Double(claimedRows) / Double(max(claims.count, 1)), percentile(0.5), percentile(0.99), (sorted.last ?? .zero).seconds * 1000
            ))
        }
    }

    func measure(_ size: Int, herald: String) async throws -> Result {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("herald-bench-deliver-\(getpid())-\(size)").path
        try? FileManager.default.removeItem(atPath: work)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        _ = try PlanBench.spawn(herald, ["init", work])
        let port = try Self.freePort()
        let apnsPort = try Self.freePort()
        try prepareWorkspace(work, sandboxPort: port, apnsPort: apnsPort)
        let database = work + "/bench.db"
        try await Self.writeUsers(size, to: database, push: channel == .push)

        let sandbox = try Self.start(herald, [
            "sandbox", "--listen", "127.0.0.1:\(port)", "--smtp-port", "0", "--apns-port", "\(apnsPort)", "--certificate", work + "/sandbox-ca.pem",
        ])
        defer {
            kill(sandbox, SIGTERM)
            var status: Int32 = 0
            waitpid(sandbox, &status, 0)
        }
        let health = "http://127.0.0.1:\(port)/sandbox/health"
        let http = ProviderHTTPClient(configuration: .init(connectionsPerHost: max(concurrency * 2, 8)))
        try await Self.waitUntilAnswering(health, http: http)
        // Planned once the sandbox runs: it writes the certificate authority herald.yml's APNs trusts.
        _ = try PlanBench.spawn(herald, ["send", "bench", "--now", "--plan-only", "--database", database, "-w", work])

        let (workspace, diagnostics) = WorkspaceOptions.loadUsable(directory: work)
        guard let workspace else { throw CLIError("the bench workspace does not load: \(diagnostics.map(\.description).joined(separator: "; "))") }
        let claims = Mutex<(durations: [Duration], rows: Int)>(([], 0))
        var dispatch = Dispatcher.Configuration(batchSize: batchSize, concurrency: concurrency, groupSize: groupSize, maximumBatch: maximumBatch)
        dispatch.onClaim = { duration, rows in
            guard rows > 0 else { return }
            claims.withLock {
                $0.durations.append(duration)
                $0.rows += rows
            }
        }
        let app = try HeraldApp(workspace: workspace, databasePath: database, dispatch: dispatch)
        let baseline = Self.residentMB()
        let sampler = RSSSampler()
        let cpuBefore = Self.cpuSeconds()
        let start = ContinuousClock.now
        let delivery = try await withThrowingTaskGroup(of: [Channel: Dispatcher.Summary]?.self) { group in
            group.addTask {
                await sampler.run()
                return nil
            }
            let channel: Channel = self.channel == .push ? .push : .email
            group.addTask { try await app.deliver(channels: [channel]) }
            var result: [Channel: Dispatcher.Summary] = [:]
            for try await summary in group {
                if let summary {
                    result = summary
                    group.cancelAll()
                }
            }
            return result
        }
        let wall = (ContinuousClock.now - start).seconds
        let cpu = Self.cpuSeconds() - cpuBefore
        let peak = Self.peakMB()
        let sent = delivery[channel == .push ? .push : .email]?.sent ?? 0
        let accepted = try await Self.acceptedCount(health, http: http)
        if channel == .push {
            let (ceiling, streams) = await pushCeiling(requests: min(size, 200_000), apnsPort: apnsPort, work: work, http: http)
            try await http.shutdown()
            let recorded = claims.withLock { $0 }
            return Result(
                notifications: size, content: content, perRequest: 1, wall: wall, cpu: cpu, sent: sent, accepted: accepted,
                peakMB: peak, baselineMB: baseline, rssOverTime: sampler.tenths(), claims: recorded.durations, claimedRows: recorded.rows,
                ceiling: (try? ceiling.get()) ?? 0, concurrency: streams, channel: .push,
                ceilingProblem: { if case .failure(let error) = ceiling { return error.description } else { return nil } }()
            )
        }

        // The ceiling: the request the transport sent, posted as fast as the sandbox answers.
        let perRequest = content == .identical ? min(maximumBatch, 1000) : 1
        let sendgrid = SendGridTransport(name: "sendgrid", configuration: .init(
            apiKey: "SG.sandbox.sendgrid-api-key", from: EmailAddress(name: "Shop", email: "news@example.com"),
            baseURL: "http://127.0.0.1:\(port)/sendgrid"
        ), http: http)
        // Signed like the delivered mail when herald.yml tracks: the pixel, and the unsubscribe
        // link that names the tracking base (SendGrid substitutions carry both).
        let tracking = workspace.configuration.tracking
        let messages = (0..<perRequest).map { index in
            let key = NotificationKey(occurrenceID: 1, userID: "u-\(index)", channel: .email)
            let unsubscribeURL = tracking.map { UnsubscribeLinks($0).url(for: key) }
            let html = tracking.map { TrackingLinks($0).tracked(html: Self.html, for: key, keeping: unsubscribeURL ?? "") } ?? Self.html
            return OutboundMessage(
                notificationID: Int64(index + 1), occurrenceID: 1, campaignID: "bench", userID: key.userID, channel: .email,
                category: "transactional", provider: "sendgrid", address: "user\(index)@example.com",
                content: .email(EmailContent(subject: Self.subject, html: html, text: Self.text)), attempt: 1, unsubscribeURL: unsubscribeURL
            )
        }
        let body = try JSONSerialization.data(withJSONObject: sendgrid.body(for: messages))
        // As many requests in flight as the lane keeps: one per group of identical mail, else one
        // per message of its groups.
        let inFlight = content == .identical ? concurrency : concurrency * Dispatcher.Configuration().groupSize
        let requests = max(inFlight * 4, min(size, 200_000) / perRequest)
        let ceiling = try await Self.requestsPerSecond(
            http, url: "http://127.0.0.1:\(port)/sendgrid/v3/mail/send", requests: requests, width: inFlight, body: body
        ) * Double(perRequest)
        try await http.shutdown()
        let recorded = claims.withLock { $0 }
        return Result(
            notifications: size, content: content, perRequest: perRequest, wall: wall, cpu: cpu, sent: sent, accepted: accepted,
            peakMB: peak, baselineMB: baseline, rssOverTime: sampler.tenths(), claims: recorded.durations, claimedRows: recorded.rows,
            ceiling: ceiling, concurrency: inFlight
        )
    }

    static let subject = "Our new opening hours"
    static let html = "<p>From December 1 our shops open at 9:00 and close at 20:00.</p>"
    static let text = "From December 1 our shops open at 9:00 and close at 20:00."

    /// h2load replaying the APNs transport's request against the sandbox: `herald bench push`'s ceiling.
    /// Returns the rate, and the streams in flight: `--streams`, else the APNs transport's
    /// default, as the workspace's provider (no `concurrency:` in herald.yml) keeps.
    func pushCeiling(requests: Int, apnsPort: Int, work: String, http: ProviderHTTPClient) async -> (Swift.Result<Double, CLIError>, streams: Int) {
        var configuration = APNsTransport.Configuration(
            keyID: SandboxAccounts.sandboxAPNsKeyID, teamID: SandboxAccounts.sandboxAPNsTeamID,
            privateKeyPEM: SandboxAccounts.sandboxAPNsPrivateKeyPEM, topic: SandboxAccounts.sandboxAPNsTopic,
            baseURL: "https://127.0.0.1:\(apnsPort)", certificateAuthorityFile: work + "/sandbox-ca.pem"
        )
        if let streams { configuration.concurrency = streams }
        do {
            let bench = try PushBench.parse(["--streams", "\(configuration.concurrency)"])
            let apns = try APNsTransport(name: "apns", configuration: configuration, http: http)
            return (await bench.h2loadCeiling(PushBench.which("h2load"), apns: apns, port: apnsPort, requests: requests, work: work), configuration.concurrency)
        } catch {
            return (.failure(CLIError("the APNs transport could not be made: \(error)")), configuration.concurrency)
        }
    }

    /// The sample workspace pointed at the sandbox on `sandboxPort` (and its APNs on `apnsPort`),
    /// without rate limits, caps or quiet hours, with the bench campaign.
    func prepareWorkspace(_ work: String, sandboxPort: Int, apnsPort: Int) throws {
        let configuration = work + "/herald.yml"
        var kept: [String] = []
        var inLimits = false
        for line in try String(contentsOfFile: configuration, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "limits:" {
                inLimits = true
            } else if inLimits, let first = line.first, first != " ", first != "#" {
                inLimits = false
            }
            guard !inLimits else { continue }
            var text = String(line).replacingOccurrences(of: "127.0.0.1:4010", with: "127.0.0.1:\(sandboxPort)")
                .replacingOccurrences(of: "https://127.0.0.1:4443", with: "https://127.0.0.1:\(apnsPort)")
                .replacingOccurrences(of: "ca_file: keys/sandbox-ca.pem", with: "ca_file: sandbox-ca.pem")
            if let range = text.range(of: #", rate: [0-9]+/[a-z]+"#, options: .regularExpression) { text.removeSubrange(range) }
            if let streams, text.hasPrefix("  apns: {"), text.hasSuffix("}") { text.insert(contentsOf: ", concurrency: \(streams)", at: text.index(before: text.endIndex)) }
            kept.append(text)
        }
        try kept.joined(separator: "\n").write(toFile: configuration, atomically: true, encoding: .utf8)
        try """
            campaign: bench
            description: herald bench deliver
            category: transactional
            channels: [\(channel.rawValue)]
            template: bench
            """.write(toFile: work + "/campaigns/bench.yml", atomically: true, encoding: .utf8)
        let subject = content == .identical ? Self.subject : "Your receipt, {{first_name}}"
        let text = content == .identical ? Self.text : "Thank you for your order, {{first_name}}."
        try """
            template: bench
            email:
              subject: "\(subject)"
              html: bench.html
              text: bench.txt
            push:
              title: "\(subject)"
              body: "\(text)"
            """.write(toFile: work + "/templates/bench.yml", atomically: true, encoding: .utf8)
        try "<p>\(text)</p>\n".write(toFile: work + "/templates/bench.html", atomically: true, encoding: .utf8)
        try "\(text)\n".write(toFile: work + "/templates/bench.txt", atomically: true, encoding: .utf8)
    }

    /// `count` users with an email address each (and an iPhone each for `push`), written through the store.
    static func writeUsers(_ count: Int, to database: String, push: Bool = false) async throws {
        let store = try SQLiteStore(path: database, schema: AttributeSchema())
        let now = Date()
        for start in stride(from: 0, to: count, by: 10_000) {
            let users = (start..<min(start + 10_000, count)).map { index in
                User(
                    id: "u-\(index)", email: "user\(index)@example.com", firstName: "Ann \(index)",
                    devices: push ? [Device(platform: .ios, service: .apns, token: String(repeating: "0", count: 48) + String(format: "%016x", index))] : []
                )
            }
            _ = try await store.upsertUsers(users, at: now)
        }
    }

    static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw CLIError("cannot open a socket to find a free port") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw CLIError("cannot find a free port on 127.0.0.1") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts the herald binary with `arguments`, output discarded, and returns its pid.
    static func start(_ executable: String, _ arguments: [String]) throws -> pid_t {
        var pid: pid_t = 0
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw CLIError("could not start \(executable): error \(spawned)") }
        return pid
    }

    static func waitUntilAnswering(_ url: String, http: ProviderHTTPClient) async throws {
        for _ in 0..<200 {
            if case .success(let answer) = await http.execute(method: .GET, url: url, headers: [], body: nil), answer.status == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CLIError("the sandbox did not answer at \(url) within 10 s")
    }

    static func acceptedCount(_ url: String, http: ProviderHTTPClient) async throws -> Int {
        guard case .success(let answer) = await http.execute(method: .GET, url: url, headers: [], body: nil),
              let object = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any], let accepted = object["accepted"] as? Int
        else { throw CLIError("the sandbox's health endpoint gave no count") }
        return accepted
    }

    /// Requests per second of the sandbox for one prebuilt SendGrid request, `width` in flight.
    static func requestsPerSecond(_ http: ProviderHTTPClient, url: String, requests: Int, width: Int, body: Data) async throws -> Double {
        let headers = [("Authorization", "Bearer SG.sandbox.sendgrid-api-key"), ("Content-Type", "application/json")]
        let start = ContinuousClock.now
        let succeeded = await concurrentCount(requests, width: width) { _ in
            if case .success(let answer) = await http.execute(method: .POST, url: url, headers: headers, body: body) {
                return answer.status == 202
            }
            return false
        }
        let seconds = (ContinuousClock.now - start).seconds
        guard succeeded == requests else { throw CLIError("\(requests - succeeded) of \(requests) ceiling requests failed") }
        return Double(requests) / seconds
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// The process's peak resident memory so far (VmHWM).
    static func peakMB() -> Double { status("VmHWM:") }

    static func residentMB() -> Double { status("VmRSS:") }

    /// A `kB` field of /proc/self/status, in MB.
    static func status(_ field: String) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
              let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes / 1024
    }
}

/// Samples the resident memory every 100 ms until cancelled.
final class RSSSampler: Sendable {
    private let samples = Mutex<[Double]>([])

    func run() async {
        while !Task.isCancelled {
            let resident = DeliverBench.residentMB()
            samples.withLock { $0.append(resident) }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The samples at each tenth of the run, the last one included.
    func tenths() -> [Double] {
        let all = samples.withLock { $0 }
        guard !all.isEmpty else { return [] }
        return (1...10).map { all[min(all.count - 1, all.count * $0 / 10)] }
    }
}
