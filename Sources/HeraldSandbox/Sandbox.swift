import Foundation
import HTTPTypes
import HeraldCore
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Local emulators of Herald's providers on loopback: a real HTTP server (Hummingbird) that
/// serves each provider's API below its own prefix, checks requests as the provider does,
/// answers with its status codes and bodies, injects faults and records what it accepted.
///
/// ```swift
/// try await Sandbox.withRunning(Sandbox.Configuration(port: 0)) { sandbox in
///     let url = sandbox.baseURL(for: .twilio)     // http://127.0.0.1:53124/twilio
///     …
///     sandbox.log.messages                         // what it accepted
/// }
/// ```
public enum Sandbox {
    public struct Configuration: Sendable {
        /// The address to listen on. Default `127.0.0.1`.
        public var host: String
        /// The HTTP port; 0 picks a free one. Default 0.
        public var port: Int
        /// The credentials each emulator accepts. Default ``SandboxAccounts/init()``.
        public var accounts: SandboxAccounts
        /// Faults to inject. Default none.
        public var faults: FaultPlan
        /// A JSON Lines file that receives every accepted message. Default none.
        public var recordFile: String?
        /// The largest request body each provider takes, in bytes. Defaults: SendGrid 30 MB,
        /// Mandrill 25 MB, Twilio and Vonage 1 MB, APNs 4,096 bytes (its payload limit), the
        /// others 1 MB.
        public var maximumBodySizes: [SandboxProvider: Int]
        /// The SMTP port (STARTTLS required); 0 picks a free one, nil runs no SMTP server. Default 0.
        public var smtpPort: Int?
        /// The SMTPS port (implicit TLS); 0 picks a free one, nil runs none. Default nil.
        public var smtpsPort: Int?
        /// Whether the SMTP server on `smtpPort` offers (and requires) STARTTLS. False runs it
        /// in plain text with no TLS at all, taking AUTH and mail in the clear, to check that a
        /// client refuses such a server. Default true.
        public var smtpOffersSTARTTLS: Bool
        /// Where the certificate authority that signed the SMTP and APNs servers' certificates is
        /// written, for clients to trust (libcurl's CAINFO, `APNsTransport`'s
        /// `certificateAuthorityFile`). Default a file in the temporary directory.
        public var certificateAuthorityFile: String?
        /// Delivery webhooks, opens and clicks played back after acceptance. Default none.
        public var playback: PlaybackConfiguration?
        /// Keep every request's raw form (`MessageLog.requests`, at most 10,000), to check
        /// clients against the providers' specifications. Default false.
        public var recordsRequests: Bool
        /// The time emulators check tokens against (JWT `iat`/`exp`, access token expiry).
        /// Default the system's; tests share a manual clock with the client under test.
        public var clock: any WallClock = SystemWallClock()
        /// The APNs port (HTTP/2 over TLS, with a certificate from the same authority as SMTP's);
        /// 0 picks a free one, nil runs no APNs emulator. Default 0.
        public var apnsPort: Int?

        public init(
            host: String = "127.0.0.1", port: Int = 0, accounts: SandboxAccounts = SandboxAccounts(), faults: FaultPlan = FaultPlan(),
            recordFile: String? = nil, maximumBodySizes: [SandboxProvider: Int] = [:], smtpPort: Int? = 0, smtpsPort: Int? = nil,
            certificateAuthorityFile: String? = nil, playback: PlaybackConfiguration? = nil, recordsRequests: Bool = false,
            apnsPort: Int? = 0, smtpOffersSTARTTLS: Bool = true
        ) {
            self.smtpOffersSTARTTLS = smtpOffersSTARTTLS
            self.apnsPort = apnsPort
            self.playback = playback
            self.recordsRequests = recordsRequests
            self.smtpPort = smtpPort
            self.smtpsPort = smtpsPort
            self.certificateAuthorityFile = certificateAuthorityFile
            self.host = host
            self.port = port
            self.accounts = accounts
            self.faults = faults
            self.recordFile = recordFile
            self.maximumBodySizes = [.sendgrid: 30 * 1024 * 1024, .mandrill: 25 * 1024 * 1024, .twilio: 1024 * 1024, .vonage: 1024 * 1024]
                .merging(maximumBodySizes) { _, given in given }
        }
    }

