import Foundation
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization

/// The sandbox's APNs endpoint: its own TLS port that speaks HTTP/2 only (ALPN `h2`; a client
/// that cannot negotiate it gets no answer), with the certificate the sandbox's authority
/// signed. Each stream is one request for ``APNsEmulator``; faults from the plan are drawn per
/// request as on the HTTP emulators.
final class APNsServer: Sendable {
    let channel: any Channel
    let context: APNsServerContext

    static func start(host: String, port: Int, certificate: SandboxCertificate, context: APNsServerContext) async throws -> APNsServer {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificate.chainPEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(certificate.privateKeyPEM.utf8), format: .pem))
        )
        configuration.applicationProtocols = ["h2"]
        configuration.minimumTLSVersion = .tlsv12
        let tls = try NIOSSLContext(configuration: configuration)
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    context.opened(channel)
                    channel.closeFuture.whenComplete { _ in context.closed(channel) }
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    var connectionConfiguration = NIOHTTP2Handler.ConnectionConfiguration()
                    // As APNs: one stream until a request carries a valid token, then
                    // 1,000 (APNsStreamHandler raises it).
                    connectionConfiguration.initialSettings = [
                        HTTP2Setting(parameter: .maxConcurrentStreams, value: 1),
                        HTTP2Setting(parameter: .maxHeaderListSize, value: 16 * 1024),
                    ]
                    let connection = APNsConnectionState()
                    _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .server, connectionConfiguration: connectionConfiguration, streamConfiguration: .init()
                    ) { stream in
                        stream.eventLoop.makeCompletedFuture {
                            try stream.pipeline.syncOperations.addHandlers([
                                HTTP2FramePayloadToHTTP1ServerCodec(), APNsStreamHandler(context: context, connection: connection),
                            ])
                        }
                    }
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        return APNsServer(channel: channel, context: context)
    }

    private init(channel: any Channel, context: APNsServerContext) {
        self.channel = channel
        self.context = context
    }

    var port: Int { channel.localAddress?.port ?? 0 }

    /// Stops listening and closes the open connections.
    func stop() async {
        try? await channel.close()
        for connection in context.openConnections { try? await connection.close() }
    }
}

/// What every connection and stream of one APNs server shares: the emulator, the faults, the
/// log, and the counts a test reads (connections accepted, streams open at once).
final class APNsServerContext: Sendable {
    let emulator: APNsEmulator
    let faults: ProviderFaults
    let draw: FaultState
    let started: Date
    let log: MessageLog
    let recordsRequests: Bool

    private struct Counts {
        var connections = 0
        var openStreams = 0
        var peakStreams = 0
        var open: [ObjectIdentifier: any Channel] = [:]
    }

    private let counts = Mutex(Counts())

    init(emulator: APNsEmulator, faults: ProviderFaults, draw: FaultState, started: Date, log: MessageLog, recordsRequests: Bool) {
        self.emulator = emulator
        self.faults = faults
        self.draw = draw
        self.started = started
        self.log = log
        self.recordsRequests = recordsRequests
    }

    func opened(_ channel: any Channel) {
        counts.withLock {
            $0.connections += 1
            $0.open[ObjectIdentifier(channel)] = channel
        }
    }

    func closed(_ channel: any Channel) {
        _ = counts.withLock { $0.open.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var openConnections: [any Channel] { counts.withLock { Array($0.open.values) } }

    func streamOpened() {
        counts.withLock {
            $0.openStreams += 1
            $0.peakStreams = max($0.peakStreams, $0.openStreams)
        }
    }

    func streamClosed() {
        counts.withLock { $0.openStreams -= 1 }
    }

    func expireSeenTokens() { emulator.expireSeenTokens() }

    /// TCP connections accepted since the start.
    var connections: Int { counts.withLock { $0.connections } }
    /// The most requests (streams) that were open at once.
    var peakStreams: Int { counts.withLock { $0.peakStreams } }
}

/// One HTTP/2 stream, seen as an HTTP/1-style request: read it whole (bounded), answer once.
final class APNsStreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let context: APNsServerContext
    private let connection: APNsConnectionState
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var tooLarge = false

    init(context: APNsServerContext, connection: APNsConnectionState) {
        self.context = context
        self.connection = connection
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context.streamOpened()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context.streamClosed()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body(let buffer):
            // Read a little past the limit, so that an oversized payload is answered 413, not cut.
            if tooLarge { return }
            if body.readableBytes + buffer.readableBytes > self.context.emulator.maximumPayloadSize + 1 {
                tooLarge = true
                body.clear()
            } else {
                var buffer = buffer
                body.writeBuffer(&buffer)
            }
        case .end:
            guard let head else { return }
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let server = self.context
        let faults = server.faults
        let (hangs, status, delay) = server.draw.state.withLock { draw in
            (draw.hangs(faults), draw.status(for: faults, elapsed: Date().timeIntervalSince(server.started)), draw.delay(for: faults))
        }
        // Lost on the way: no answer at all; the client's deadline ends the request.
        if hangs { return }
        // HTTP/2 names are in lower case (NIOHTTP2 refuses others).
        var headers: [String: String] = [:]
        headers.reserveCapacity(head.headers.count)
        for (name, value) in head.headers {
            headers[name] = headers[name].map { $0 + ", " + value } ?? value
        }
        let path = head.uri.firstIndex(of: "?").map { String(head.uri[..<$0]) } ?? head.uri
        let request = SandboxRequest(
            method: head.method.rawValue, path: path, headers: headers, body: Data(body.readableBytesView), bodyTooLarge: tooLarge
        )
        if server.recordsRequests {
            server.log.record(RecordedRequest(provider: .apns, method: request.method, path: request.path, headers: request.headers, body: request.body))
        }
        let response: SandboxResponse
        if let status {
            response = server.emulator.injectedError(status: status, retryAfter: faults.retryAfter, apnsID: request.header("apns-id"))
        } else {
            let (answer, message) = server.emulator.handle(request, connection: connection, now: Date(), invalid: faults.invalid)
            if let message { server.log.append([message]) }
            response = answer
            if connection.raisesStreamLimit(), let parent = context.channel.parent {
                let settings = HTTP2Frame(streamID: .rootStream, payload: .settings(.settings([HTTP2Setting(parameter: .maxConcurrentStreams, value: 1000)])))
                parent.writeAndFlush(settings, promise: nil)
            }
        }
        if let delay {
            let nanoseconds = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
            context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) {
                self.write(response, context: context)
            }
        } else {
            write(response, context: context)
        }
    }

    private func write(_ response: SandboxResponse, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        for (name, value) in response.headers { headers.add(name: name.lowercased(), value: value) }
        headers.replaceOrAdd(name: "content-length", value: String(response.body.count))
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http2, status: HTTPResponseStatus(statusCode: response.status), headers: headers))), promise: nil)
        if !response.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
