import Foundation
import HeraldCore
import NIOHTTP1
import NIOSSL

/// Apple Push Notification service over HTTP/2 with token (JWT) authentication: one
/// `POST /3/device/<token>` per push, all of them streams of one long-lived TLS connection.
///
/// ```swift
/// let transport = try APNsTransport(name: "apns", configuration: .init(
///     keyID: "ABC123DEFG", teamID: "DEF123GHIJ",
///     privateKeyPEM: try APNsTransport.Configuration.readPrivateKey(atPath: "AuthKey_ABC123DEFG.p8"),
///     topic: "com.example.app"
/// ), http: http)
/// ```
///
/// The connection: one TLS connection per origin and trust (``HTTP2Client``, shared through the
/// ``ProviderHTTPClient``), opened on the first push with ALPN `h2` and kept. The pushes of one
/// `send` go out together, each on a stream of its own, as many at once as the server's
/// `SETTINGS_MAX_CONCURRENT_STREAMS` allows (APNs allows one until the first valid token, then
/// raises it; swift-nio-http2 holds the others back until then). After a GOAWAY or a close the
/// next `send` opens a new connection. Transports of the same origin and trust share the
/// connection, so two APNs transports with keys of different teams need their own
/// ``ProviderHTTPClient`` (Apple answers `UnrelatedKeyIdInToken` to a second key on a connection).
///
/// The token: an ES256 JWT reused for ``Configuration/tokenRefreshInterval`` (``APNsProviderToken``).
/// After `ExpiredProviderToken` or `InvalidProviderToken` a new one is minted and the push is
/// sent once more; a second refusal is `misconfigured`.
///
/// Before anything is sent: an expired message is refused, a token that is not hex is a dead
/// address, a payload over 4,096 bytes or a collapse id over 64 bytes is `rejected` (never cut).
/// Every answer becomes an outcome (``APNsClassifier``).
public struct APNsTransport: Transport {
    public struct Configuration: Sendable, Hashable {
        /// Apple's production endpoint.
        public static let productionURL = "https://api.push.apple.com"
        /// Apple's development endpoint, for apps signed with a development profile.
        public static let developmentURL = "https://api.sandbox.push.apple.com"

        /// The 10-character Key ID of the `.p8` key (the JWT's `kid`).
        public var keyID: String
        /// The 10-character Team ID (the JWT's `iss`).
        public var teamID: String
        /// The `.p8` file's text: a P-256 private key, PKCS #8 PEM. ``readPrivateKey(atPath:)``
        /// reads one.
        public var privateKeyPEM: String
        /// The app's bundle id (`apns-topic`).
        public var topic: String
        /// Default ``productionURL``; ``developmentURL`` for development builds, the sandbox's
        /// `apnsURL` in tests and the demo.
        public var baseURL: String
        /// A PEM file of certificate authorities to trust instead of the system's (the sandbox
        /// writes one). Default none: the system's trust store.
        public var certificateAuthorityFile: String?
        /// `apns-push-type` of a push that is not silent; silent pushes are `background`.
        /// Default `alert`.
        public var pushType: String
        /// The most pushes of one `send` written at once; more go in turns; the dispatcher keeps
        /// this many pushes of a lane at APNs (its groups fill the streams). Default
        /// ``defaultConcurrency`` (the server's stream limit also holds: swift-nio-http2 queues
        /// streams above it).
        public var concurrency: Int
        /// 300 streams. A stream waits a round trip for its answer, so one connection carries
        /// at most the streams in flight per round trip; and the dispatcher records the
        /// outcomes of bigger groups in fewer transactions. On loopback to the sandbox, 300
        /// delivered 14,909 – 17,076 pushes/s where 100 delivered 12,778 – 14,643, in
        /// alternating runs (`herald bench deliver --channel push --streams N`). APNs takes one
        /// stream until the first valid token, then up to its own limit (1,000 in the sandbox).
        /// A `kill -9` repeats at most the pushes in flight: at most this many per worker.
        public static let defaultConcurrency = 300
        /// How long one JWT is reused; Apple wants 20 to 60 minutes. Default 50 minutes.
        public var tokenRefreshInterval: Duration
        /// The largest payload sent, in bytes. Default 4,096 (Apple's limit; 5,120 for VoIP).
        public var maximumPayloadSize: Int

        public init(
            keyID: String, teamID: String, privateKeyPEM: String, topic: String, baseURL: String = Configuration.productionURL,
            certificateAuthorityFile: String? = nil, pushType: String = "alert", concurrency: Int = defaultConcurrency,
            tokenRefreshInterval: Duration = .seconds(50 * 60), maximumPayloadSize: Int = APNsPayload.maximumSize
        ) {
            self.keyID = keyID
            self.teamID = teamID
            self.privateKeyPEM = privateKeyPEM
            self.topic = topic
            self.baseURL = baseURL
            self.certificateAuthorityFile = certificateAuthorityFile
            self.pushType = pushType
            self.concurrency = concurrency
            self.tokenRefreshInterval = tokenRefreshInterval
            self.maximumPayloadSize = maximumPayloadSize
        }