    /// Starts the sandbox, runs `body` with it, and stops it when `body` returns or throws.
    public static func withRunning<T: Sendable>(
        _ configuration: Configuration = Configuration(),
        _ body: @Sendable (RunningSandbox) async throws -> T
    ) async throws -> T {
        let log = try MessageLog(recordFile: configuration.recordFile)
        let draw = FaultState(FaultDraw(seed: configuration.faults.seed, outagesFrom: configuration.faults.outagesFrom))
        let started = Date()
        let inbox = WebhookInbox()
        let queue = configuration.playback.map { PlaybackQueue(delay: $0.delay) }
        let events: any DeliveryEventSink = queue ?? NoEvents()
        let responder = SandboxResponder(configuration: configuration, log: log, draw: draw, started: started, events: events, inbox: inbox)
        var smtpServers: [SMTPServer] = []
        var authorityFile: String?
        var apnsServer: APNsServer?
        if configuration.smtpPort != nil || configuration.smtpsPort != nil || configuration.apnsPort != nil {
            let certificate = try SandboxCertificate.generate()
            let path = configuration.certificateAuthorityFile
                ?? FileManager.default.temporaryDirectory.appendingPathComponent("herald-sandbox-ca-\(UUID().uuidString.prefix(8)).pem").path
            authorityFile = try certificate.writeAuthority(to: path)
            for (port, implicitTLS) in [(configuration.smtpPort, false), (configuration.smtpsPort, true)] {
                guard let port else { continue }
                do {
                    smtpServers.append(try await SMTPServer.start(
                        host: configuration.host, port: port, implicitTLS: implicitTLS,
                        offersSTARTTLS: implicitTLS || configuration.smtpOffersSTARTTLS, certificate: certificate,
                        accounts: configuration.accounts, faults: configuration.faults[.smtp], draw: draw, started: started, log: log, events: events
                    ))
                } catch {
                    for server in smtpServers { await server.stop() }
                    throw SandboxError("the sandbox's SMTP server could not listen on \(configuration.host):\(port): \(error)")
                }
            }
            if let port = configuration.apnsPort {
                do {
                    apnsServer = try await APNsServer.start(
                        host: configuration.host, port: port, certificate: certificate,
                        context: APNsServerContext(configuration: configuration, draw: draw, started: started, log: log)
                    )
                } catch {
                    for server in smtpServers { await server.stop() }
                    throw SandboxError("the sandbox's APNs server could not listen on \(configuration.host):\(port): \(error)")
                }
            }
        }
        let smtp = (configuration.smtpPort != nil ? smtpServers.first : nil)
        let smtps = configuration.smtpsPort != nil ? smtpServers.last : nil
        defer {
            if configuration.certificateAuthorityFile == nil, let authorityFile { try? FileManager.default.removeItem(atPath: authorityFile) }
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "herald.sandbox")
        // Hummingbird reports a cancelled connection as an error when the sandbox stops.
        logger.logLevel = .critical
        let application = Application(
            responder: responder,
            server: .http1(configuration: HTTP1Channel.Configuration(additionalChannelHandlers: [ConnectionCounter(log: log)])),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: "herald-sandbox"),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            },
            logger: logger
        )
        // Stopped gracefully: it stops listening and finishes the requests it has. Cancelling
        // it instead drops connections it has accepted and not yet handed to a handler, which
        // NIO treats as a programming error (a crash). A request held on purpose (a
        // `timeout_rate` fault) is cancelled after a few seconds.
        var services = ServiceGroupConfiguration(services: [application], logger: logger)
        services.maximumGracefulShutdownDuration = .seconds(5)
        let server = ServiceGroup(configuration: services)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { continuation.finish() }
                try await server.run()
            }
            // Playback stops at once with the sandbox: what it has not posted yet is dropped.
            let playbackTask = configuration.playback.flatMap { playback in
                queue.map { queue in
                    let worker = PlaybackWorker(configuration: playback, accounts: configuration.accounts, inbox: inbox, seed: configuration.faults.seed)
                    return Task { await worker.run(queue) }
                }
            }
            defer { playbackTask?.cancel() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                for server in smtpServers { await server.stop() }
                await apnsServer?.stop()
                // The server stopped before it listened: its error says why (the port is taken…).
                try await group.next()
                throw SandboxError("the sandbox could not listen on \(configuration.host):\(configuration.port)")
            }
            let running = RunningSandbox(
                host: configuration.host, port: port, log: log, accounts: configuration.accounts,
                smtpPort: smtp?.port, smtpsPort: smtps?.port, certificateAuthorityFile: authorityFile, inbox: inbox,
                sendGridPublicKey: configuration.playback?.sendGridPublicKey, apnsPort: apnsServer?.port, apns: apnsServer?.context
            )
            let result: Result<T, any Error>
            do {
                result = .success(try await body(running))
            } catch {
                result = .failure(error)
            }
            for server in smtpServers { await server.stop() }
            await apnsServer?.stop()
            queue?.finish()
            playbackTask?.cancel()
            await server.triggerGracefulShutdown()
            return try result.get()
        }
    }
}

