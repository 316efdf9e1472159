import Foundation
import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// One origin over one HTTP/2 connection, for a provider that takes one request per message on
/// many streams at once (APNs): a group of requests is written in one hop onto the event loop
/// and one flush, and answered together.
///
/// It stands beside ``ProviderHTTPClient`` (async-http-client), which every other transport
/// uses, because a push costs about half the CPU this way: no stream channel, no HTTP/1 codec
/// and no task per request; only the frames (swift-nio-http2's `NIOHTTP2Handler`, which keeps the
/// connection's state machine, HPACK, flow control toward the server and a queue of the streams
/// above the server's `SETTINGS_MAX_CONCURRENT_STREAMS`).
///
/// The connection opens on the first request (TLS, ALPN `h2` required) and is kept; after
/// a GOAWAY, a close or a failed connect, the next group opens a new one. Requests that the
/// server never took (beyond a GOAWAY's last stream, or written to a closed connection) and
/// requests without an answer by their deadline fail with a ``ProviderHTTPClient/Failure``;
/// a 2xx whose stream broke off before its end is an answer, marked truncated (the server took
/// the message: sending it again would deliver it twice).
public final class HTTP2Client: Sendable {
    /// One request: the method and path of the origin, headers (names are sent lowercased, as
    /// HTTP/2 wants), and a body.
    public struct Request: Sendable {
        public var method: HTTPMethod
        public var path: String
        public var headers: [(String, String)]
        public var body: [UInt8]
        /// Headers (`:path` among them) whose value is this request's alone (a device token, a
        /// request id): sent without entering HPACK's dynamic table (RFC 7541 §7.1.3). Entered,
        /// they would push out the values every request repeats (APNs' 200-byte JWT), which
        /// then went out in full, Huffman-coded, on most requests.
        public var unindexed: Set<String>

        public init(method: HTTPMethod = .POST, path: String, headers: [(String, String)], body: [UInt8], unindexed: Set<String> = []) {
            self.method = method
            self.path = path
            self.headers = headers
            self.body = body
            self.unindexed = unindexed
        }
    }

    /// `https://host[:port]` of the server.
    public let origin: String
    let host: String
    let port: Int
    let authority: String
    let tls: NIOSSLContext
    let configuration: ProviderHTTPClient.Configuration
    let group: any EventLoopGroup
    private let slot = Mutex<Slot>(.empty)

    private enum Slot {
        case empty
        case connecting(EventLoopFuture<HTTP2Connection>)
        case ready(HTTP2Connection)
        case shutDown
    }

    /// - Parameters:
    ///   - baseURL: `https://host[:port]`; a path after it is ignored (requests carry theirs).
    ///   - tlsConfiguration: trust roots and the like; ALPN is set to `h2` here.
    /// - Throws: ``HTTP2ClientError`` for a URL that is not `https://host[:port]`, or a TLS
    ///   configuration NIOSSL refuses.
    public init(
        baseURL: String, tlsConfiguration: TLSConfiguration? = nil, configuration: ProviderHTTPClient.Configuration = .init(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws {
        // The host goes out as `:authority` unchecked by swift-nio-http2 (see `problem(with:)`):
        // no spaces or control characters, which a percent-escape in the URL could decode to.
        guard let components = URLComponents(string: baseURL), components.scheme?.lowercased() == "https",
              let host = components.host, !host.isEmpty, host.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F })
        else {
            throw HTTP2ClientError("'\(baseURL)' is not an https:// URL with a host (HTTP/2 here always runs over TLS)")
        }
        let port = components.port ?? 443
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = port
        authority = port == 443 ? host : "\(host):\(port)"
        origin = "https://" + authority
        var tlsConfiguration = tlsConfiguration ?? .makeClientConfiguration()
        tlsConfiguration.applicationProtocols = ["h2"]
        do {
            tls = try NIOSSLContext(configuration: tlsConfiguration)
        } catch {
            throw HTTP2ClientError("cannot set up TLS for \(origin): \(error)")
        }
        self.configuration = configuration
        self.group = group
    }

