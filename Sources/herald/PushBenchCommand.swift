import ArgumentParser
import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox
import NIOHTTP1

/// `herald bench push`: pushes per second of the APNs (HTTP/2 over TLS, one connection), FCM and
/// Web Push transports against `herald sandbox` on loopback, each next to the sandbox's ceiling
/// for the same request measured in the same run by an independent load generator (h2load for
/// HTTP/2, wrk for HTTP/1.1), and the CPU cost of one Web Push encryption.
struct PushBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Pushes per second of the APNs, FCM and Web Push transports against the sandbox, next to h2load's and wrk's ceiling.",
        discussion: """
            Starts `herald sandbox` as a child process. For each size, sends that many pushes through each transport, then \
            replays one of its requests with h2load (APNs: one connection, as many streams as the transport keeps) or wrk \
            (FCM, Web Push: as many connections), and prints the ratio. Needs h2load and wrk (Debian: apt-get install \
            nghttp2-client wrk). Build with -c release.
            """
    )

    @Option(name: .customLong("pushes"), parsing: .upToNextOption, help: "Pushes per measurement; several sizes show how the cost grows.")
    var sizes: [Int] = [10_000, 40_000]

    @Option(help: "APNs streams in flight on its one connection (the transport's concurrency and h2load's -m).")
    var streams = APNsTransport.Configuration.defaultConcurrency

    @Option(help: "FCM and Web Push requests in flight (the transports' concurrency and wrk's connections).")
    var connections = 32

    @Option(help: "Seconds each wrk measurement lasts.")
    var seconds = 5

    @Option(help: "Web Push encryptions timed for the CPU cost of one.")
    var encryptions = 5000

    func validate() throws {
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }), streams > 0, connections > 0, seconds > 0, encryptions > 0 else {
            throw ValidationError("every count must be at least 1")
        }
    }

    struct Row {
        var name: String
        var size: Int
        var transport: Double
        var cpu: Double
        var ceiling: Result<Double, CLIError>
    }

    func run() async throws {
        #if DEBUG
        print("warning: a debug build; run `swift build -c release` and .build/release/herald bench push for meaningful figures")
        #endif
        let herald = BenchCommand.heraldExecutable
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("herald-bench-push-\(getpid())").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let port = try DeliverBench.freePort()
        let apnsPort = try DeliverBench.freePort()
        let authority = work + "/sandbox-ca.pem"
        let sandbox = try DeliverBench.start(herald, [
            "sandbox", "--listen", "127.0.0.1:\(port)", "--smtp-port", "0", "--apns-port", "\(apnsPort)", "--certificate", authority,
        ])
        defer {
            kill(sandbox, SIGTERM)
            var status: Int32 = 0
            waitpid(sandbox, &status, 0)
        }
        let http = ProviderHTTPClient(configuration: .init(connectionsPerHost: max(connections, 8)))
        try await DeliverBench.waitUntilAnswering("http://127.0.0.1:\(port)/sandbox/health", http: http)
        let base = "http://127.0.0.1:\(port)"

        let apns = try APNsTransport(name: "apns", configuration: APNsTransport.Configuration(
            keyID: SandboxAccounts.sandboxAPNsKeyID, teamID: SandboxAccounts.sandboxAPNsTeamID,
            privateKeyPEM: SandboxAccounts.sandboxAPNsPrivateKeyPEM, topic: SandboxAccounts.sandboxAPNsTopic,
            baseURL: "https://127.0.0.1:\(apnsPort)", certificateAuthorityFile: authority, concurrency: streams
        ), http: http)
        let account = SandboxFCMServiceAccount.demo.serviceAccountJSON(sandboxBaseURL: base + "/fcm")
        let fcmConfiguration = try FCMTransport.Configuration(serviceAccountJSON: Data(account.utf8), baseURL: base + "/fcm", concurrency: connections)
        let fcm = FCMTransport(name: "fcm", configuration: fcmConfiguration, http: http)
        let webpush = WebPushTransport(name: "webpush", configuration: .init(
            vapidPrivateKey: SandboxAccounts.demoVAPIDPrivateKey, subject: "mailto:ops@example.com", concurrency: connections
        ), http: http)

        // Warm up: connections, the APNs JWT, the FCM access token, the VAPID header.
        for (transport, messages) in [(apns as any Transport, apnsPushes(50)), (fcm, fcmPushes(50)), (webpush, webPushes(50, base: base))] {
            let refused = await transport.send(messages).filter { if case .accepted = $0 { false } else { true } }
            guard refused.isEmpty else { throw CLIError("\(transport.name) did not send its warm-up pushes: \(refused[0])") }
        }

        let tools = (h2load: Self.which("h2load"), wrk: Self.which("wrk"))
        var rows: [Row] = []
        for size in sizes {
            let apnsMessages = apnsPushes(size)
            let (apnsRate, apnsCPU) = try await rate(size) { await apns.send(apnsMessages) }
            let apnsCeiling = await h2loadCeiling(tools.h2load, apns: apns, port: apnsPort, requests: size, work: work)
            rows.append(Row(name: "APNs (HTTP/2, TLS, 1 connection)", size: size, transport: apnsRate, cpu: apnsCPU, ceiling: apnsCeiling))

            let fcmMessages = fcmPushes(size)
            let (fcmRate, fcmCPU) = try await rate(size) { await fcm.send(fcmMessages) }
            let fcmCeiling = await fcmWrkCeiling(tools.wrk, fcm: fcm, account: fcmConfiguration.serviceAccount, http: http, work: work)
            rows.append(Row(name: "FCM v1 (HTTP/1.1)", size: size, transport: fcmRate, cpu: fcmCPU, ceiling: fcmCeiling))

            let webMessages = webPushes(size, base: base)
            let (webRate, webCPU) = try await rate(size) { await webpush.send(webMessages) }
            let webCeiling = await webPushWrkCeiling(tools.wrk, webpush: webpush, message: webMessages[0], work: work)
            rows.append(Row(name: "Web Push (aes128gcm, VAPID)", size: size, transport: webRate, cpu: webCPU, ceiling: webCeiling))
        }
        try await http.shutdown()

        print("transport                           pushes   transport/s   CPU µs/push   sandbox ceiling/s   ratio")
        for row in rows {
            let ceiling: String
            let ratio: String
            switch row.ceiling {
            case .success(let value):
                ceiling = String(format: "%17.0f", value)
                ratio = String(format: "%5.2f", row.transport / max(value, 1))
            case .failure(let error):
                ceiling = "unavailable".padding(toLength: 17, withPad: " ", startingAt: 0)
                ratio = "  –  (\(error.description))"
            }
            print(
                row.name.padding(toLength: 33, withPad: " ", startingAt: 0)
                    + String(format: "%9d   %11.0f   %11.1f   ", row.size, row.transport, row.cpu) + ceiling + "   " + ratio
            )
        }
        let (perEncryption, perEncryptionCPU) = try encryptionCost()
        print(String(format: "one Web Push encryption (ECDH P-256, HKDF, AES-128-GCM of a %d-byte payload): %.1f µs, %.1f µs CPU", Self.samplePayloadSize, perEncryption, perEncryptionCPU))
        print("(APNs \(streams) streams; FCM and Web Push \(connections) connections; wrk runs \(seconds) s per ceiling; h2load sends as many requests as the transport)")
    }

    // MARK: - Messages

    static let content = PushContent(title: "Winter sale", body: "Everything is 30% off until Sunday.", url: "https://shop.example.com/sale", data: ["campaign": "winter-sale"])
    static var samplePayloadSize: Int { WebPushTransport.payload(content).count }

    func message(_ index: Int, provider: String, address: String, subscription: WebPushSubscription? = nil) -> OutboundMessage {
        OutboundMessage(
            notificationID: Int64(index + 1), campaignID: "bench", userID: "u-\(index)", channel: .push, category: "marketing",
            provider: provider, address: address, subscription: subscription, content: .push(Self.content), attempt: 1
        )
    }

    func apnsPushes(_ count: Int) -> [OutboundMessage] {
        (0..<count).map { message($0, provider: "apns", address: String(repeating: "0", count: 48) + String(format: "%016x", $0)) }
    }

    func fcmPushes(_ count: Int) -> [OutboundMessage] {
        (0..<count).map { message($0, provider: "fcm", address: "bench-token-\($0)") }
    }

    /// A thousand browsers, each subscribed at the sandbox with keys it can derive.
    func webPushes(_ count: Int, base: String) -> [OutboundMessage] {
        let subscriptions = (0..<min(count, 1000)).map { SandboxWebPush.subscription(endpointBase: base + "/webpush", id: "bench-\($0)") }
        return (0..<count).map { index in
            let subscription = subscriptions[index % subscriptions.count]
            return message(index, provider: "webpush", address: subscription.endpoint, subscription: subscription)
        }
    }

    // MARK: - Measuring

    /// Pushes per second of `work`, which must accept every push, and this process's CPU per push.
    func rate(_ count: Int, _ work: () async -> [DeliveryOutcome]) async throws -> (Double, Double) {
        let cpuBefore = DeliverBench.cpuSeconds()
        let start = ContinuousClock.now
        let outcomes = await work()
        let seconds = (ContinuousClock.now - start).seconds
        let cpu = DeliverBench.cpuSeconds() - cpuBefore
        let refused = outcomes.filter { if case .accepted = $0 { false } else { true } }
        guard refused.isEmpty else { throw CLIError("\(refused.count) of \(count) pushes were not accepted, e.g. \(refused[0])") }
        return (Double(count) / seconds, cpu / Double(count) * 1e6)
    }

    /// Microseconds of wall time and of CPU per encryption of the sample payload, on one thread.
    func encryptionCost() throws -> (Double, Double) {
        let subscription = SandboxWebPush.subscription(endpointBase: "http://127.0.0.1/webpush", id: "cost")
        guard let key = Base64URL.decode(subscription.p256dh), let auth = Base64URL.decode(subscription.auth) else {
            throw CLIError("the sample subscription's keys do not decode")
        }
        let payload = WebPushTransport.payload(Self.content)
        let cpuBefore = DeliverBench.cpuSeconds()
        let start = ContinuousClock.now
        for _ in 0..<encryptions {
            _ = try WebPushEncryptor.encrypt(payload, userAgentPublicKey: key, authSecret: auth)
        }
        let seconds = (ContinuousClock.now - start).seconds
        let cpu = DeliverBench.cpuSeconds() - cpuBefore
        return (seconds / Double(encryptions) * 1e6, cpu / Double(encryptions) * 1e6)
    }

    // MARK: - Ceilings

    /// h2load replaying the transport's APNs request: one connection, `streams` at once.
    func h2loadCeiling(_ h2load: String?, apns: APNsTransport, port: Int, requests: Int, work: String) async -> Result<Double, CLIError> {
        guard let h2load else { return .failure(CLIError("h2load not found; apt-get install nghttp2-client")) }
        let message = apnsPushes(1)[0]
        let payload = work + "/apns-payload.json"
        guard FileManager.default.createFile(atPath: payload, contents: Data(APNsPayload.encode(Self.content))) else {
            return .failure(CLIError("cannot write \(payload)"))
        }
        var arguments = ["-n", "\(requests)", "-c", "1", "-m", "\(streams)", "-d", payload]
        let headers = apns.headers(for: message, content: Self.content, now: Date()).filter { $0.0 != "apns-id" }
            + [("authorization", "bearer " + apns.token.current().jwt)]
        for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
        arguments.append("https://127.0.0.1:\(port)/3/device/\(message.address)")
        let output: String
        switch await Self.output(of: h2load, arguments) {
        case .success(let text): output = text
        case .failure(let error): return .failure(error)
        }
        // "finished in 1.23s, 8123.45 req/s, 1.2MB/s" and "status codes: 10000 2xx, 0 3xx, 0 4xx, 0 5xx"
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("finished in") }),
              let rate = line.split(separator: ",").dropFirst().first?.split(separator: " ").first.flatMap({ Double($0) })
        else { return .failure(CLIError("h2load printed no rate: \(output.prefix(300))")) }
        guard output.contains("status codes: \(requests) 2xx") else {
            return .failure(CLIError("not every h2load request was accepted: \(output.split(separator: "\n").first { $0.contains("status codes") } ?? "")"))
        }
        return .success(rate)
    }

    /// wrk replaying the FCM transport's request with an access token from the same flow.
    func fcmWrkCeiling(_ wrk: String?, fcm: FCMTransport, account: FCMServiceAccount, http: ProviderHTTPClient, work: String) async -> Result<Double, CLIError> {
        guard let wrk else { return .failure(CLIError("wrk not found; apt-get install wrk")) }
        let token: String
        do {
            let assertion = try FCMTransport.makeAssertion(for: account, now: Date())
            let form = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + assertion
            guard case .success(let answer) = await http.execute(
                method: .POST, url: account.tokenURI, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Data(form.utf8)
            ), let object = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any], let value = object["access_token"] as? String
            else { return .failure(CLIError("the sandbox's FCM token endpoint gave no access token")) }
            token = value
        } catch {
            return .failure(CLIError("cannot sign the FCM assertion: \(error)"))
        }
        guard case .success(let body) = fcm.body(for: fcmPushes(1)[0], now: Date()) else {
            return .failure(CLIError("the FCM request cannot be built"))
        }
        let url = fcm.configuration.baseURL + "/v1/projects/\(account.projectID)/messages:send"
        return await wrkCeiling(wrk, url: url, body: body, headers: [("Authorization", "Bearer " + token), ("Content-Type", "application/json")], work: work)
    }

    /// wrk replaying one encrypted Web Push request (the sandbox decrypts each one it receives).
    func webPushWrkCeiling(_ wrk: String?, webpush: WebPushTransport, message: OutboundMessage, work: String) async -> Result<Double, CLIError> {
        guard let wrk else { return .failure(CLIError("wrk not found; apt-get install wrk")) }
        guard case .success(let prepared) = webpush.prepare(message, now: Date()),
              let body = try? WebPushEncryptor.encrypt(prepared.payload, userAgentPublicKey: prepared.userAgentPublicKey, authSecret: prepared.authSecret),
              let authorization = webpush.vapidAuthorization(audience: prepared.audience, now: Date())
        else { return .failure(CLIError("the Web Push request cannot be built")) }
        let headers = prepared.headers + [
            ("Authorization", authorization), ("Content-Encoding", "aes128gcm"), ("Content-Type", "application/octet-stream"),
        ]
        return await wrkCeiling(wrk, url: prepared.endpoint, body: body, headers: headers, work: work)
    }

    /// Requests per second of wrk posting `body` with `headers` for `seconds`; every answer must be 2xx.
    func wrkCeiling(_ wrk: String, url: String, body: Data, headers: [(String, String)], work: String) async -> Result<Double, CLIError> {
        // Lua strings are bytes: every byte of the body written as a decimal escape.
        func lua(_ bytes: some Sequence<UInt8>) -> String { "\"" + bytes.map { "\\\($0)" }.joined() + "\"" }
        var script = "wrk.method = \"POST\"\nwrk.body = \(lua(body))\n"
        for (name, value) in headers { script += "wrk.headers[\(lua(name.utf8))] = \(lua(value.utf8))\n" }
        let file = work + "/wrk-\(UUID().uuidString.prefix(8)).lua"
        do {
            try script.write(toFile: file, atomically: true, encoding: .utf8)
        } catch {
            return .failure(CLIError("cannot write \(file): \(error)"))
        }
        let output: String
        switch await Self.output(of: wrk, ["-t", "2", "-c", "\(connections)", "-d", "\(seconds)s", "-s", file, url]) {
        case .success(let text): output = text
        case .failure(let error): return .failure(error)
        }
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("Requests/sec:") }),
              let rate = line.split(separator: " ").last.flatMap({ Double($0) })
        else { return .failure(CLIError("wrk printed no rate: \(output.prefix(300))")) }
        if let refused = output.split(separator: "\n").first(where: { $0.contains("Non-2xx or 3xx responses") }) {
            return .failure(CLIError("the sandbox refused wrk's requests: \(refused.trimmingCharacters(in: .whitespaces))"))
        }
        return .success(rate)
    }

    // MARK: - Tools

    static func which(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// What a tool printed (stdout and stderr), once it exited with status 0.
    static func output(of tool: String, _ arguments: [String]) async -> Result<String, CLIError> {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do {
            try process.run()
        } catch {
            return .failure(CLIError("cannot run \(tool): \(error)"))
        }
        // The tools print a few kilobytes at the end; reading waits on a thread of its own.
        let data: Data = await withCheckedContinuation { continuation in
            Thread {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: data)
            }.start()
        }
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            return .failure(CLIError("\(URL(fileURLWithPath: tool).lastPathComponent) failed (status \(process.terminationStatus)): \(text.prefix(300))"))
        }
        return .success(text)
    }
}
