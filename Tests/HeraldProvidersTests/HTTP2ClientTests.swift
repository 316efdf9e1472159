import Foundation
import HeraldProviders
import HeraldSandbox
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization
import Testing

/// An HTTP/2 server over TLS whose answer to each request is chosen by its path: what a
/// provider, its load balancer or the network can do to a stream or a connection.
///
/// - `/ok`: 200, an `apns-id` header, an empty body;
/// - `/big/N`: 400 with a body of N bytes, in frames of 16 KiB (the client must reopen its
///   receive windows past 64 KiB);
/// - `/reset-after-headers`: 200's headers, then RST_STREAM;
/// - `/no-status`: HEADERS without `:status` (and a name in upper case), ending the stream;
///   `/no-status-open` the same, leaving the stream open;
/// - `/reset`: RST_STREAM without an answer;
/// - `/goaway`: a GOAWAY naming the stream before this one as the last processed, no answer;
/// - `/close`: the connection closed, no answer;
/// - `/hang`: nothing.
final class ScriptedHTTP2Server: Sendable {
    let channel: any NIOCore.Channel
    let certificate: SandboxCertificate
    private let counter: Counter
    private let resets: Counter

    var port: Int { channel.localAddress?.port ?? 0 }
    var baseURL: String { "https://127.0.0.1:\(port)" }

    /// - Parameter alpn: the protocols the server offers (`["http/1.1"]`: a server without HTTP/2).
    init(alpn: [String] = ["h2"]) async throws {
        let certificate = try SandboxCertificate.generate()
        self.certificate = certificate
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificate.chainPEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(certificate.privateKeyPEM.utf8), format: .pem))
        )
        configuration.applicationProtocols = alpn
        let tls = try NIOSSLContext(configuration: configuration)
        let counter = Counter()
        let resets = Counter()
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                counter.increment()
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    guard alpn.contains("h2") else { return }
                    // Unchecked, so that it can answer what a broken server would (`/no-status`).
                    var connection = NIOHTTP2Handler.ConnectionConfiguration()
                    connection.headerBlockValidation = .disabled
                    _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(mode: .server, connectionConfiguration: connection, streamConfiguration: .init()) { stream in
                        stream.eventLoop.makeCompletedFuture { try stream.pipeline.syncOperations.addHandler(ScriptedStream(resets: resets)) }
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.counter = counter
        self.resets = resets
    }

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
        func increment() { value.add(1, ordering: .relaxed) }
    }

    /// TCP connections accepted so far.
    var acceptedConnections: Int { counter.value.load(ordering: .relaxed) }

    /// RST_STREAM frames the client sent so far.
    var streamsResetByTheClient: Int { resets.value.load(ordering: .relaxed) }

    /// A client that trusts this server, with `readTimeout` as every request's deadline.
    func client(readTimeout: Duration = .seconds(10)) throws -> HTTP2Client {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("scripted-ca-\(UUID().uuidString).pem").path
        try certificate.authorityPEM.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file))
        return try HTTP2Client(baseURL: baseURL, tlsConfiguration: tls, configuration: .init(readTimeout: readTimeout))
    }

    func stop() async { try? await channel.close() }

    final class ScriptedStream: ChannelInboundHandler {
        typealias InboundIn = HTTP2Frame.FramePayload
        typealias OutboundOut = HTTP2Frame.FramePayload
        let resets: Counter
        var path = ""

        init(resets: Counter) {
            self.resets = resets
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .headers(let headers):
                path = headers.headers.first(name: ":path") ?? ""
                if headers.endStream { answer(context: context) }
            case .data(let data):
                if data.endStream { answer(context: context) }
            case .rstStream:
                resets.increment()
            default:
                break
            }
        }

        func answer(context: ChannelHandlerContext) {
            func head(_ status: Int, end: Bool, _ extra: [(String, String)] = []) {
                var headers = HPACKHeaders([(":status", String(status))])
                for (name, value) in extra { headers.add(name: name, value: value) }
                context.write(wrapOutboundOut(.headers(.init(headers: headers, endStream: end))), promise: nil)
            }
            switch path {
            case "/ok":
                head(200, end: true, [("apns-id", "0d2a8e41-6c3f-4b1e-9a56-3c2f1e0d9b77")])
                context.flush()
            case let path where path.hasPrefix("/big/"):
                let size = Int(path.dropFirst(5)) ?? 0
                head(400, end: false, [("content-type", "application/json")])
                var sent = 0
                while sent < size {
                    let length = min(16_384, size - sent)
                    sent += length
                    let buffer = context.channel.allocator.buffer(repeating: UInt8(ascii: "x"), count: length)
                    context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(buffer), endStream: sent == size))), promise: nil)
                }
                context.flush()
            case "/reset-after-headers":
                head(200, end: false)
                context.writeAndFlush(wrapOutboundOut(.rstStream(.internalError)), promise: nil)
            case "/no-status", "/no-status-open":
                let headers = HPACKHeaders([("content-type", "application/json"), ("Apns-ID", "not-a-status")])
                context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: headers, endStream: path == "/no-status"))), promise: nil)
            case "/reset":
                context.writeAndFlush(wrapOutboundOut(.rstStream(.refusedStream)), promise: nil)
            case "/goaway":
                guard let parent = context.channel.parent, let id = try? context.channel.syncOptions?.getOption(HTTP2StreamChannelOptions.streamID)
                else { return }
                let last = HTTP2StreamID(max(Int(id) - 2, 0))
                parent.writeAndFlush(HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: last, errorCode: .noError, opaqueData: nil)), promise: nil)
            case "/close":
                context.channel.parent?.close(promise: nil)
            default:
                break
            }
        }
    }
}