    /// Sends `requests` on the connection (opened first when there is none) and returns their
    /// answers in the same order. Each request's deadline is the client's read timeout or
    /// request timeout, whichever is shorter; a cancelled task gets its requests back as
    /// failures at once.
    public func execute(_ requests: [Request]) async -> [Result<ProviderHTTPClient.Answer, ProviderHTTPClient.Failure>] {
        guard !requests.isEmpty else { return [] }
        let connection: HTTP2Connection
        do {
            connection = try await usableConnection()
        } catch is CancellationError {
            return Array(repeating: .failure(.init(description: "the request was cancelled")), count: requests.count)
        } catch {
            let failure = ProviderHTTPClient.Failure(description: Self.describeConnectFailure(error, origin: origin))
            return Array(repeating: .failure(failure), count: requests.count)
        }
        let timeout = min(configuration.readTimeout, configuration.requestTimeout)
        let batch = HTTP2Batch(count: requests.count, promise: connection.channel.eventLoop.makePromise())
        return await withTaskCancellationHandler {
            connection.submit(requests, batch: batch, authority: authority, timeout: timeout)
            return (try? await batch.promise.futureResult.get())
                ?? Array(repeating: .failure(.init(description: "the request was cancelled")), count: requests.count)
        } onCancel: {
            connection.cancel(batch)
        }
    }

    /// Closes the connection. Requests after this fail.
    public func shutdown() async {
        let current: HTTP2Connection? = slot.withLock { slot in
            defer { slot = .shutDown }
            if case .ready(let connection) = slot { return connection }
            return nil
        }
        if let current { try? await current.channel.close() }
    }

    /// Closes the connection without waiting (a client dropped without ``shutdown()``).
    func close() {
        let current: HTTP2Connection? = slot.withLock { slot in
            defer { slot = .shutDown }
            if case .ready(let connection) = slot { return connection }
            return nil
        }
        current?.channel.close(promise: nil)
    }

    private func usableConnection() async throws -> HTTP2Connection {
        enum Next {
            case use(HTTP2Connection)
            case wait(EventLoopFuture<HTTP2Connection>)
            case open(EventLoopPromise<HTTP2Connection>)
            case shutDown
        }
        let next: Next = slot.withLock { slot in
            switch slot {
            case .ready(let connection) where connection.isUsable:
                return .use(connection)
            case .connecting(let future):
                return .wait(future)
            case .shutDown:
                return .shutDown
            case .empty, .ready:
                let promise = group.next().makePromise(of: HTTP2Connection.self)
                slot = .connecting(promise.futureResult)
                return .open(promise)
            }
        }
        switch next {
        case .use(let connection):
            return connection
        case .wait(let future):
            return try await Self.wait(for: future)
        case .shutDown:
            throw HTTP2ClientError("the HTTP client was shut down")
        case .open(let promise):
            // The slot is settled when the connection is up or failed, whether or not the task
            // that opened it still waits (it may be cancelled): the next call finds it.
            promise.futureResult.whenComplete { result in
                let orphan: HTTP2Connection? = self.slot.withLock { slot in
                    switch (slot, result) {
                    case (.shutDown, .success(let connection)): return connection
                    case (.shutDown, .failure): return nil
                    case (_, .success(let connection)):
                        slot = .ready(connection)
                        return nil
                    case (_, .failure):
                        slot = .empty
                        return nil
                    }
                }
                orphan?.channel.close(promise: nil)
            }
            connect().cascade(to: promise)
            return try await Self.wait(for: promise.futureResult)
        }
    }

    /// Waits for the connection, or until the task is cancelled.
    private static func wait(for future: EventLoopFuture<HTTP2Connection>) async throws -> HTTP2Connection {
        let waiter = future.eventLoop.makePromise(of: HTTP2Connection.self)
        future.cascade(to: waiter)
        return try await withTaskCancellationHandler {
            try await waiter.futureResult.get()
        } onCancel: {
            waiter.fail(CancellationError())
        }
    }

