import ArgumentParser
import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox
import NIOHTTP1

/// `herald bench transports`: messages per second each transport sustains against the sandbox
/// on loopback, next to the sandbox's own ceiling for the same requests, measured in the same
/// run by a plain load generator (the same HTTP client posting prebuilt requests; for SMTP,
/// libcurl sending a prebuilt message), so that the ratio shows the transport's own cost.
struct TransportBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transports",
        abstract: "Messages per second of the Twilio, SendGrid and SMTP transports against the sandbox, and the sandbox's ceiling.",
        discussion: "Build with -c release. Sandbox, transports and load generator share this machine's cores, as they would on one host."
    )

    @Option(help: "Messages per HTTP measurement.")
    var messages = 4000

    @Option(help: "Messages in the batched SendGrid measurement (1,000 per request).")
    var batchedMessages = 40_000

    @Option(help: "Messages in the SMTP measurement.")
    var smtpMessages = 1000

    @Option(help: "Requests in flight at once (each transport's concurrency and the load generator's).")
    var concurrency = 32

    @Option(help: "SMTP connections.")
    var smtpConnections = 8

    func validate() throws {
        guard messages > 0, batchedMessages > 0, smtpMessages > 0, concurrency > 0, smtpConnections > 0 else {
            throw ValidationError("counts must be at least 1")
        }
    }

    struct Row: Sendable {
        var name: String
        var transport: Double
        var ceiling: Double
    }

    func run() async throws {
        #if DEBUG
        print("warning: a debug build; run `swift build -c release` and .build/release/herald bench transports for meaningful figures")
        #endif
        let rows = try await Sandbox.withRunning(Sandbox.Configuration(port: 0, smtpPort: 0)) { sandbox -> [Row] in
            var rows: [Row] = []
            let http = ProviderHTTPClient(configuration: .init(connectionsPerHost: concurrency))
            let accounts = sandbox.accounts
            let twilio = TwilioTransport(name: "twilio", configuration: .init(
                accountSID: accounts.twilioAccountSID, authToken: accounts.twilioAuthToken, from: "+15005550006",
                baseURL: sandbox.baseURL(for: .twilio), concurrency: concurrency
            ), http: http)
            let sendgrid = SendGridTransport(name: "sendgrid", configuration: .init(
                apiKey: accounts.sendGridAPIKey, from: EmailAddress(name: "Shop", email: "news@example.com"),
                baseURL: sandbox.baseURL(for: .sendgrid), concurrency: concurrency
            ), http: http)

            // Warm up connections and caches.
            _ = await twilio.send((0..<200).map { sms($0) })
            sandbox.log.removeAll()

            // Twilio: one request per message.
            let twilioMessages = (0..<messages).map { sms($0) }
            let twilioRate = try await rate(messages) { await twilio.send(twilioMessages) }
            let form = "To=%2B14155550100&From=%2B15005550006&Body=Your+order+has+shipped"
            let twilioURL = sandbox.baseURL(for: .twilio) + "/2010-04-01/Accounts/\(accounts.twilioAccountSID)/Messages.json"
            let basic = "Basic " + Data("\(accounts.twilioAccountSID):\(accounts.twilioAuthToken)".utf8).base64EncodedString()
            let twilioCeiling = try await load(http, url: twilioURL, requests: messages, body: Data(form.utf8), headers: [
                ("Authorization", basic), ("Content-Type", "application/x-www-form-urlencoded"),
            ], expecting: 201)
            rows.append(Row(name: "Twilio", transport: twilioRate, ceiling: twilioCeiling))
            sandbox.log.removeAll()

            // SendGrid, unbatched: every message's content differs, one request each.
            let distinct = (0..<messages).map { email($0, subject: "Your receipt #\($0)") }
            let unbatched = try await rate(messages) { await sendgrid.send(distinct) }
            let sendGridURL = sandbox.baseURL(for: .sendgrid) + "/v3/mail/send"
            let bearer = [("Authorization", "Bearer \(accounts.sendGridAPIKey)"), ("Content-Type", "application/json")]
            let one = try JSONSerialization.data(withJSONObject: sendgrid.body(for: [distinct[0]]))
            let unbatchedCeiling = try await load(http, url: sendGridURL, requests: messages, body: one, headers: bearer, expecting: 202)
            rows.append(Row(name: "SendGrid, one message per request", transport: unbatched, ceiling: unbatchedCeiling))
            sandbox.log.removeAll()

            // SendGrid, batched: identical content, 1,000 personalizations per request.
            let identical = (0..<batchedMessages).map { email($0, subject: "Winter sale") }
            let batched = try await rate(batchedMessages) { await sendgrid.send(identical) }
            let thousand = try JSONSerialization.data(withJSONObject: sendgrid.body(for: Array(identical.prefix(1000))))
            let requests = (batchedMessages + 999) / 1000
            let batchedCeiling = try await load(http, url: sendGridURL, requests: requests, body: thousand, headers: bearer, expecting: 202) * 1000
            rows.append(Row(name: "SendGrid, 1,000 per request", transport: batched, ceiling: batchedCeiling))
            sandbox.log.removeAll()

            // SMTP: one transaction per message over reused STARTTLS connections.
            guard let smtpURL = sandbox.smtpURL else { return rows }
            let smtp = SMTPTransport(name: "smtp", configuration: .init(
                url: smtpURL, username: accounts.smtpUsername, password: accounts.smtpPassword,
                from: EmailAddress(name: "Shop", email: "news@example.com"), certificateAuthorityFile: sandbox.certificateAuthorityFile,
                connections: smtpConnections
            ))
            _ = await smtp.send((0..<20).map { email($0, subject: "warm-up") })
            let mails = (0..<smtpMessages).map { email($0, subject: "Your receipt #\($0)") }
            let smtpRate = try await rate(smtpMessages) { await smtp.send(mails) }
            guard case .email(let content) = mails[0].content else { return rows }
            let prebuilt = Array(MIMEMessage.build(
                mails[0], content: content, from: smtp.configuration.from, messageID: "<bench@example.com>", date: Date()
            ).utf8)
            let smtpCeiling = try await rateCounting(smtpMessages) {
                await concurrentCount(smtpMessages, width: smtpConnections) { _ in await smtp.sendPrebuilt(prebuilt, to: "user@example.com") }
            }
            rows.append(Row(name: "SMTP (STARTTLS, AUTH)", transport: smtpRate, ceiling: smtpCeiling))
            try await http.shutdown()
            return rows
        }
        print("transport                            transport msg/s   sandbox ceiling msg/s   ratio")
        for row in rows {
            print(
                row.name.padding(toLength: 36, withPad: " ", startingAt: 0)
                    + String(format: "%16.0f   %21.0f   %5.2f", row.transport, row.ceiling, row.transport / max(row.ceiling, 1))
            )
        }
        print("(concurrency \(concurrency); \(messages) messages per HTTP measurement, \(batchedMessages) batched, \(smtpMessages) over \(smtpConnections) SMTP connections)")
    }

    func sms(_ index: Int) -> OutboundMessage {
        OutboundMessage(
            notificationID: Int64(index + 1), campaignID: "bench", userID: "u-\(index)", channel: .sms, category: "transactional",
            provider: "twilio", address: "+1415555\(String(format: "%04d", index % 10_000))", content: .sms(SMSContent(body: "Your order has shipped")),
            attempt: 1
        )
    }

    func email(_ index: Int, subject: String) -> OutboundMessage {
        OutboundMessage(
            notificationID: Int64(index + 1), campaignID: "bench", userID: "u-\(index)", channel: .email, category: "transactional",
            provider: "sendgrid", address: "user\(index)@example.com",
            content: .email(EmailContent(subject: subject, html: "<p>Thank you for your order.</p>", text: "Thank you for your order.")), attempt: 1
        )
    }

    /// Messages per second of `work`, which must accept every message.
    func rate(_ count: Int, _ work: () async -> [DeliveryOutcome]) async throws -> Double {
        let start = ContinuousClock.now
        let outcomes = await work()
        let seconds = (ContinuousClock.now - start).seconds
        let refused = outcomes.filter { if case .accepted = $0 { false } else { true } }
        guard refused.isEmpty else { throw CLIError("\(refused.count) of \(count) messages were not accepted, e.g. \(refused[0])") }
        return Double(count) / seconds
    }

    func rateCounting(_ count: Int, _ work: () async -> Int) async throws -> Double {
        let start = ContinuousClock.now
        let succeeded = await work()
        let seconds = (ContinuousClock.now - start).seconds
        guard succeeded == count else { throw CLIError("\(count - succeeded) of \(count) prebuilt sends failed") }
        return Double(count) / seconds
    }

    /// Requests per second of the sandbox for one prebuilt request, `concurrency` in flight.
    func load(
        _ http: ProviderHTTPClient, url: String, requests: Int, body: Data, headers: [(String, String)], expecting status: Int
    ) async throws -> Double {
        try await rateCounting(requests) {
            await concurrentCount(requests, width: concurrency) { _ in
                if case .success(let answer) = await http.execute(method: .POST, url: url, headers: headers, body: body) {
                    return answer.status == status
                }
                return false
            }
        }
    }
}

/// How many of `count` operations succeeded, `width` at a time.
func concurrentCount(_ count: Int, width: Int, _ operation: @escaping @Sendable (Int) async -> Bool) async -> Int {
    await withTaskGroup(of: Bool.self) { group in
        var next = 0
        var succeeded = 0
        while next < min(width, count) {
            let index = next
            group.addTask { await operation(index) }
            next += 1
        }
        for await ok in group {
            if ok { succeeded += 1 }
            if next < count {
                let index = next
                group.addTask { await operation(index) }
                next += 1
            }
        }
        return succeeded
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
