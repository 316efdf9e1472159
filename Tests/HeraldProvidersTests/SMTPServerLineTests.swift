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

/// One conversation with the sandbox's SMTP handler on an embedded channel, line by line: what
/// a client reads after each line it sends.
struct SMTPConversation {
    let channel: EmbeddedChannel
    let log: MessageLog

    init(
        accounts: SandboxAccounts = SandboxAccounts(), faults: ProviderFaults = ProviderFaults(), isTLS: Bool = true,
        offersSTARTTLS: Bool = true, started: Date = Date()
    ) throws {
        let certificate = try SandboxCertificate.generate()
        let tls = try NIOSSLContext(configuration: TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificate.chainPEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(certificate.privateKeyPEM.utf8), format: .pem))
        ))
        log = try MessageLog()
        channel = EmbeddedChannel(handler: SMTPHandler(
            session: SMTPSession(accounts: accounts, faults: faults, isTLS: isTLS, offersSTARTTLS: offersSTARTTLS), tls: tls,
            draw: FaultState(FaultDraw(seed: 1)), faults: faults, started: started, log: log, events: NoEvents()
        ))
    }

    /// Connects; the answer is the greeting.
    func connect() throws -> String {
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 25)).wait()
        return try replies()
    }

    func replies() throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    func send(_ line: String) throws -> String {
        try channel.writeInbound(ByteBuffer(string: line + "\r\n"))
        return try replies()
    }
}

func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

@Suite struct SMTPServerConversationTests {
    @Test func duringAnOutageTheServerGreetsWith421AndHangsUp() throws {
        let outage = ProviderFaults(outages: [.init(start: 0, end: 3600)])
        let down = try SMTPConversation(faults: outage)
        #expect(try down.connect() == "421 4.3.2 sandbox.herald.test Service not available, closing transmission channel\r\n")
        #expect(!down.channel.isActive, "the server hung up after its 421")
        // Two hours after the sandbox started, the window has closed: a normal greeting.
        let later = try SMTPConversation(faults: outage, started: Date(timeIntervalSinceNow: -7200))
        #expect(try later.connect() == "220 sandbox.herald.test ESMTP Herald sandbox\r\n")
        #expect(later.channel.isActive)
    }

    @Test func authLoginPromptsInBase64AcceptsTheRightPasswordAndRefusesAWrongOne() throws {
        let accounts = SandboxAccounts()
        let smtp = try SMTPConversation(accounts: accounts)
        _ = try smtp.connect()
        #expect(try smtp.send("EHLO client.example.com").contains("250 AUTH PLAIN LOGIN\r\n"))
        let userPrompt = try smtp.send("AUTH LOGIN")
        #expect(userPrompt == "334 VXNlcm5hbWU6\r\n")
        #expect(Data(base64Encoded: "VXNlcm5hbWU6").map { String(decoding: $0, as: UTF8.self) } == "Username:")
        #expect(try smtp.send(base64(accounts.smtpUsername)) == "334 UGFzc3dvcmQ6\r\n")
        #expect(Data(base64Encoded: "UGFzc3dvcmQ6").map { String(decoding: $0, as: UTF8.self) } == "Password:")
        #expect(try smtp.send(base64("not-the-password")) == "535 5.7.8 Error: authentication failed\r\n")
        #expect(try smtp.send("MAIL FROM:<news@example.com>") == "530 5.7.0 Authentication required\r\n")
        // The user name may come with the command (the initial response): only the password prompt follows.
        #expect(try smtp.send("AUTH LOGIN \(base64(accounts.smtpUsername))") == "334 UGFzc3dvcmQ6\r\n")
        #expect(try smtp.send(base64(accounts.smtpPassword)) == "235 2.7.0 Authentication successful\r\n")
        #expect(try smtp.send("AUTH LOGIN") == "503 5.5.1 Already authenticated\r\n")
        #expect(try smtp.send("MAIL FROM:<news@example.com>") == "250 2.1.0 Ok\r\n")
    }

    @Test func byDefaultAPlainConnectionMustSTARTTLSBeforeAuthAndMail() throws {
        let smtp = try SMTPConversation(isTLS: false)
        _ = try smtp.connect()
        let ehlo = try smtp.send("EHLO client.example.com")
        #expect(ehlo.contains("250 STARTTLS\r\n") && !ehlo.contains("AUTH"), "\(ehlo)")
        #expect(try smtp.send("AUTH PLAIN \(base64("\u{0}herald\u{0}sandbox-smtp-password"))") == "530 5.7.0 Must issue a STARTTLS command first\r\n")
        #expect(try smtp.send("MAIL FROM:<news@example.com>") == "530 5.7.0 Must issue a STARTTLS command first\r\n")
    }

    /// The server a TLS-only client must refuse: it offers no STARTTLS, and would take the
    /// password and the message in the clear.
    @Test func withoutSTARTTLSTheServerTakesAuthAndMailInPlainText() throws {
        let accounts = SandboxAccounts()
        let smtp = try SMTPConversation(accounts: accounts, isTLS: false, offersSTARTTLS: false)
        _ = try smtp.connect()
        let ehlo = try smtp.send("EHLO client.example.com")
        #expect(!ehlo.contains("STARTTLS") && ehlo.contains("250 AUTH PLAIN LOGIN\r\n"), "\(ehlo)")
        #expect(try smtp.send("STARTTLS") == "502 5.5.1 Error: command not implemented\r\n")
        let plain = base64("\u{0}\(accounts.smtpUsername)\u{0}\(accounts.smtpPassword)")
        #expect(try smtp.send("AUTH PLAIN \(plain)") == "235 2.7.0 Authentication successful\r\n")
        #expect(try smtp.send("MAIL FROM:<news@example.com>") == "250 2.1.0 Ok\r\n")
        #expect(try smtp.send("RCPT TO:<ann@example.com>") == "250 2.1.5 Ok\r\n")
        #expect(try smtp.send("DATA").hasPrefix("354"))
        _ = try smtp.send("Subject: in the clear\r\n\r\nHello")
        #expect(try smtp.send(".").hasPrefix("250 2.0.0 Ok: queued as "))
        #expect(smtp.log.messages.map(\.to) == ["ann@example.com"])
    }

    @Test func aSenderTheUserDoesNotOwnIsRefusedAtMAIL() throws {
        let accounts = SandboxAccounts(smtpAllowedSenders: ["news@example.com"])
        let smtp = try SMTPConversation(accounts: accounts)
        _ = try smtp.connect()
        _ = try smtp.send("EHLO client.example.com")
        #expect(try smtp.send("AUTH PLAIN \(base64("\u{0}\(accounts.smtpUsername)\u{0}\(accounts.smtpPassword)"))").hasPrefix("235"))
        #expect(try smtp.send("MAIL FROM:<orders@shop.example>") == "553 5.7.1 <orders@shop.example>: Sender address rejected: not owned by user herald\r\n")
        #expect(try smtp.send("MAIL FROM:<news@example.com>") == "250 2.1.0 Ok\r\n")
    }
}
