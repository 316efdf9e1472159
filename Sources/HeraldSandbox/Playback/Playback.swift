import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// What the sandbox plays back after accepting messages, as the real world would: delivery
/// webhooks from each provider (signed as the provider signs them) and opens and clicks of a
/// share of the recipients.
public struct PlaybackConfiguration: Sendable {
    /// Where each provider posts its events (Herald's webhook endpoints). A Twilio message's own
    /// StatusCallback and a Vonage message's `callback` win. Default none: nothing is posted.
    public var webhookURLs: [SandboxProvider: String]
    /// How long after acceptance the events are posted. Default 0.2 s.
    public var delay: Duration
    /// The share of delivered email recipients who open it. Default 0.3.
    public var openRate: Double
    /// The share of openers who click its first link. Default 0.3.
    public var clickRate: Double
    /// Fetch the links of opened and clicked email (the tracking pixel, the first link) as a
    /// mail client would, so that the tracking endpoints see them. Only links to loopback
    /// addresses are fetched: the sandbox never calls out of the machine. Default true.
    public var followsLinks: Bool
    /// Mandrill's webhook key, for `X-Mandrill-Signature`. Default `sandbox-mandrill-webhook-key`.
    public var mandrillWebhookKey: String
    /// SendGrid's event webhook signing key (its public half is served at
    /// `/sendgrid/v3/user/webhooks/event/settings/signed`). Default a new key per run.
    public var sendGridSigningKey: P256.Signing.PrivateKey

    public init(
        webhookURLs: [SandboxProvider: String] = [:], delay: Duration = .milliseconds(200), openRate: Double = 0.3, clickRate: Double = 0.3,
        followsLinks: Bool = true, mandrillWebhookKey: String = "sandbox-mandrill-webhook-key",
        sendGridSigningKey: P256.Signing.PrivateKey = P256.Signing.PrivateKey()
    ) {
        self.webhookURLs = webhookURLs
        self.delay = delay
        self.openRate = openRate
        self.clickRate = clickRate
        self.followsLinks = followsLinks
        self.mandrillWebhookKey = mandrillWebhookKey
        self.sendGridSigningKey = sendGridSigningKey
    }

    /// SendGrid's public key as `GET …/signed/{id}` returns it: base64 DER SubjectPublicKeyInfo.
    public var sendGridPublicKey: String {
        sendGridSigningKey.publicKey.derRepresentation.base64EncodedString()
    }
}

/// One accepted message waiting for its events.
struct PendingPlayback: Sendable {
    var message: RecordedMessage
    var unreachable: Bool
    var optedOut: Bool
    var due: ContinuousClock.Instant
}

/// Queues accepted messages and posts their events from one background task, so that a
/// request is never slowed by playback.
final class PlaybackQueue: DeliveryEventSink {
    let stream: AsyncStream<PendingPlayback>
    private let continuation: AsyncStream<PendingPlayback>.Continuation
    let delay: Duration

    init(delay: Duration) {
        (stream, continuation) = AsyncStream.makeStream(of: PendingPlayback.self, bufferingPolicy: .bufferingNewest(100_000))
        self.delay = delay
    }

    func accepted(_ messages: [RecordedMessage], unreachable: Set<String>, optedOut: Set<String>) {
        let due = ContinuousClock.now + delay
        for message in messages {
            continuation.yield(PendingPlayback(
                message: message, unreachable: unreachable.contains(message.to), optedOut: optedOut.contains(message.to), due: due
            ))
        }
    }

    func finish() {
        continuation.finish()
    }
}

/// Posts the events: one request per message and provider event (SendGrid and Mandrill batch
/// theirs in the real world; one per message keeps the sandbox simple and still valid).
struct PlaybackWorker: Sendable {
    let configuration: PlaybackConfiguration
    let accounts: SandboxAccounts
    let inbox: WebhookInbox
    let seed: UInt64

