import Foundation
import HeraldCore
import HeraldProviders
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

/// A webhook receiver on loopback that records each request and answers with a fixed status, or
/// never answers.
final class WebhookReceiver: Sendable {
    struct Request: Sendable {
        var method: String
        var uri: String
        var headers: [String: String]
        var body: String
    }

    let channel: any NIOCore.Channel
    private let log: RequestLog
    var port: Int { channel.localAddress?.port ?? 0 }
    var requests: [Request] { log.storage.withLock { $0 } }

    /// - Parameter status: the answer; `nil` to read the request and never answer.
    init(status: HTTPResponseStatus?, answer: String = "ok") async throws {
        let log = RequestLog()
        self.log = log
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(status: status, answer: answer, log: log))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async { try? await channel.close() }

    final class RequestLog: Sendable {
        let storage = Mutex<[Request]>([])
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let status: HTTPResponseStatus?
        let answer: String
        let log: RequestLog
        var head: HTTPRequestHead?
        var body = ByteBuffer()

        init(status: HTTPResponseStatus?, answer: String, log: RequestLog) {
            self.status = status
            self.answer = answer
            self.log = log
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body.clear()
            case .body(var chunk):
                body.writeBuffer(&chunk)
            case .end:
                guard let head else { return }
                var headers: [String: String] = [:]
                for header in head.headers { headers[header.name.lowercased()] = header.value }
                let request = Request(method: "\(head.method)", uri: head.uri, headers: headers, body: String(buffer: body))
                log.storage.withLock { $0.append(request) }
                guard let status else { return }
                var responseHeaders = HTTPHeaders()
                responseHeaders.add(name: "Content-Length", value: "\(answer.utf8.count)")
                responseHeaders.add(name: "Content-Type", value: "text/plain")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: responseHeaders))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: answer)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}

@Suite(.timeLimit(.minutes(3)))
struct WebhookAlertSinkTests {
    static let startedAt = Date(timeIntervalSince1970: 1_795_000_000)
    static let failureRate = Alert(
        kind: .failureRate, channel: .sms, message: "sms: 34% of 210 attempts failed in the last 5m (threshold 20%)", severity: .critical,
        startedAt: startedAt, at: startedAt
    )
    static let breaker = Alert(
        kind: .breakerOpen, channel: .sms, provider: "twilio", message: "sms: the circuit breaker of provider twilio has closed",
        severity: .critical, startedAt: startedAt, at: startedAt.addingTimeInterval(420)
    )

    /// Posts `actions` to a receiver answering `status`; what it received, and what each post did.
    func post(
        _ actions: [AlertAction], status: HTTPResponseStatus?, answer: String = "ok", timeout: Duration = .seconds(5)
    ) async throws -> (requests: [WebhookReceiver.Request], errors: [WebhookAlertError?]) {
        let receiver = try await WebhookReceiver(status: status, answer: answer)
        let http = ProviderHTTPClient()
        let sink = WebhookAlertSink(
            configuration: .init(url: "http://127.0.0.1:\(receiver.port)/services/T000/B000/secret-token", timeout: timeout), http: http
        )
        var errors: [WebhookAlertError?] = []
        for action in actions {
            do {
                try await sink.post(action)
                errors.append(nil)
            } catch let error as WebhookAlertError {
                errors.append(error)
            }
        }
        try await http.shutdown()
        await receiver.stop()
        return (receiver.requests, errors)
    }

    @Test func aFiredAlertIsPostedAsSlackCompatibleJSON() async throws {
        let (requests, errors) = try await post([.fire(Self.failureRate)], status: .ok)
        #expect(errors == [nil])
        let request = try #require(requests.first)
        #expect(requests.count == 1)
        #expect(request.method == "POST")
        #expect(request.uri == "/services/T000/B000/secret-token")
        #expect(request.headers["content-type"] == "application/json")
        #expect(request.body == """
        {"text":"Herald alert (critical): sms: 34% of 210 attempts failed in the last 5m (threshold 20%)",\
        "herald":{"event":"fired","kind":"failure_rate","channel":"sms","provider":null,"severity":"critical",\
        "message":"sms: 34% of 210 attempts failed in the last 5m (threshold 20%)",\
        "started_at":"2026-11-18T11:06:40Z","at":"2026-11-18T11:06:40Z"}}
        """)
    }

    @Test func aRecoveryNamesItsProviderAndBothInstants() async throws {
        let (requests, errors) = try await post([.resolve(Self.breaker)], status: .noContent, answer: "")
        #expect(errors == [nil])
        #expect(requests.first?.body == """
        {"text":"Herald resolved: sms: the circuit breaker of provider twilio has closed",\
        "herald":{"event":"resolved","kind":"breaker_open","channel":"sms","provider":"twilio","severity":"critical",\
        "message":"sms: the circuit breaker of provider twilio has closed",\
        "started_at":"2026-11-18T11:06:40Z","at":"2026-11-18T11:13:40Z"}}
        """)
        // What a receiver parses: valid JSON, with quotes in a message escaped.
        let quoted = Alert(
            kind: .misconfigured, channel: .email, provider: "sendgrid", message: "email: provider sendgrid is misconfigured: \"from\" is not verified\n",
            severity: .critical, startedAt: Self.startedAt, at: Self.startedAt
        )
        let object = try #require(JSONSerialization.jsonObject(with: Data(WebhookAlertSink.body(for: .fire(quoted)))) as? [String: Any])
        let herald = try #require(object["herald"] as? [String: Any])
        #expect(herald["message"] as? String == quoted.message)
    }

    @Test func aReceiverAnswering500IsAnErrorThatSaysWhatItAnswered() async throws {
        let (requests, errors) = try await post([.fire(Self.failureRate)], status: .internalServerError, answer: "no_service\n<html>")
        #expect(requests.count == 1)
        let error = try #require(errors.first ?? nil)
        #expect(error.code == .refused(status: 500))
        #expect(error.description == "alert webhook answered 500: no_service")
        #expect(!error.description.contains("secret-token"))
    }

    @Test func aReceiverThatNeverAnswersFailsWithinTheTimeout() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        let (requests, errors) = try await post([.fire(Self.failureRate)], status: nil, timeout: .milliseconds(500))
        let elapsed = clock.now - started
        #expect(requests.count == 1)
        let error = try #require(errors.first ?? nil)
        #expect(error.code == .unreachable)
        // Bounded by the timeout, not a hang (the bound is loose: this machine is shared).
        #expect(elapsed < .seconds(60), "\(elapsed)")
    }

    @Test func anAddressWhereNothingListensIsAnErrorNotACrash() async throws {
        // A port that was just free: bound, then closed.
        let closed = try await WebhookReceiver(status: .ok)
        let port = closed.port
        await closed.stop()
        let http = ProviderHTTPClient()
        // The client retries a refused connection until the post's deadline: that is the bound.
        let sink = WebhookAlertSink(configuration: .init(url: "http://127.0.0.1:\(port)/hook/secret-token", timeout: .seconds(1)), http: http)
        let clock = ContinuousClock()
        let started = clock.now
        let error = await #expect(throws: WebhookAlertError.self) { try await sink.post(.fire(Self.failureRate)) }
        #expect(clock.now - started < .seconds(60))
        #expect(error?.code == .unreachable)
        #expect(error?.description.hasPrefix("alert webhook: ") == true)
        #expect(error?.description.contains("secret-token") == false)
        try await http.shutdown()
    }
}
