import Foundation
import NIOCore
import NIOEmbedded
import NIOSSL
import Testing

@testable import HeraldSandbox

/// The sandbox's SMTP server bounds a line, in a message as in a command: a client that never
/// ends its line gets an answer and is disconnected, instead of the server buffering and
/// scanning an ever longer line.
@Suite struct SMTPServerLineTests {
    @Test func aLineThatNeverEndsInsideAMessageIsRefusedAndTheConnectionClosed() throws {
        let accounts = SandboxAccounts()
        let certificate = try SandboxCertificate.generate()
        let tls = try NIOSSLContext(configuration: TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificate.chainPEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(certificate.privateKeyPEM.utf8), format: .pem))
        ))
        // As after implicit TLS: the session needs no STARTTLS, so it runs on a plain embedded channel.
        let handler = SMTPHandler(
            session: SMTPSession(accounts: accounts, faults: ProviderFaults(), isTLS: true), tls: tls, draw: FaultState(FaultDraw(seed: 1)),
            faults: ProviderFaults(), started: Date(), log: try MessageLog(), events: NoEvents()
        )
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 25)).wait()
        func replies() throws -> String {
            var text = ""
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
            return text
        }
        func send(_ line: String) throws -> String {
            try channel.writeInbound(ByteBuffer(string: line))
            return try replies()
        }
        #expect(try replies().hasPrefix("220 "))
        #expect(try send("EHLO client.example.com\r\n").contains("250"))
        let plain = Data("\u{0}\(accounts.smtpUsername)\u{0}\(accounts.smtpPassword)".utf8).base64EncodedString()
        #expect(try send("AUTH PLAIN \(plain)\r\n").hasPrefix("235"))
        #expect(try send("MAIL FROM:<news@example.com>\r\n").hasPrefix("250"))
        #expect(try send("RCPT TO:<ana@example.com>\r\n").hasPrefix("250"))
        #expect(try send("DATA\r\n").hasPrefix("354"))
        #expect(try send("Subject: hi\r\n\r\n") == "")
        var answer = ""
        for _ in 0..<20 where channel.isActive {
            answer += try send(String(repeating: "x", count: 8 * 1024))
        }
        #expect(answer == "500 5.5.2 Line too long\r\n")
        #expect(!channel.isActive, "the server hung up")
    }
}