    private func connect() -> EventLoopFuture<HTTP2Connection> {
        let tls = tls
        let serverHostname = host.isIPAddress ? nil : host
        let origin = origin
        let handshakeTimeout = TimeAmount.nanoseconds(Int64(configuration.connectTimeout.seconds * 1e9))
        let maximumAnswerSize = configuration.maximumAnswerSize
        let eventLoop = group.next()
        let ready = eventLoop.makePromise(of: HTTP2Connection.self)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(handshakeTimeout)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = HTTP2RequestHandler(maximumAnswerSize: maximumAnswerSize)
                    let connection = HTTP2Connection(channel: channel, handler: handler)
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverHostname))
                    try channel.pipeline.syncOperations.addHandler(
                        HandshakeGate(origin: origin, connection: connection, ready: ready, timeout: handshakeTimeout)
                    )
                    try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .client, initialSettings: [
                        HTTP2Setting(parameter: .enablePush, value: 0),
                        HTTP2Setting(parameter: .maxConcurrentStreams, value: 100),
                        HTTP2Setting(parameter: .maxHeaderListSize, value: HPACKDecoder.defaultMaxHeaderListSize),
                    ], headerBlockValidation: .disabled))
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        bootstrap.connect(host: host, port: port).whenFailure { ready.fail($0) }
        return ready.futureResult
    }

    static func describeConnectFailure(_ error: any Error, origin: String) -> String {
        switch error {
        case let error as HTTP2ClientError: return error.description
        case is ChannelError: return "could not connect to \(origin): \(error)"
        case let error as NIOSSLError: return "the TLS handshake with \(origin) failed: \(error)"
        default: return "could not connect to \(origin): \(error)"
        }
    }
}

/// Why an ``HTTP2Client`` cannot be made or cannot connect, in words.
public struct HTTP2ClientError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The answers of one ``HTTP2Client/execute(_:)`` call, filled on the event loop.
final class HTTP2Batch: @unchecked Sendable {
    // Touched on the connection's event loop only.
    var results: [Result<ProviderHTTPClient.Answer, ProviderHTTPClient.Failure>?]
    var remaining: Int
    var streams: [HTTP2StreamID] = []
    var timeout: Scheduled<Void>?
    /// Why the batch was given up before it was sent (a task cancelled early), if it was.
    var abandoned: String?
    let promise: EventLoopPromise<[Result<ProviderHTTPClient.Answer, ProviderHTTPClient.Failure>]>

    init(count: Int, promise: EventLoopPromise<[Result<ProviderHTTPClient.Answer, ProviderHTTPClient.Failure>]>) {
        results = Array(repeating: nil, count: count)
        remaining = count
        self.promise = promise
    }

    /// Records one answer; the last one completes the batch.
    func finish(_ index: Int, _ result: Result<ProviderHTTPClient.Answer, ProviderHTTPClient.Failure>) {
        guard results[index] == nil else { return }
        results[index] = result
        remaining -= 1
        if remaining == 0 {
            timeout?.cancel()
            promise.succeed(results.map { $0! })
        }
    }
}

/// Whether a connection takes new requests: false once it closed, received a GOAWAY or used up
/// its stream ids.
final class HTTP2Usability: Sendable {
    private let value = Atomic<Bool>(true)

    var isUsable: Bool { value.load(ordering: .relaxed) }

    func retire() { value.store(false, ordering: .relaxed) }
}

/// One open connection: its channel and the handler that keeps its streams.
final class HTTP2Connection: Sendable {
    let channel: any Channel
    private let handler: NIOLoopBound<HTTP2RequestHandler>
    let usability: HTTP2Usability

    init(channel: any Channel, handler: HTTP2RequestHandler) {
        self.channel = channel
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        usability = handler.usability
    }

    var isUsable: Bool { usability.isUsable }

    func submit(_ requests: [HTTP2Client.Request], batch: HTTP2Batch, authority: String, timeout: Duration) {
        let handler = handler
        channel.eventLoop.execute {
            handler.value.send(requests, batch: batch, authority: authority, timeout: timeout)
        }
    }

    func cancel(_ batch: HTTP2Batch) {
        let handler = handler
        channel.eventLoop.execute {
            handler.value.abandon(batch, reason: "the request was cancelled")
        }
    }
}