    func run(_ queue: PlaybackQueue) async {
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: HTTPClient.Configuration(
            timeout: .init(connect: .seconds(2), read: .seconds(5))
        ))
        var draw = FaultDraw(seed: seed &+ 17)
        await withTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for await pending in queue.stream {
                let now = ContinuousClock.now
                if pending.due > now { try? await Task.sleep(until: pending.due, clock: .continuous) }
                let opens = draw.next() < configuration.openRate
                let clicks = opens && draw.next() < configuration.clickRate
                if inFlight >= 16 {
                    await group.next()
                    inFlight -= 1
                }
                inFlight += 1
                group.addTask { await self.play(pending, opens: opens, clicks: clicks, client: client) }
            }
        }
        try? await client.shutdown()
    }

    func play(_ pending: PendingPlayback, opens: Bool, clicks: Bool, client: HTTPClient) async {
        let message = pending.message
        let delivered = !pending.unreachable && !pending.optedOut
        let isEmail = [.sendgrid, .mandrill, .smtp].contains(message.provider)
        for request in WebhookRequests.make(
            for: message, delivered: delivered, opens: isEmail && delivered && opens, clicks: isEmail && delivered && clicks,
            optedOut: pending.optedOut, configuration: configuration, accounts: accounts
        ) {
            await post(request, client: client)
        }
        if configuration.followsLinks, isEmail, delivered, let html = message.html {
            let links = LinkExtractor.links(in: html)
            if opens, let pixel = links.images.first { await fetch(pixel, client: client) }
            if clicks, let link = links.anchors.first { await fetch(link, client: client) }
        }
    }

    func post(_ request: WebhookRequest, client: HTTPClient) async {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = .POST
        for header in request.headers where header.count == 2 { outgoing.headers.add(name: header[0], value: header[1]) }
        outgoing.body = .bytes(ByteBuffer(bytes: request.body))
        var status: Int?
        for attempt in 0..<3 {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(200 * attempt)) }
            if let response = try? await client.execute(outgoing, timeout: .seconds(5)) {
                _ = try? await response.body.collect(upTo: 64 * 1024)
                status = Int(response.status.code)
                if (200...299).contains(response.status.code) { break }
            }
        }
        inbox.sent(request, status: status)
    }

    func fetch(_ url: String, client: HTTPClient) async {
        guard let host = URL(string: url)?.host?.lowercased(), url.hasPrefix("http://") || url.hasPrefix("https://"),
              host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
        else { return }
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "Mozilla/5.0 (herald-sandbox mail client)")
        if let response = try? await client.execute(request, timeout: .seconds(5)) {
            _ = try? await response.body.collect(upTo: 64 * 1024)
        }
        inbox.fetched(url)
    }
}

/// A webhook ready to post.
struct WebhookRequest: Sendable, Codable {
    var provider: SandboxProvider
    var event: String
    var url: String
    var headers: [[String]]
    var body: Data
}

/// What playback did, and what was posted to the sandbox's own `/sandbox/inbox` (a receiver
/// for tests and demos without Herald's server).
public final class WebhookInbox: Sendable {
    public struct Delivery: Sendable, Hashable, Codable {
        public var provider: SandboxProvider
        public var event: String
        public var url: String
        /// The HTTP status the receiver answered, nil when it could not be reached.
        public var status: Int?
    }

    /// A request that arrived at `/sandbox/inbox`.
    public struct Received: Sendable, Hashable, Codable {
        public var path: String
        public var headers: [String: String]
        public var body: String
    }

    private let state = Mutex<(sent: [Delivery], fetched: [String], received: [Received])>(([], [], []))

    func sent(_ request: WebhookRequest, status: Int?) {
        state.withLock { $0.sent.append(Delivery(provider: request.provider, event: request.event, url: request.url, status: status)) }
    }

    func fetched(_ url: String) {
        state.withLock { $0.fetched.append(url) }
    }

    func received(_ request: Received) {
        state.withLock { if $0.received.count < 100_000 { $0.received.append(request) } }
    }

    /// Every webhook posted, with the answer's status.
    public var deliveries: [Delivery] { state.withLock { $0.sent } }
    /// Every link fetched as an open or a click.
    public var fetchedLinks: [String] { state.withLock { $0.fetched } }
    /// Every request `/sandbox/inbox` received.
    public var received: [Received] { state.withLock { $0.received } }
}

/// The `src` of images and the `href` of links in an HTML body.
enum LinkExtractor {
    static func links(in html: String) -> (images: [String], anchors: [String]) {
        (attribute("src", in: html, tag: "img"), attribute("href", in: html, tag: "a"))
    }

    static func attribute(_ name: String, in html: String, tag: String) -> [String] {
        var results: [String] = []
        var rest = Substring(html)
        while let open = rest.range(of: "<\(tag) ", options: .caseInsensitive) ?? rest.range(of: "<\(tag)\t", options: .caseInsensitive) {
            guard let close = rest[open.upperBound...].firstIndex(of: ">") else { break }
            let element = rest[open.upperBound..<close]
            if let attribute = element.range(of: "\(name)=\"", options: .caseInsensitive),
               let end = element[attribute.upperBound...].firstIndex(of: "\"") {
                results.append(String(element[attribute.upperBound..<end]).replacingOccurrences(of: "&amp;", with: "&"))
            }
            rest = rest[close...]
            if results.count >= 20 { break }
        }
        return results
    }
}
