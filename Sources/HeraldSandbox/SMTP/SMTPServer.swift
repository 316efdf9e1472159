import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The sandbox's SMTP server on loopback: STARTTLS (or implicit TLS) with the sandbox's
/// certificate, AUTH PLAIN/LOGIN, real reply codes, faults from the plan, and every accepted
/// message recorded, one per recipient.
final class SMTPServer: Sendable {
    let channel: any Channel

    /// Starts listening; `implicitTLS` puts TLS first (smtps), otherwise the client must STARTTLS,
    /// or, without `offersSTARTTLS`, talks in plain text.
    static func start(
        host: String, port: Int, implicitTLS: Bool, offersSTARTTLS: Bool = true, certificate: SandboxCertificate, accounts: SandboxAccounts,
        faults: ProviderFaults, draw: FaultState, started: Date, log: MessageLog, events: any DeliveryEventSink
    ) async throws -> SMTPServer {
        let tls = try NIOSSLContext(configuration: TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificate.chainPEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(certificate.privateKeyPEM.utf8), format: .pem))
        ))
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if implicitTLS { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.addHandler(SMTPHandler(
                        session: SMTPSession(accounts: accounts, faults: faults, isTLS: implicitTLS, offersSTARTTLS: offersSTARTTLS), tls: tls, draw: draw,
                        faults: faults, started: started, log: log, events: events
                    ))
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        return SMTPServer(channel: channel)
    }

    private init(channel: any Channel) {
        self.channel = channel
    }

    var port: Int { channel.localAddress?.port ?? 0 }

    func stop() async {
        try? await channel.close()
    }
}

/// Splits input into CRLF lines for the session and carries out its actions.
final class SMTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var session: SMTPSession
    private let tls: NIOSSLContext
    private let draw: FaultState
    private let faults: ProviderFaults
    private let started: Date
    private let log: MessageLog
    private let events: any DeliveryEventSink
    private var buffer = ByteBuffer()
    private var closing = false

    init(session: SMTPSession, tls: NIOSSLContext, draw: FaultState, faults: ProviderFaults, started: Date, log: MessageLog, events: any DeliveryEventSink) {
        self.session = session
        self.tls = tls
        self.draw = draw
        self.faults = faults
        self.started = started
        self.log = log
        self.events = events
    }

    func channelActive(context: ChannelHandlerContext) {
        log.countConnection()
        let elapsed = Date().timeIntervalSince(started)
        let inOutage = draw.state.withLock { $0.isInOutage(faults, elapsed: elapsed) }
        perform(session.greeting(inOutage: inOutage), context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        while !closing, let line = nextLine() {
            let injected: Int? = session.mode == .data && line == "."
                ? draw.state.withLock { $0.status(for: faults, elapsed: Date().timeIntervalSince(started)) }.map { $0 == 503 ? 421 : $0 }
                : nil
            let actions = session.receive(line, injectedReply: injected)
            if perform(actions, context: context) { return }
        }
        // A line that never ends is not SMTP (RFC 5321 allows 1,000 octets): bounded, like any
        // server's, in a message too; unbounded, each read would also scan the whole line again.
        if !closing, buffer.readableBytes > 64 * 1024 {
            perform([.reply("500 5.5.2 Line too long"), .close], context: context)
        }
    }

    /// The next CRLF (or bare LF) line, without its end.
    private func nextLine() -> String? {
        guard let view = buffer.readableBytesView.firstIndex(of: 10) else { return nil }
        let length = view - buffer.readerIndex
        guard var bytes = buffer.readBytes(length: length + 1) else { return nil }
        bytes.removeLast()
        if bytes.last == 13 { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Returns true when the connection changed (TLS started or closing) and input must stop.
    @discardableResult
    private func perform(_ actions: [SMTPSession.Action], context: ChannelHandlerContext) -> Bool {
        for action in actions {
            switch action {
            case .reply(let text):
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text + "\r\n")), promise: nil)
            case .close:
                closing = true
                context.close(promise: nil)
                return true
            case .startTLS:
                // Whatever the client sent after STARTTLS in plain text is dropped (the
                // STARTTLS command-injection class of bugs).
                buffer.clear()
                do {
                    try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
                } catch {
                    closing = true
                    context.close(promise: nil)
                }
                session.tlsStarted()
                return true
            case .deliver(let envelope):
                let id = SandboxIDs.hex(12).uppercased()
                let mime = MIMEReader(envelope.message)
                let now = Date().timeIntervalSince1970
                let messages = envelope.recipients.map { recipient in
                    RecordedMessage(
                        provider: .smtp, providerMessageID: mime.header("Message-ID") ?? id, to: recipient, from: envelope.sender,
                        subject: mime.header("Subject"), text: mime.text, html: mime.html,
                        headers: Dictionary(mime.headers.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first }),
                        acceptedAt: now, raw: envelope.message
                    )
                }
                log.append(messages)
                events.accepted(messages, unreachable: faults.unreachable, optedOut: [])
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "250 2.0.0 Ok: queued as \(id)\r\n")), promise: nil)
            }
        }
        return false
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