/// Waits for the TLS handshake, checks that ALPN chose `h2`, then hands the connection over.
private final class HandshakeGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let origin: String
    let connection: HTTP2Connection
    let ready: EventLoopPromise<HTTP2Connection>
    let timeout: TimeAmount
    var timer: Scheduled<Void>?
    var done = false

    init(origin: String, connection: HTTP2Connection, ready: EventLoopPromise<HTTP2Connection>, timeout: TimeAmount) {
        self.origin = origin
        self.connection = connection
        self.ready = ready
        self.timeout = timeout
    }

    func channelActive(context: ChannelHandlerContext) {
        let origin = origin
        let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        let loopBoundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            loopBoundSelf.value.fail(HTTP2ClientError("the TLS handshake with \(origin) did not finish in time"), context: loopBoundContext.value)
        }
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = event, !done {
            done = true
            timer?.cancel()
            if negotiated == "h2" {
                ready.succeed(connection)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            } else {
                connection.usability.retire()
                ready.fail(HTTP2ClientError(
                    "\(origin) does not speak HTTP/2: its TLS handshake chose \(negotiated.map { "'\($0)'" } ?? "no protocol") where 'h2' is needed (ALPN)"
                ))
                context.close(promise: nil)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error, context: context)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(HTTP2ClientError("\(origin) closed the connection during the TLS handshake"), context: context)
        context.fireChannelInactive()
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        guard !done else { return }
        done = true
        timer?.cancel()
        connection.usability.retire()
        ready.fail(error)
        context.close(promise: nil)
    }
}

