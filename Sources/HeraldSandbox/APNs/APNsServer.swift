import Foundation
import NIOCore
import NIOHPACK
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
                    // As APNs: one stream until a request carries a valid token, then 1,000
                    // (APNsConnectionHandler raises it). Streams are read as frames on the
                    // connection itself: no channel, pipeline and HTTP/1 translation per request.
                    try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .server, initialSettings: [
                        HTTP2Setting(parameter: .maxConcurrentStreams, value: 1),
                        HTTP2Setting(parameter: .maxHeaderListSize, value: 16 * 1024),
                    ]))
                    try channel.pipeline.syncOperations.addHandler(APNsConnectionHandler(context: context, connection: APNsConnectionState()))
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

/// One connection's requests, each an HTTP/2 stream read from its frames: its headers, then its
/// body (bounded), answered once when the client ends it.
final class APNsConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// A request being read.
    private struct Stream {
        var headers: HPACKHeaders
        var body = ByteBuffer()
        var tooLarge = false
        /// Body bytes not yet given back to the client's window for this stream.
        var unacknowledged = 0
    }

    /// Both windows as HTTP/2 starts them; given back once half is used.
    private static let window = 65_535

    private let context: APNsServerContext
    private let connection: APNsConnectionState
    private var reading: [HTTP2StreamID: Stream] = [:]
    /// Streams opened and not yet closed (answered, reset, or the connection gone): the counts.
    private var open: Set<HTTP2StreamID> = []
    private var unacknowledged = 0
    /// Answers written while reading, flushed together when the read ends.
    private var wroteInRead = false

    init(context: APNsServerContext, connection: APNsConnectionState) {
        self.context = context
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let id = frame.streamID
        switch frame.payload {
        case .headers(let headers):
            if var stream = reading[id] {
                // Trailers: only their end matters.
                if headers.endStream {
                    reading[id] = nil
                    respond(to: stream, on: id, context: context)
                } else {
                    stream.headers.add(contentsOf: headers.headers)
                    reading[id] = stream
                }
                return
            }
            guard open.insert(id).inserted else { return }
            self.context.streamOpened()
            let stream = Stream(headers: headers.headers)
            if headers.endStream {
                respond(to: stream, on: id, context: context)
            } else {
                reading[id] = stream
            }
        case .data(let data):
            let length = data.data.readableBytes + (data.paddingBytes.map { $0 + 1 } ?? 0)
            unacknowledged += length
            if unacknowledged >= Self.window / 2 {
                context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: unacknowledged))), promise: nil)
                wroteInRead = true
                unacknowledged = 0
            }
            guard var stream = reading[id] else { return }
            // Read a little past the limit, so that an oversized payload is answered 413, not cut.
            if case .byteBuffer(var buffer) = data.data, !stream.tooLarge {
                if stream.body.readableBytes + buffer.readableBytes > self.context.emulator.maximumPayloadSize + 1 {
                    stream.tooLarge = true
                    stream.body.clear()
                } else {
                    stream.body.writeBuffer(&buffer)
                }
            }
            if data.endStream {
                reading[id] = nil
                respond(to: stream, on: id, context: context)
                return
            }
            stream.unacknowledged += length
            if stream.unacknowledged >= Self.window / 2 {
                context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .windowUpdate(windowSizeIncrement: stream.unacknowledged))), promise: nil)
                wroteInRead = true
                stream.unacknowledged = 0
            }
            reading[id] = stream
        case .rstStream:
            reading[id] = nil
        default:
            // Settings, pings, window updates and GOAWAY are NIOHTTP2Handler's.
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if wroteInRead {
            wroteInRead = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let closed = event as? StreamClosedEvent {
            reading[closed.streamID] = nil
            if open.remove(closed.streamID) != nil { self.context.streamClosed() }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A stream's error (NIOHTTP2Handler reset it) ends that request; any other ends the
        // connection, as nothing more can be read on it.
        if let error = error as? NIOHTTP2Errors.StreamError {
            reading[error.streamID] = nil
            return
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        reading.removeAll()
        for _ in open { self.context.streamClosed() }
        open.removeAll()
        context.fireChannelInactive()
    }

    private func respond(to stream: Stream, on id: HTTP2StreamID, context: ChannelHandlerContext) {
        let server = self.context
        let faults = server.faults
        let (hangs, status, delay) = server.draw.state.withLock { draw in
            (draw.hangs(faults), draw.status(for: faults, elapsed: Date().timeIntervalSince(server.started)), draw.delay(for: faults))
        }
        // Lost on the way: no answer at all; the client's deadline ends the request.
        if hangs { return }
        // HTTP/2 names are in lower case (NIOHTTP2 refuses others); the pseudo-headers are the
        // request line, and `:authority` is the host, as HTTP/1 would have it.
        var method = ""
        var target = ""
        var headers: [String: String] = [:]
        headers.reserveCapacity(stream.headers.count)
        for (name, value, _) in stream.headers {
            switch name {
            case ":method": method = value
            case ":path": target = value
            case ":authority": headers["host"] = value
            case _ where name.hasPrefix(":"): continue
            default: headers[name] = headers[name].map { $0 + ", " + value } ?? value
            }
        }
        let path = target.firstIndex(of: "?").map { String(target[..<$0]) } ?? target
        let request = SandboxRequest(
            method: method, path: path, headers: headers, body: Data(stream.body.readableBytesView), bodyTooLarge: stream.tooLarge
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
            if connection.raisesStreamLimit() {
                let settings = HTTP2Frame(streamID: .rootStream, payload: .settings(.settings([HTTP2Setting(parameter: .maxConcurrentStreams, value: 1000)])))
                context.write(wrapOutboundOut(settings), promise: nil)
                wroteInRead = true
            }
        }
        if let delay {
            let nanoseconds = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
            context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) {
                self.write(response, on: id, context: context)
                context.flush()
            }
        } else {
            write(response, on: id, context: context)
            wroteInRead = true
        }
    }

    /// The answer's frames; a stream the client reset meanwhile refuses them, which is no error.
    private func write(_ response: SandboxResponse, on id: HTTP2StreamID, context: ChannelHandlerContext) {
        var headers = HPACKHeaders()
        headers.reserveCapacity(response.headers.count + 2)
        headers.add(name: ":status", value: String(response.status))
        for (name, value) in response.headers where name.lowercased() != "content-length" { headers.add(name: name.lowercased(), value: value) }
        headers.add(name: "content-length", value: String(response.body.count))
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers, endStream: response.body.isEmpty)))), promise: nil)
        if !response.body.isEmpty {
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(ByteBuffer(bytes: response.body)), endStream: true)))), promise: nil)
        }
    }
}