/// A started sandbox: where it listens and what it accepted.
public struct RunningSandbox: Sendable {
    public let host: String
    public let port: Int
    /// Every message accepted so far.
    public let log: MessageLog
    /// The credentials it accepts.
    public let accounts: SandboxAccounts
    /// The SMTP (STARTTLS) and SMTPS (implicit TLS) ports, when they run.
    public let smtpPort: Int?
    public let smtpsPort: Int?
    /// The certificate authority (PEM) a client trusts to check the SMTP and APNs servers'
    /// certificates.
    public let certificateAuthorityFile: String?
    /// What playback posted and fetched, and what `/sandbox/inbox` received.
    public let inbox: WebhookInbox
    /// SendGrid's event webhook verification key (base64 DER), when playback runs.
    public let sendGridPublicKey: String?
    /// The APNs (HTTP/2 over TLS) port, when it runs; `apnsURL` is its base URL.
    public let apnsPort: Int?
    let apns: APNsServerContext?

    /// The sandbox's own webhook receiver: `http://127.0.0.1:PORT/sandbox/inbox/<name>`.
    public func inboxURL(_ name: String) -> String {
        "http://\(host):\(port)/sandbox/inbox/\(name)"
    }

    /// `smtp://127.0.0.1:PORT`, when the SMTP server runs.
    public var smtpURL: String? { smtpPort.map { "smtp://\(host):\($0)" } }
    /// `smtps://127.0.0.1:PORT`, when the SMTPS server runs.
    public var smtpsURL: String? { smtpsPort.map { "smtps://\(host):\($0)" } }

    /// The base URL a provider of this kind points at: `http://127.0.0.1:PORT/twilio`.
    public func baseURL(for provider: SandboxProvider) -> String {
        "http://\(host):\(port)\(provider.pathPrefix)"
    }
}

/// Routes a request to its provider's emulator, around it the faults, and answers.
struct SandboxResponder: HTTPResponder {
    typealias Context = BasicRequestContext

    let configuration: Sandbox.Configuration
    let log: MessageLog
    let emulators: [String: any Emulator]
    let started: Date
    let draw: FaultState
    let events: any DeliveryEventSink

    let inbox: WebhookInbox