/// The streams of one connection: writes each request as a HEADERS and a DATA frame on a new
/// stream, reads the answers' frames back, and keeps the connection's receive window open.
final class HTTP2RequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// The HEADERS of `request`: the pseudo-headers, its headers (names in lower case) and its
    /// `content-length`; those it names ``HTTP2Client/Request/unindexed`` stay out of HPACK's
    /// dynamic table.
    static func headerBlock(of request: HTTP2Client.Request, authority: String) -> HPACKHeaders {
        var headers = HPACKHeaders()
        headers.reserveCapacity(request.headers.count + 5)
        headers.add(name: ":method", value: request.method.rawValue)
        headers.add(name: ":scheme", value: "https")
        // A scan of the few unindexed names, not a hash of every name of every request.
        func indexing(_ name: String) -> HPACKIndexing {
            request.unindexed.contains(where: { $0 == name }) ? .nonIndexable : .indexable
        }
        headers.add(name: ":path", value: request.path, indexing: indexing(":path"))
        headers.add(name: ":authority", value: authority)
        for (name, value) in request.headers {
            let name = lowercased(name)
            headers.add(name: name, value: value, indexing: indexing(name))
        }
        headers.add(name: "content-length", value: String(request.body.count))
        return headers
    }

    private struct Stream {
        var batch: HTTP2Batch
        var index: Int
        var status: Int?
        var headers = HTTPHeaders()
        var body = ByteBuffer()
        var truncated = false
        var unacknowledged = 0
    }

    /// The window kept open for answers: a WINDOW_UPDATE is sent once half of it was used.
    static let window = 65_535

    let maximumAnswerSize: Int
    let usability = HTTP2Usability()
    private var context: ChannelHandlerContext?
    private var streams: [HTTP2StreamID: Stream] = [:]
    private var nextStreamID: Int32 = 1
    private var unacknowledgedConnectionBytes = 0
    private var wroteInRead = false
    private var isClosed = false

    init(maximumAnswerSize: Int) {
        self.maximumAnswerSize = maximumAnswerSize
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Why `request` cannot go out as HTTP/2 (RFC 9113 §8.2), or nil. swift-nio-http2's own
    /// check of every header block is off (`headerBlockValidation: .disabled`: it cost a tenth of
    /// the connection's time per push), so the requests are checked here, more cheaply, before
    /// anything is written: the path is an origin-form path without spaces or control
    /// characters; a name is lower-case visible ASCII (it is lowercased when sent), not a
    /// pseudo-header and not a connection-specific field; a value holds no NUL, CR or LF
    /// (swift-nio-http2 did not refuse a value's edge whitespace either). The method is an enum
    /// and the authority was checked when the client was made. An answer's headers are not
    /// checked: only `:status` and the named headers are read from it, and an answer without a
    /// status is a failure that says so (its stream reset, as swift-nio-http2 did).
    static func problem(with request: HTTP2Client.Request) -> String? {
        let path = request.path.utf8
        guard path.first == UInt8(ascii: "/"), path.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return "the path '\(request.path.prefix(80))' is not an origin-form path (it starts with '/' and has no spaces or control characters)"
        }
        for (name, value) in request.headers {
            guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
                return "the header name '\(name.prefix(80))' is not a visible ASCII token"
            }
            if Self.isConnectionSpecific(name, value: value) {
                return "the header '\(name)' is connection-specific, which HTTP/2 forbids"
            }
            let bytes = value.utf8
            if bytes.contains(where: { $0 == 0 || $0 == 0x0A || $0 == 0x0D }) {
                return "the value of header '\(name)' contains a NUL, CR or LF"
            }
        }
        return nil
    }

    /// Whether `name` is a field of HTTP/1.1 connections that an HTTP/2 request must not carry
    /// (RFC 9113 §8.2.2; `te` only as `trailers`). Compared, not hashed: it runs for every
    /// header of every push.
    static func isConnectionSpecific(_ name: String, value: String) -> Bool {
        switch name.utf8.first.map({ $0 | 0x20 }) {
        case UInt8(ascii: "c"), UInt8(ascii: "k"), UInt8(ascii: "p"), UInt8(ascii: "t"), UInt8(ascii: "u"): break
        default: return false
        }
        switch lowercased(name) {
        case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade": return true
        case "te": return value != "trailers"
        default: return false
        }
    }

    /// `name` in lower case, copied only when it has an upper-case letter (a transport's names
    /// usually are lower case already).
    static func lowercased(_ name: String) -> String {
        name.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) ? name.lowercased() : name
    }

    /// Writes each request on a stream of its own, flushes once, and arms the batch's deadline.
    func send(_ requests: [HTTP2Client.Request], batch: HTTP2Batch, authority: String, timeout: Duration) {
        guard let context, !isClosed, batch.abandoned == nil else {
            let reason = batch.abandoned ?? "the provider closed the connection before the request was sent"
            for index in requests.indices { batch.finish(index, .failure(.init(description: reason))) }
            return
        }
        for (index, request) in requests.enumerated() {
            if let problem = Self.problem(with: request) {
                batch.finish(index, .failure(.init(description: "the request was not sent: \(problem)")))
                continue
            }
            guard nextStreamID < Int32.max - 2 else {
                // Stream ids are spent: this connection takes no more; the next group opens one.
                usability.retire()
                batch.finish(index, .failure(.init(description: "the connection used up its stream ids before the request was sent")))
                continue
            }
            let id = HTTP2StreamID(nextStreamID)
            nextStreamID += 2
            streams[id] = Stream(batch: batch, index: index)
            batch.streams.append(id)
            let headers = Self.headerBlock(of: request, authority: authority)
            let written = context.eventLoop.makePromise(of: Void.self)
            let loopBoundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
            written.futureResult.whenFailure { error in
                loopBoundSelf.value.end(id, failure: "the request could not be written: \(error)")
            }
            if request.body.isEmpty {
                context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers, endStream: true)))), promise: written)
            } else {
                context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers)))), promise: nil)
                var body = context.channel.allocator.buffer(capacity: request.body.count)
                body.writeBytes(request.body)
                context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(body), endStream: true)))), promise: written)
            }
        }
        context.flush()
        if batch.remaining > 0 {
            let loopBoundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
            batch.timeout = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.seconds * 1e9))) {
                loopBoundSelf.value.abandon(batch, reason: "the provider sent nothing for too long (read timeout)")
            }
        }
    }

    /// Fails the batch's unanswered requests and resets their streams (deadline, cancellation).
    func abandon(_ batch: HTTP2Batch, reason: String) {
        if batch.abandoned == nil { batch.abandoned = reason }
        var reset = false
        for id in batch.streams where streams[id] != nil {
            end(id, failure: reason)
            if let context, !isClosed {
                context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .rstStream(.cancel))), promise: nil)
                reset = true
            }
        }
        if reset { context?.flush() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            guard var stream = streams[frame.streamID] else { return }
            if stream.status == nil {
                guard let text = headers.headers.first(name: ":status"), let status = Int(text) else {
                    end(frame.streamID, failure: "the provider answered without a status")
                    if !headers.endStream {
                        // Nothing more of it is read: the stream is reset, so that it does not
                        // hold one of the server's places until the server ends it.
                        context.write(wrapOutboundOut(HTTP2Frame(streamID: frame.streamID, payload: .rstStream(.protocolError))), promise: nil)
                        wroteInRead = true
                    }
                    return
                }
                // An informational answer (1xx) comes before the real one.
                if status >= 200 {
                    stream.status = status
                    for (name, value, _) in headers.headers where !name.hasPrefix(":") { stream.headers.add(name: name, value: value) }
                }
            }
            streams[frame.streamID] = stream
            if headers.endStream { complete(frame.streamID) }
        case .data(let data):
            let length = data.data.readableBytes + (data.paddingBytes.map { $0 + 1 } ?? 0)
            acknowledge(length, context: context)
            guard var stream = streams[frame.streamID] else { return }
            if case .byteBuffer(var buffer) = data.data, !stream.truncated {
                let room = maximumAnswerSize - stream.body.readableBytes
                if buffer.readableBytes > room {
                    if let slice = buffer.readSlice(length: room) { stream.body.writeImmutableBuffer(slice) }
                    stream.truncated = true
                } else {
                    stream.body.writeBuffer(&buffer)
                }
            }
            stream.unacknowledged += length
            if stream.unacknowledged >= Self.window / 2, !data.endStream {
                context.write(wrapOutboundOut(HTTP2Frame(streamID: frame.streamID, payload: .windowUpdate(windowSizeIncrement: stream.unacknowledged))), promise: nil)
                wroteInRead = true
                stream.unacknowledged = 0
            }
            streams[frame.streamID] = stream
            if data.endStream { complete(frame.streamID) }
        case .rstStream(let code):
            end(frame.streamID, failure: "the provider reset the request (\(code))")
        case .goAway(let lastStreamID, let code, _):
            usability.retire()
            // Streams above the last one the server processes were never taken: they fail here
            // (NIOHTTP2 also reports them closed), and the next group opens a new connection.
            for id in Array(streams.keys) where id > lastStreamID {
                end(id, failure: "the provider is closing the connection (GOAWAY \(code)) and did not take the request")
            }
            if streams.isEmpty { context.close(promise: nil) }
        default:
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
        if let closed = event as? StreamClosedEvent, streams[closed.streamID] != nil {
            end(closed.streamID, failure: "the stream closed before the answer ended (\(closed.reason.map { "\($0)" } ?? "no error"))")
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? NIOHTTP2Errors.StreamError {
            end(error.streamID, failure: "HTTP/2 error on the request: \(error.baseError)")
            return
        }
        // A connection error: nothing more can be read on it.
        usability.retire()
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        isClosed = true
        usability.retire()
        for id in Array(streams.keys) { end(id, failure: "the provider closed the connection before answering") }
        context.fireChannelInactive()
    }

    /// Opens the connection's receive window again once half of it was used.
    private func acknowledge(_ length: Int, context: ChannelHandlerContext) {
        unacknowledgedConnectionBytes += length
        if unacknowledgedConnectionBytes >= Self.window / 2 {
            context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: unacknowledgedConnectionBytes))), promise: nil)
            wroteInRead = true
            unacknowledgedConnectionBytes = 0
        }
    }

    private func complete(_ id: HTTP2StreamID) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        guard let status = stream.status else {
            stream.batch.finish(stream.index, .failure(.init(description: "the provider ended the request without an answer")))
            return
        }
        stream.batch.finish(stream.index, .success(answer(stream, status: status, truncated: stream.truncated)))
        closeIfDrained()
    }

    /// A stream that ended without its whole answer: a 2xx whose body broke off is the answer
    /// (truncated), anything else a failure.
    private func end(_ id: HTTP2StreamID, failure: String) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        if let status = stream.status, (200..<300).contains(status) {
            stream.batch.finish(stream.index, .success(answer(stream, status: status, truncated: true)))
        } else {
            stream.batch.finish(stream.index, .failure(.init(description: failure)))
        }
        closeIfDrained()
    }

    private func answer(_ stream: Stream, status: Int, truncated: Bool) -> ProviderHTTPClient.Answer {
        ProviderHTTPClient.Answer(status: status, headers: stream.headers, body: Data(stream.body.readableBytesView), isTruncated: truncated)
    }

    /// A connection that takes no new requests closes once its last answer is in.
    private func closeIfDrained() {
        if streams.isEmpty, !usability.isUsable, !isClosed, let context { context.close(promise: nil) }
    }
}

extension String {
    /// True for an IPv4 or IPv6 literal (no SNI is sent for those).
    fileprivate var isIPAddress: Bool {
        (try? SocketAddress(ipAddress: self, port: 0)) != nil
    }
}