        /// The text of a `.p8` key file.
        ///
        /// - Throws: ``APNsConfigurationError`` naming the file and what is wrong with it.
        public static func readPrivateKey(atPath path: String) throws -> String {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw APNsConfigurationError("cannot read the APNs key file \(path): \((error as NSError).localizedDescription)")
            }
            guard let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN PRIVATE KEY-----") else {
                throw APNsConfigurationError(
                    "\(path) is not a .p8 key: expected a PEM file with '-----BEGIN PRIVATE KEY-----' (download it from Certificates, Identifiers & Profiles → Keys)"
                )
            }
            return text
        }
    }

    public let name: String
    public let configuration: Configuration
    /// The JWT shared by every push of this transport.
    public let token: APNsProviderToken
    let clock: any WallClock
    /// Kept for as long as the transport lives: its connections close when it goes (a client
    /// made for this provider alone, for its own `timeout:`, has no other owner).
    let http: ProviderHTTPClient
    /// The connection to `baseURL`'s origin, shared through the ``ProviderHTTPClient``.
    let connection: HTTP2Client
    /// The path of `baseURL`, if it has one, before `/3/device/…`.
    let basePath: String

    /// The streams kept open on the connection (`concurrency`): the dispatcher hands over
    /// enough pushes to fill them.
    public var multiplexedRequests: Int? { configuration.concurrency }

    /// - Throws: ``APNsConfigurationError`` when the key, an id, the topic or the CA file is unusable.
    public init(name: String, configuration: Configuration, http: ProviderHTTPClient, clock: any WallClock = SystemWallClock()) throws {
        do {
            token = try APNsProviderToken(
                keyID: configuration.keyID, teamID: configuration.teamID, privateKeyPEM: configuration.privateKeyPEM,
                refreshInterval: configuration.tokenRefreshInterval, clock: clock
            )
        } catch {
            throw APNsConfigurationError("provider \(name): \(error)")
        }
        guard !configuration.topic.isEmpty, MessageChecks.headerInjection(in: configuration.topic) == nil,
              !configuration.topic.contains(" ")
        else {
            throw APNsConfigurationError("provider \(name): the APNs topic '\(configuration.topic)' is not a bundle id (e.g. com.example.app)")
        }
        guard ["alert", "background", "voip", "complication", "fileprovider", "mdm", "location", "liveactivity", "pushtotalk", "widgets", "controls"]
            .contains(configuration.pushType)
        else {
            throw APNsConfigurationError("provider \(name): '\(configuration.pushType)' is not an apns-push-type (alert, background, voip, …)")
        }
        let tlsConfiguration: TLSConfiguration?
        if let file = configuration.certificateAuthorityFile {
            let certificates: [NIOSSLCertificate]
            do {
                certificates = try NIOSSLCertificate.fromPEMFile(file)
            } catch {
                throw APNsConfigurationError("provider \(name): cannot read the certificate authority file \(file) (PEM): \(error)")
            }
            guard !certificates.isEmpty else {
                throw APNsConfigurationError("provider \(name): the certificate authority file \(file) holds no PEM certificate")
            }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(certificates)
            tlsConfiguration = tls
        } else {
            tlsConfiguration = nil
        }
        do {
            connection = try http.http2Client(
                baseURL: configuration.baseURL, certificateAuthorityFile: configuration.certificateAuthorityFile, tlsConfiguration: tlsConfiguration
            )
        } catch {
            throw APNsConfigurationError("provider \(name): \(error)")
        }
        var path = URLComponents(string: configuration.baseURL)?.path ?? ""
        while path.hasSuffix("/") { path.removeLast() }
        basePath = path
        self.name = name
        self.configuration = configuration
        self.http = http
        self.clock = clock
    }

    /// Sends every push of `messages` at once, each on a stream of the one connection, and
    /// classifies each answer. Pushes refused with an expired or invalid provider token are
    /// sent once more with a new token.
    public func send(_ messages: [OutboundMessage]) async -> [DeliveryOutcome] {
        let now = clock.now
        var outcomes = [DeliveryOutcome?](repeating: nil, count: messages.count)
        var pending: [(index: Int, request: HTTP2Client.Request)] = []
        pending.reserveCapacity(messages.count)
        for (index, message) in messages.enumerated() {
            switch prepare(message, now: now) {
            case .refused(let outcome): outcomes[index] = outcome
            case .request(let request): pending.append((index, request))
            }
        }
        var jwt = token.current()
        var answers: [Result<ProviderHTTPClient.Answer, ProviderHTTPClient.Failure>] = []
        answers.reserveCapacity(pending.count)
        for start in stride(from: 0, to: pending.count, by: max(configuration.concurrency, 1)) {
            let turn = pending[start..<min(start + max(configuration.concurrency, 1), pending.count)]
            answers += await post(turn.map(\.request), jwt: jwt)
        }
        let refused = answers.indices.filter { position in
            guard case .success(let answer) = answers[position], answer.status == 403, let reason = APNsClassifier.reason(answer) else { return false }
            return APNsClassifier.reauthorizingReasons.contains(reason)
        }
        if !refused.isEmpty {
            jwt = token.refresh(replacing: jwt)
            let again = await post(refused.map { pending[$0].request }, jwt: jwt)
            for (position, answer) in zip(refused, again) { answers[position] = answer }
        }
        let answered = clock.now
        for ((index, _), answer) in zip(pending, answers) {
            switch answer {
            case .failure(let failure): outcomes[index] = .retry(after: nil, reason: "apns: \(failure.description)")
            case .success(let answer): outcomes[index] = APNsClassifier.outcome(answer, now: answered)
            }
        }
        return outcomes.map { $0! }
    }

    /// The headers that differ for every push: the device's path and the request id.
    static let unindexed: Set<String> = [":path", "apns-id"]

    /// The headers of one push, but `authorization`, in the order Apple's documentation lists them.
    public func headers(for message: OutboundMessage, content: PushContent, now: Date) -> [(String, String)] {
        var headers: [(String, String)] = [
            ("apns-push-type", content.isSilent ? "background" : configuration.pushType),
            ("apns-id", message.idempotencyID.uuidString.lowercased()),
        ]
        // A background push must be sent at priority 5; 10 is refused.
        let priority = content.isSilent || content.effectivePriority == .normal ? "5" : "10"
        var expiration: Int64?
        if let ttl = content.ttl { expiration = ttl <= 0 ? 0 : Int64(now.timeIntervalSince1970) + Int64(ttl) }
        if let expiresAt = message.expiresAt {
            let end = Int64(expiresAt.timeIntervalSince1970.rounded(.down))
            expiration = expiration.map { $0 == 0 ? 0 : min($0, end) } ?? end
        }
        headers.append(("apns-expiration", String(expiration ?? 0)))
        headers.append(("apns-priority", priority))
        headers.append(("apns-topic", configuration.topic))
        if let collapse = content.collapseKey, !collapse.isEmpty { headers.append(("apns-collapse-id", collapse)) }
        headers.append(("content-type", "application/json"))
        return headers
    }

    enum Prepared {
        case refused(DeliveryOutcome)
        case request(HTTP2Client.Request)
    }

    /// The request of one push, or why it is not sent: checked before anything goes out.
    func prepare(_ message: OutboundMessage, now: Date) -> Prepared {
        if let refused = MessageChecks.expiry(message, now: now) { return .refused(refused) }
        guard case .push(let content) = message.content else {
            return .refused(.rejected(reason: "\(name) carries push, and this is \(message.content.channel.rawValue) content"))
        }
        guard Self.isDeviceToken(message.address) else {
            return .refused(.deadAddress(reason: "'\(message.address.prefix(80))' is not an APNs device token (hex digits)"))
        }
        if let refusal = APNsPayload.refusal(content) ?? PushPayloadLimits.collapseKeyRefusal(content.collapseKey, service: .apns) {
            return .refused(.rejected(reason: refusal))
        }
        if let injected = content.collapseKey.flatMap(MessageChecks.headerInjection(in:)) {
            return .refused(.rejected(reason: "the collapse key contains \(injected)"))
        }
        let payload = APNsPayload.encode(content)
        guard payload.count <= configuration.maximumPayloadSize else {
            return .refused(.rejected(
                reason: "the APNs payload is \(payload.count) bytes; APNs takes at most \(configuration.maximumPayloadSize) (shorten the title, body or data)"
            ))
        }
        return .request(HTTP2Client.Request(
            path: basePath + "/3/device/" + message.address, headers: headers(for: message, content: content, now: now), body: payload,
            unindexed: Self.unindexed
        ))
    }

    /// The requests with the token, on the connection.
    func post(_ requests: [HTTP2Client.Request], jwt: APNsProviderToken.Token) async -> [Result<ProviderHTTPClient.Answer, ProviderHTTPClient.Failure>] {
        let authorization = "bearer " + jwt.jwt
        return await connection.execute(requests.map { request in
            var request = request
            request.headers.insert(("authorization", authorization), at: 0)
            return request
        })
    }

    /// Hex digits only, at least one: Apple says not to assume a length.
    static func isDeviceToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 200 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70) }
    }
}

/// An APNs transport that cannot start: its key, ids, topic or certificate file.
public struct APNsConfigurationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