    init(configuration: Sandbox.Configuration, log: MessageLog, draw: FaultState, started: Date, events: any DeliveryEventSink, inbox: WebhookInbox) {
        self.inbox = inbox
        self.configuration = configuration
        self.log = log
        self.events = events
        self.started = started
        self.draw = draw
        let all: [any Emulator] = [TwilioEmulator(), SendGridEmulator(), VonageEmulator(), MandrillEmulator()]
        let push: [any Emulator] = [FCMEmulator(), WebPushEmulator(), JPushEmulator(), PushyEmulator()]
        emulators = Dictionary(uniqueKeysWithValues: (all + push).map { ($0.provider.pathPrefix, $0) })
    }

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        let path = request.uri.path
        let prefixEnd = path.dropFirst().firstIndex(of: "/") ?? path.endIndex
        let prefix = String(path[..<prefixEnd])
        if prefix == "/sandbox" {
            return try await sandboxEndpoint(request, path: String(path[prefixEnd...]))
        }
        if prefix == "/sendgrid", path.hasPrefix("/sendgrid/v3/user/webhooks/event/settings/signed"), request.method == .get {
            _ = try await Self.read(request.body, limit: 0)
            guard request.headers[.authorization] == "Bearer \(configuration.accounts.sendGridAPIKey)" else {
                return Self.response(SendGridEmulator.errors(401, [.init(message: "authorization required")]))
            }
            let id = path.split(separator: "/").last.map(String.init) ?? ""
            return Self.response(.json(200, ["id": id, "public_key": configuration.playback?.sendGridPublicKey ?? "", "enabled": configuration.playback != nil]))
        }
        guard let emulator = emulators[prefix] else {
            _ = try await Self.read(request.body, limit: 0)
            return Self.response(.json(404, ["error": "no emulator at \(prefix); try \(emulators.keys.sorted().joined(separator: ", "))"]))
        }
        let faults = configuration.faults[emulator.provider]
        let limit = configuration.maximumBodySizes[emulator.provider] ?? 1024 * 1024
        let (body, tooLarge) = try await Self.read(request.body, limit: limit)
        var (hangs, status, delay): (Bool, Int?, Duration?) = (false, nil, nil)
        if emulator.takesFaults(String(path[prefixEnd...])) {
            (hangs, status, delay) = draw.state.withLock { draw in
                (draw.hangs(faults), draw.status(for: faults, elapsed: Date().timeIntervalSince(started)), draw.delay(for: faults))
            }
        }
        if hangs {
            // Lost on the way: no answer until the client has long given up, and no effect.
            try? await Task.sleep(for: .seconds(120))
            return Self.response(.json(504, ["error": "the sandbox dropped this request (timeout_rate)"]))
        }
        if let delay { try? await Task.sleep(for: delay) }
        if let status {
            return Self.response(emulator.injectedError(status: status, retryAfter: faults.retryAfter, now: Date()))
        }
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { $0 + ", " + field.value } ?? field.value
        }
        // HTTPTypes moves Host to the authority; emulators that check an origin need it back.
        if headers["host"] == nil, let authority = request.head.authority { headers["host"] = authority }
        let sandboxRequest = SandboxRequest(
            method: request.method.rawValue, path: String(path[prefixEnd...]), query: request.uri.query ?? "",
            headers: headers, body: body, bodyTooLarge: tooLarge
        )
        if configuration.recordsRequests {
            log.record(RecordedRequest(
                provider: emulator.provider, method: sandboxRequest.method, path: sandboxRequest.path, headers: sandboxRequest.headers,
                body: sandboxRequest.body
            ))
        }
        let emulatorContext = EmulatorContext(
            accounts: configuration.accounts, faults: faults, log: log, now: configuration.clock.now, events: events, maximumBodySize: limit
        )
        return Self.response(emulator.handle(sandboxRequest, in: emulatorContext))
    }

    /// `GET /sandbox/messages` (every accepted message, as JSON), `DELETE` empties it.
    func sandboxEndpoint(_ request: Request, path: String) async throws -> Response {
        if path.hasPrefix("/inbox/"), request.method == .post {
            let (body, _) = try await Self.read(request.body, limit: 10 * 1024 * 1024)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.rawName] = field.value }
            inbox.received(WebhookInbox.Received(path: path, headers: headers, body: String(decoding: body, as: UTF8.self)))
            return Response(status: .ok)
        }
        _ = try await Self.read(request.body, limit: 0)
        switch (request.method, path) {
        case (.get, "/inbox"):
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let body = try encoder.encode(inbox.received)
            return Self.response(SandboxResponse(status: 200, headers: [("Content-Type", "application/json")], body: body))
        case (.get, "/messages"):
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let body = try encoder.encode(log.messages)
            return Self.response(SandboxResponse(status: 200, headers: [("Content-Type", "application/json")], body: body))
        case (.delete, "/messages"):
            log.removeAll()
            return Response(status: .noContent)
        case (.get, "/health"):
            return Self.response(.json(200, ["status": "ok", "accepted": log.count]))
        default:
            return Self.response(.json(404, ["error": "unknown sandbox endpoint \(path)"]))
        }
    }

    /// Reads a body up to `limit` bytes; past it the rest is drained and dropped, and the flag
    /// set, so that the emulator answers 413 the way its provider does.
    static func read(_ body: RequestBody, limit: Int) async throws -> (Data, tooLarge: Bool) {
        var data = Data()
        var tooLarge = false
        for try await buffer in body {
            if tooLarge { continue }
            if data.count + buffer.readableBytes > limit {
                tooLarge = true
                data = Data()
                continue
            }
            data.append(contentsOf: buffer.readableBytesView)
        }
        return (data, tooLarge)
    }

    static func response(_ answer: SandboxResponse) -> Response {
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        return Response(
            status: HTTPResponse.Status(code: answer.status), headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body))
        )
    }
}

/// Counts the HTTP connections the server accepts (``MessageLog/httpConnections``): one is
/// added to each connection's pipeline, and only passes data on.
final class ConnectionCounter: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny
    let log: MessageLog

    init(log: MessageLog) {
        self.log = log
    }

    func handlerAdded(context: ChannelHandlerContext) {
        log.countHTTPConnection()
    }
}

/// The fault generator, shared by the requests of one sandbox.
final class FaultState: Sendable {
    let state: Mutex<FaultDraw>
    init(_ draw: FaultDraw) { state = Mutex(draw) }
}
