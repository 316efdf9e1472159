import Foundation
import HeraldCore
import HeraldProviders
import NIOCore
import NIOPosix
import Testing

/// A server that answers every connection with fixed bytes (after a delay), then ends its side
/// of the connection: the malformed, truncated, huge and slow answers no real provider should send.
final class RawAnswerServer: Sendable {
    let channel: any NIOCore.Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    init(answer: [UInt8], delay: TimeAmount = .zero) async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Answerer(answer: answer, delay: delay)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async { try? await channel.close() }

    final class Answerer: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let answer: [UInt8]
        let delay: TimeAmount
        var answered = false

        init(answer: [UInt8], delay: TimeAmount) {
            self.answer = answer
            self.delay = delay
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !answered else { return }
            answered = true
            let bytes = answer
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: delay) {
                let context = loopBound.value
                // Shut the output only: a full close with the request's body still unread would
                // send a reset, which can destroy the answer before the client reads it.
                context.writeAndFlush(NIOAny(ByteBuffer(bytes: bytes))).whenComplete { _ in loopBound.value.close(mode: .output, promise: nil) }
            }
        }
    }
}

@Suite(.timeLimit(.minutes(1)))
struct BadAnswerTests {
    static func answer(_ status: String, headers: [String] = [], body: String, contentLength: Int? = nil) -> [UInt8] {
        let head = (["HTTP/1.1 \(status)", "Content-Length: \(contentLength ?? body.utf8.count)"] + headers).joined(separator: "\r\n")
        return Array((head + "\r\n\r\n" + body).utf8)
    }

    func twilioOutcome(_ answer: [UInt8], delay: TimeAmount = .zero, client: ProviderHTTPClient.Configuration = .init()) async throws -> DeliveryOutcome {
        let server = try await RawAnswerServer(answer: answer, delay: delay)
        let http = ProviderHTTPClient(configuration: client)
        let twilio = TwilioTransport(name: "twilio", configuration: .init(
            accountSID: "AC00000000000000000000000000000001", authToken: "t", from: "+15005550006", baseURL: "http://127.0.0.1:\(server.port)"
        ), http: http)
        let outcome = await twilio.send(sms(1, to: "+14155550100"))
        try await http.shutdown()
        await server.stop()
        return outcome
    }

    @Test func aMalformedErrorBodyIsRejectedWithWhatItSaid() async throws {
        let outcome = try await twilioOutcome(Self.answer("400 Bad Request", body: "<html>oops\u{1}</html>"))
        #expect(outcome == .rejected(reason: "twilio 400: an unexpected answer: <html>oops?</html>"))
    }

    @Test func aSuccessWithAnUnreadableBodyCountsAsSentNotAsARetryThatWouldSendTwice() async throws {
        #expect(try await twilioOutcome(Self.answer("201 Created", body: "{\"sid\": ")) == .accepted(providerMessageID: ""))
    }

    @Test func aTruncatedAnswerIsARetry() async throws {
        let outcome = try await twilioOutcome(Self.answer("503 Service Unavailable", body: "{\"code\":", contentLength: 1000))
        #expect(kind(of: outcome) == "retry", "\(outcome)")
    }

    @Test func aHugeAnswerIsReadOnlyUpToTheLimit() async throws {
        let huge = String(repeating: "x", count: 3_000_000)
        let outcome = try await twilioOutcome(
            Self.answer("500 Internal Server Error", body: huge), client: .init(maximumAnswerSize: 64 * 1024)
        )
        #expect(outcome == .retry(after: nil, reason: "twilio 500: an answer too large to read"))
    }

    @Test func aSlowAnswerTimesOutAsARetry() async throws {
        let outcome = try await twilioOutcome(
            Self.answer("201 Created", body: "{\"sid\":\"SM1\"}"), delay: .seconds(5),
            client: .init(readTimeout: .milliseconds(300), requestTimeout: .seconds(1))
        )
        #expect(kind(of: outcome) == "retry", "\(outcome)")
    }

    @Test func somethingThatIsNotHTTPIsARetry() async throws {
        let outcome = try await twilioOutcome(Array("SSH-2.0-OpenSSH_9.2\r\n".utf8))
        #expect(kind(of: outcome) == "retry", "\(outcome)")
    }
}