/// ``HTTP2Client`` against a server that misbehaves on purpose: each way a stream or the
/// connection can end becomes an answer or a failure that says what happened, never a hang,
/// and the next request gets a working connection.
@Suite struct HTTP2ClientTests {
    typealias Outcome = Result<ProviderHTTPClient.Answer, ProviderHTTPClient.Failure>

    static func request(_ path: String) -> HTTP2Client.Request {
        HTTP2Client.Request(path: path, headers: [("Content-Type", "application/json")], body: Array(#"{"aps":{}}"#.utf8))
    }

    static func failure(_ outcome: Outcome) -> String? {
        if case .failure(let failure) = outcome { return failure.description }
        return nil
    }

    @Test func answersComeBackInTheOrderOfTheRequestsOnOneConnection() async throws {
        let server = try await ScriptedHTTP2Server()
        let client = try server.client()
        for _ in 0..<3 {
            let outcomes = await client.execute((0..<50).map { $0 % 5 == 0 ? Self.request("/big/10") : Self.request("/ok") })
            for (index, outcome) in outcomes.enumerated() {
                let answer = try outcome.get()
                #expect(answer.status == (index % 5 == 0 ? 400 : 200))
                #expect(answer.body.count == (index % 5 == 0 ? 10 : 0))
                if index % 5 != 0 { #expect(answer.header("apns-id") == "0d2a8e41-6c3f-4b1e-9a56-3c2f1e0d9b77") }
            }
        }
        #expect(server.acceptedConnections == 1)
        await client.shutdown()
        await server.stop()
    }

    /// swift-nio-http2 does not check request headers here (the client checks its own, more
    /// cheaply): a request that is not valid HTTP/2 fails alone, before anything is written, with
    /// the reason; the others of its call go out on the same connection.
    @Test func aRequestThatIsNotValidHTTP2FailsAloneWithTheReason() async throws {
        let server = try await ScriptedHTTP2Server()
        let client = try server.client()
        func request(path: String = "/ok", _ header: (String, String)) -> HTTP2Client.Request {
            HTTP2Client.Request(path: path, headers: [header], body: Array("{}".utf8))
        }
        let outcomes = await client.execute([
            request(("apns-topic", "com.example.app")),
            request(("apns-collapse-id", "sale\r\nx-injected: 1")),
            request(("apns topic", "com.example.app")),
            request(("connection", "keep-alive")),
            request(("apns-priority", "1\u{0}0")),
            request(path: "ok", ("apns-priority", "10")),
            request(path: "/ok?x=a b", ("apns-priority", "10")),
            request(("Apns-Priority", "10")),
            // A value's edge whitespace was never refused (nor by swift-nio-http2's check).
            request(("apns-collapse-id", " sale ")),
        ])
        #expect(try outcomes[0].get().status == 200)
        #expect(Self.failure(outcomes[1]) == "the request was not sent: the value of header 'apns-collapse-id' contains a NUL, CR or LF")
        #expect(Self.failure(outcomes[2]) == "the request was not sent: the header name 'apns topic' is not a visible ASCII token")
        #expect(Self.failure(outcomes[3]) == "the request was not sent: the header 'connection' is connection-specific, which HTTP/2 forbids")
        #expect(Self.failure(outcomes[4]) == "the request was not sent: the value of header 'apns-priority' contains a NUL, CR or LF")
        #expect(Self.failure(outcomes[5])?.hasPrefix("the request was not sent: the path 'ok' is not an origin-form path") == true)
        #expect(Self.failure(outcomes[6])?.hasPrefix("the request was not sent: the path '/ok?x=a b' is not an origin-form path") == true)
        // Names are sent in lower case.
        #expect(try outcomes[7].get().status == 200)
        #expect(try outcomes[8].get().status == 200)
        #expect(server.acceptedConnections == 1)
        await client.shutdown()
        await server.stop()
    }

    /// An answer's headers are not checked by swift-nio-http2 either: one without `:status` is a
    /// failure that says so, a stream the server left open is reset (it would hold one of the
    /// server's places), and the connection goes on.
    @Test func anAnswerWithoutAStatusIsAFailureThatSaysSo() async throws {
        let server = try await ScriptedHTTP2Server()
        let client = try server.client()
        let outcomes = await client.execute([Self.request("/no-status"), Self.request("/no-status-open"), Self.request("/ok")])
        #expect(Self.failure(outcomes[0]) == "the provider answered without a status")
        #expect(Self.failure(outcomes[1]) == "the provider answered without a status")
        #expect(try outcomes[2].get().status == 200)
        // The open one only; the RST_STREAM reaches the server after the answers.
        for _ in 0..<100 where server.streamsResetByTheClient == 0 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(server.streamsResetByTheClient == 1)
        #expect(server.acceptedConnections == 1)
        await client.shutdown()
        await server.stop()
    }

    /// Answers past the 64 KiB windows arrive whole: the client opens its stream and connection
    /// windows again as it reads.
    @Test func answersLongerThanTheReceiveWindowArriveWhole() async throws {
        let server = try await ScriptedHTTP2Server()
        let client = try server.client()
        let outcomes = await client.execute([Self.request("/big/200000"), Self.request("/big/150000"), Self.request("/ok")])
        #expect(try outcomes[0].get().body.count == 200_000)
        #expect(try outcomes[1].get().body.count == 150_000)
        #expect(try outcomes[2].get().status == 200)
        #expect(try outcomes[0].get().isTruncated == false)
        await client.shutdown()
        await server.stop()
    }

    @Test func anAnswerLongerThanTheLimitIsCutAndMarked() async throws {
        let server = try await ScriptedHTTP2Server()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("scripted-ca-\(UUID().uuidString).pem").path
        try server.certificate.authorityPEM.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file))
        let client = try HTTP2Client(baseURL: server.baseURL, tlsConfiguration: tls, configuration: .init(maximumAnswerSize: 1000))
        let answer = try #require(try await client.execute([Self.request("/big/100000")]).first?.get())
        #expect(answer.body.count == 1000)
        #expect(answer.isTruncated)
        await client.shutdown()
        await server.stop()
    }

    /// A success whose stream is reset after its headers is an answer (the provider took the
    /// message); a reset without an answer is a failure that names the reset.
    @Test func aResetAfterASuccessIsTheSuccessAndAResetAloneIsAFailure() async throws {
        let server = try await ScriptedHTTP2Server()
        let client = try server.client()
        let outcomes = await client.execute([Self.request("/reset-after-headers"), Self.request("/reset"), Self.request("/ok")])
        let taken = try outcomes[0].get()
        #expect(taken.status == 200 && taken.isTruncated)
        #expect(Self.failure(outcomes[1])?.contains("reset the request") == true, "\(outcomes[1])")
        #expect(try outcomes[2].get().status == 200)
        await client.shutdown()
        await server.stop()
    }

    /// After a GOAWAY, the requests the server did not take fail as not taken, and the next
    /// call opens a new connection that works.
    @Test func afterAGoAwayTheRequestsNotTakenFailAndTheNextCallReconnects() async throws {
        let server = try await ScriptedHTTP2Server()
        let client = try server.client()
        let first = await client.execute([Self.request("/ok"), Self.request("/goaway")])
        #expect(try first[0].get().status == 200)
        #expect(Self.failure(first[1])?.contains("GOAWAY") == true || Self.failure(first[1])?.contains("closed") == true, "\(first[1])")
        let second = await client.execute([Self.request("/ok"), Self.request("/ok")])
        #expect(second.allSatisfy { (try? $0.get().status) == 200 }, "\(second)")
        #expect(server.acceptedConnections == 2)
        await client.shutdown()
        await server.stop()
    }

    @Test func aConnectionClosedBeforeTheAnswerFailsItsRequestsAndTheNextCallReconnects() async throws {
        let server = try await ScriptedHTTP2Server()
        let client = try server.client()
        let first = await client.execute([Self.request("/close"), Self.request("/hang")])
        for outcome in first {
            #expect(Self.failure(outcome)?.contains("closed the connection") == true, "\(outcome)")
        }
        let second = await client.execute([Self.request("/ok")])
        #expect(try second[0].get().status == 200)
        #expect(server.acceptedConnections == 2)
        await client.shutdown()
        await server.stop()
    }

    /// A request without an answer fails at its deadline; the others of its call are answered.
    @Test func aRequestWithoutAnAnswerFailsAtTheReadTimeout() async throws {
        let server = try await ScriptedHTTP2Server()
        // A deadline that a loaded machine's answers stay well within: with 2 seconds, CI saw the
        // answers themselves miss it twice (the warm-up once, the answered request of the call
        // once, failed as read timeouts), while the other tests ran beside this one.
        let client = try server.client(readTimeout: .seconds(10))
        // The connection first, so that the time below is the deadline's and not the handshake's
        // (on a loaded machine that took tens of seconds); the bound only tells a deadline from
        // waiting for ever. The warm-up is tried again until one answer gets through.
        var warmedUp = false
        for _ in 0..<10 where !warmedUp {
            warmedUp = (try? await client.execute([Self.request("/ok")])[0].get().status) == 200
        }
        #expect(warmedUp)
        let started = ContinuousClock.now
        let outcomes = await client.execute([Self.request("/hang"), Self.request("/ok")])
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(Self.failure(outcomes[0])?.contains("read timeout") == true, "\(outcomes[0])")
        #expect(try outcomes[1].get().status == 200)
        // The connection still serves.
        #expect(try await client.execute([Self.request("/ok")])[0].get().status == 200)
        #expect(server.acceptedConnections == 1)
        await client.shutdown()
        await server.stop()
    }

    /// A cancelled task gets its requests back at once, as failures, whether it was cancelled
    /// while they were at the server or before they were written.
    @Test(arguments: [0, 200]) func aCancelledCallReturnsAtOnce(afterMilliseconds wait: Int) async throws {
        let server = try await ScriptedHTTP2Server()
        let client = try server.client(readTimeout: .seconds(60))
        // The connection is open, so that the call below goes straight to the streams.
        #expect(try await client.execute([Self.request("/ok")])[0].get().status == 200)
        let task = Task { await client.execute([Self.request("/hang"), Self.request("/hang")]) }
        try await Task.sleep(for: .milliseconds(wait))
        let started = ContinuousClock.now
        task.cancel()
        let outcomes = await task.value
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(outcomes.allSatisfy { Self.failure($0)?.contains("cancelled") == true }, "\(outcomes)")
        await client.shutdown()
        await server.stop()
    }

    @Test func aServerWithoutHTTP2IsRefusedWithTheReason() async throws {
        let server = try await ScriptedHTTP2Server(alpn: ["http/1.1"])
        let client = try server.client()
        let outcomes = await client.execute([Self.request("/ok")])
        #expect(Self.failure(outcomes[0])?.contains("does not speak HTTP/2") == true, "\(outcomes[0])")
        await client.shutdown()
        await server.stop()
    }

    @Test func anUntrustedServerAndAClosedPortAreFailuresThatSaySo() async throws {
        let server = try await ScriptedHTTP2Server()
        // The system's roots do not include the sandbox's authority.
        let untrusting = try HTTP2Client(baseURL: server.baseURL)
        let refused = await untrusting.execute([Self.request("/ok")])
        #expect(Self.failure(refused[0])?.contains("TLS handshake") == true, "\(refused[0])")
        await untrusting.shutdown()
        let port = server.port
        await server.stop()
        let nobody = try HTTP2Client(baseURL: "https://127.0.0.1:\(port)")
        let closed = await nobody.execute([Self.request("/ok")])
        #expect(Self.failure(closed[0])?.contains("could not connect to https://127.0.0.1:\(port)") == true, "\(closed[0])")
        await nobody.shutdown()
    }

    @Test func aURLThatIsNotHTTPSIsRefused() throws {
        #expect(throws: HTTP2ClientError.self) { try HTTP2Client(baseURL: "http://127.0.0.1:8080") }
        #expect(throws: HTTP2ClientError.self) { try HTTP2Client(baseURL: "api.push.apple.com") }
        // The host is sent as `:authority`: an escape that decodes to a space or a control
        // character is refused here, since nothing checks it on the way out.
        for url in ["https://api.push%20apple.com", "https://api.push%0Aapple.com"] {
            #expect(throws: HTTP2ClientError.self, "\(url)") { try HTTP2Client(baseURL: url) }
        }
        #expect(try HTTP2Client(baseURL: "https://api.push.apple.com").origin == "https://api.push.apple.com")
    }
}
