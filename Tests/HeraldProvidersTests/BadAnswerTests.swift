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

@Suite(.timeLimit(.minutes(3)))
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

    /// The provider said 201 and the connection broke before the body's end: the message was
    /// taken, so it counts as sent; a retry would deliver it twice.
    @Test func aSuccessCutOffBeforeItsBodyEndsCountsAsSent() async throws {
        let outcome = try await twilioOutcome(Self.answer("201 Created", body: "{\"sid\": \"SM", contentLength: 1000))
        #expect(outcome == .accepted(providerMessageID: ""), "\(outcome)")
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

    /// The outcomes of `send`, through a transport pointed at a server that answers `answer`.
    func outcomes(
        of answer: [UInt8], _ send: @Sendable (_ baseURL: String, _ http: ProviderHTTPClient) async -> [DeliveryOutcome]
    ) async throws -> [DeliveryOutcome] {
        let server = try await RawAnswerServer(answer: answer)
        let http = ProviderHTTPClient()
        let outcomes = await send("http://127.0.0.1:\(server.port)", http)
        try await http.shutdown()
        await server.stop()
        return outcomes
    }

    static let unreadable = ["<html><body>Service Unavailable</body></html>", #"{"message-count":"1","messages":[{"to":"4477009"#, ""]

    /// Vonage answers 200 for refusals too, so a 200 it cannot read says nothing of the message:
    /// it counts as sent with no id, never as a retry that could send it twice.
    @Test(arguments: BadAnswerTests.unreadable)
    func anUnreadableVonage200CountsAsSent(body: String) async throws {
        let outcomes = try await self.outcomes(of: Self.answer("200 OK", headers: ["Content-Type: application/json"], body: body)) { base, http in
            await VonageTransport(name: "vonage", configuration: .init(apiKey: "k", apiSecret: "s", from: "Herald", baseURL: base), http: http)
                .send([sms(1, to: "+447700900000")])
        }
        #expect(outcomes == [.accepted(providerMessageID: "")])
    }

    /// Mandrill's 200 carries one result per recipient; without a readable one, each recipient of
    /// the request counts as sent with no id, for the same reason.
    @Test(arguments: BadAnswerTests.unreadable + [#"[{"email":"a@example.com","status":"sent","_id":"m1"},{"email":"b@exa"#])
    func anUnreadableMandrill200CountsEveryRecipientAsSent(body: String) async throws {
        let outcomes = try await self.outcomes(of: Self.answer("200 OK", headers: ["Content-Type: application/json"], body: body)) { base, http in
            await MandrillTransport(name: "mandrill", configuration: .init(apiKey: "k", from: EmailAddress(email: "news@example.com"), baseURL: base), http: http)
                .send([
                    email(1, to: "a@example.com", category: "transactional", provider: "mandrill"),
                    email(2, to: "b@example.com", category: "transactional", provider: "mandrill"),
                ])
        }
        #expect(outcomes == [.accepted(providerMessageID: ""), .accepted(providerMessageID: "")])
    }

    @Test func aMandrill200MissingARecipientCountsItAsSentAndKeepsTheOthersID() async throws {
        let body = #"[{"email":"a@example.com","status":"sent","_id":"m1"}]"#
        let outcomes = try await self.outcomes(of: Self.answer("200 OK", headers: ["Content-Type: application/json"], body: body)) { base, http in
            await MandrillTransport(name: "mandrill", configuration: .init(apiKey: "k", from: EmailAddress(email: "news@example.com"), baseURL: base), http: http)
                .send([
                    email(1, to: "a@example.com", category: "transactional", provider: "mandrill"),
                    email(2, to: "b@example.com", category: "transactional", provider: "mandrill"),
                ])
        }
        #expect(outcomes == [.accepted(providerMessageID: "m1"), .accepted(providerMessageID: "")])
    }

    /// SendGrid's success has no body to read: a 2xx is accepted under its X-Message-Id, whatever
    /// follows it.
    @Test(arguments: [("202 Accepted", ["X-Message-Id: sgid-1"], "sgid-1"), ("200 OK", [], "")])
    func aSendGridSuccessWithAnUnreadableBodyIsAccepted(status: String, headers: [String], id: String) async throws {
        for body in Self.unreadable {
            let outcomes = try await self.outcomes(of: Self.answer(status, headers: headers, body: body)) { base, http in
                await SendGridTransport(name: "sendgrid", configuration: .init(apiKey: "k", from: EmailAddress(email: "news@example.com"), baseURL: base), http: http)
                    .send([email(1, to: "a@example.com"), email(2, to: "b@example.com")])
            }
            #expect(outcomes == [.accepted(providerMessageID: id), .accepted(providerMessageID: id)], "\(body)")
        }
    }
}
