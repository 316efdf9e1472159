import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox
import Testing

@Suite(.timeLimit(.minutes(3)))
struct SMTPTransportTests {
    func transport(_ sandbox: RunningSandbox, url: String? = nil, password: String? = nil, connections: Int = 2) throws -> SMTPTransport {
        SMTPTransport(name: "smtp", configuration: .init(
            url: try #require(url ?? sandbox.smtpURL), username: sandbox.accounts.smtpUsername,
            password: password ?? sandbox.accounts.smtpPassword, from: EmailAddress(name: "Boutique Élise", email: "news@example.com"),
            // Generous: these tests are about what the answers mean, and the suite shares two
            // busy cores with end-to-end tests, which can hold the sandbox's loops for seconds.
            certificateAuthorityFile: sandbox.certificateAuthorityFile, connections: connections, connectTimeout: .seconds(30)
        ))
    }

    static let html = """
        <html>
          <body>
            <h1>겨울 세일</h1>
            <p>Bis zu 50 % Rabatt auf \(String(repeating: "Wintermäntel, ", count: 40))und mehr.</p>
            <p><a href="https://shop.example.com/sale?utm=mail&amp;x=1">Jetzt kaufen</a></p>
          </body>
        </html>
        """

    @Test func aMessageGoesOverSTARTTLSWithAuthAndComesBackIntact() async throws {
        try await Sandbox.withRunning { sandbox in
            let smtp = try transport(sandbox)
            let outcome = await smtp.send(email(1, to: "ann@example.com", subject: "겨울 세일 — bis zu 50 % Rabatt, nur heute, für alle Kundinnen und Kunden", html: Self.html, text: "Hallo Ann,\nbis zu 50 % Rabatt.\n"))
            guard case .accepted(let id) = outcome else { Issue.record("\(outcome)"); return }
            let record = try #require(sandbox.log.messages.first)
            #expect(record.providerMessageID == id && id.hasPrefix("<") && id.hasSuffix("@example.com>"))
            #expect(record.to == "ann@example.com" && record.from == "news@example.com")
            #expect(record.subject == "겨울 세일 — bis zu 50 % Rabatt, nur heute, für alle Kundinnen und Kunden")
            #expect(record.headers["From"] == "Boutique Élise <news@example.com>")
            #expect(record.html == Self.html.replacingOccurrences(of: "\n", with: "\r\n"))
            #expect(record.text == "Hallo Ann,\r\nbis zu 50 % Rabatt.\r\n")
            let raw = try #require(record.raw)
            #expect(raw.components(separatedBy: "\r\n").filter { $0.utf8.count > 78 } == [])
            #expect(raw.unicodeScalars.allSatisfy { $0.isASCII })
            #expect(raw.contains("Date: ") && raw.contains("MIME-Version: 1.0\r\n"))
        }
    }

    @Test func anAPISendersAddressIsTheEnvelopeAndHeaderSender() async throws {
        try await Sandbox.withRunning { sandbox in
            var own = email(1, to: "ann@example.com", category: "transactional", provider: "smtp")
            own.content = .email(EmailContent(subject: "Receipt", text: "Paid", fromEmail: "orders@shop.example", fromName: "Shop Orders"))
            let smtp = try transport(sandbox)
            let outcomes = await smtp.send([own])
            guard case .accepted(let id)? = outcomes.first else { Issue.record("\(outcomes)"); return }
            let record = try #require(sandbox.log.messages.first)
            #expect(record.from == "orders@shop.example" && record.headers["From"] == #""Shop Orders" <orders@shop.example>"#, "\(record.headers)")
            #expect(id.hasSuffix("@shop.example>"), "the Message-ID's domain is the sender's")
        }
    }

    @Test func marketingMailHasOneClickUnsubscribeAndTransactionalMailHasNot() async throws {
        try await Sandbox.withRunning { sandbox in
            let smtp = try transport(sandbox)
            _ = await smtp.send([email(1, to: "a@example.com", category: "marketing"), email(2, to: "b@example.com", category: "transactional")])
            let records = Dictionary(uniqueKeysWithValues: sandbox.log.messages.map { ($0.to, $0) })
            #expect(records["a@example.com"]?.headers["List-Unsubscribe"] == "<https://t.example.com/u/token-1>")
            #expect(records["a@example.com"]?.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click")
            #expect(records["b@example.com"]?.headers["List-Unsubscribe"] == nil)
            #expect(records["b@example.com"]?.headers["List-Unsubscribe-Post"] == nil)
        }
    }

    @Test func aRefusedRecipientIsDeadAFullMailboxIsRetriedAndABadPasswordIsMisconfigured() async throws {
        let faults = FaultPlan(providers: [.smtp: ProviderFaults(invalid: ["gone@example.com"], unreachable: ["full@example.com"])])
        try await Sandbox.withRunning(Sandbox.Configuration(faults: faults)) { sandbox in
            let smtp = try transport(sandbox)
            let outcomes = await smtp.send([
                email(1, to: "gone@example.com"), email(2, to: "full@example.com"), email(3, to: "ok@example.com"),
            ])
            #expect(kind(of: outcomes[0]) == "deadAddress", "\(outcomes[0])")
            #expect(reason(of: outcomes[0]).contains("550 5.1.1 <gone@example.com>: Recipient address rejected"), "\(outcomes[0])")
            #expect(kind(of: outcomes[1]) == "retry", "\(outcomes[1])")
            #expect(reason(of: outcomes[1]).contains("452 4.2.2"), "\(outcomes[1])")
            #expect(kind(of: outcomes[2]) == "accepted")
            let wrong = try transport(sandbox, password: "wrong")
            let denied = await wrong.send(email(4, to: "ok@example.com"))
            #expect(kind(of: denied) == "misconfigured", "\(denied)")
            #expect(reason(of: denied).contains("535 5.7.8"), "\(denied)")
        }
        let refusing = FaultPlan(providers: [.smtp: ProviderFaults(errorRates: [554: 1])])
        try await Sandbox.withRunning(Sandbox.Configuration(faults: refusing)) { sandbox in
            let smtp = try transport(sandbox)
            let outcome = await smtp.send(email(1, to: "ok@example.com"))
            #expect(kind(of: outcome) == "rejected", "\(outcome)")
        }
    }

    @Test func connectionsAreReusedAndImplicitTLSWorksToo() async throws {
        try await Sandbox.withRunning(Sandbox.Configuration(smtpsPort: 0)) { sandbox in
            let smtp = try transport(sandbox, connections: 2)
            let outcomes = await smtp.send((1...20).map { email(Int64($0), to: "user\($0)@example.com") })
            #expect(outcomes.allSatisfy { kind(of: $0) == "accepted" })
            #expect(sandbox.log.messages.count == 20)
            #expect(sandbox.log.connections <= 2, "\(sandbox.log.connections) connections for 20 messages")
            let smtps = try transport(sandbox, url: sandbox.smtpsURL)
            let outcome = await smtps.send(email(21, to: "tls@example.com"))
            #expect(kind(of: outcome) == "accepted", "\(outcome)")
        }
    }

    @Test func anOutageGreetingOf421IsARetryAndNothingIsDelivered() async throws {
        let faults = FaultPlan(providers: [.smtp: ProviderFaults(outages: [.init(start: 0, end: 3600)])])
        try await Sandbox.withRunning(Sandbox.Configuration(faults: faults)) { sandbox in
            let outcome = try await transport(sandbox).send(email(1, to: "ann@example.com"))
            #expect(kind(of: outcome) == "retry", "\(outcome)")
            #expect(reason(of: outcome).contains("421 4.3.2 sandbox.herald.test Service not available"), "\(outcome)")
            #expect(sandbox.log.connections >= 1, "the 421 came from the sandbox's server")
            #expect(sandbox.log.messages.isEmpty)
        }
    }

    /// CURLUSESSL_ALL: a server that offers no STARTTLS gets nothing, not even the password,
    /// although this one would take the message in plain text.
    @Test func aServerWithoutSTARTTLSIsMisconfigurationAndNothingGoesInPlainText() async throws {
        try await Sandbox.withRunning(Sandbox.Configuration(smtpOffersSTARTTLS: false)) { sandbox in
            let outcome = try await transport(sandbox).send(email(1, to: "ann@example.com"))
            #expect(kind(of: outcome) == "misconfigured", "\(outcome)")
            #expect(reason(of: outcome).hasPrefix("smtp: the server does not offer STARTTLS, and Herald never sends in plain text"), "\(outcome)")
            #expect(sandbox.log.connections == 1)
            #expect(sandbox.log.messages.isEmpty)
        }
    }

    @Test func aSenderTheServerRefusesAtMAILIsMisconfiguration() async throws {
        let accounts = SandboxAccounts(smtpAllowedSenders: ["news@example.com"])
        try await Sandbox.withRunning(Sandbox.Configuration(accounts: accounts)) { sandbox in
            var foreign = email(1, to: "ann@example.com", category: "transactional", provider: "smtp")
            foreign.content = .email(EmailContent(subject: "Receipt", text: "Paid", fromEmail: "orders@shop.example"))
            let outcomes = try await transport(sandbox).send([foreign, email(2, to: "bob@example.com")])
            #expect(outcomes[0] == .misconfigured(
                reason: "smtp MAIL failed: 553: 553 5.7.1 <orders@shop.example>: Sender address rejected: not owned by user herald (the server refused the sender)"
            ), "\(outcomes[0])")
            #expect(kind(of: outcomes[1]) == "accepted", "\(outcomes[1])")
            #expect(sandbox.log.messages.map(\.to) == ["bob@example.com"])
        }
    }

    @Test func withoutTheSandboxCertificateTheServerIsNotTrusted() async throws {
        try await Sandbox.withRunning { sandbox in
            let smtp = SMTPTransport(name: "smtp", configuration: .init(
                url: try #require(sandbox.smtpURL), username: "herald", password: sandbox.accounts.smtpPassword,
                from: EmailAddress(email: "news@example.com")
            ))
            let outcome = await smtp.send(email(1, to: "a@example.com"))
            #expect(kind(of: outcome) == "misconfigured", "\(outcome)")
            #expect(sandbox.log.messages.isEmpty)
        }
    }
}

@Suite struct MIMEMessageTests {
    @Test func nonASCIIHeadersAreEncodedWordsAndNoInputAddsAHeader() {
        let encoded = MIMEMessage.encodeHeader("겨울 세일 " + String(repeating: "é", count: 60))
        #expect(encoded.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 76 && $0.contains("=?UTF-8?B?") })
        let injected = MIMEMessage.encodeHeader("Sale\r\nBcc: victim@example.com")
        #expect(!injected.contains("\r\nBcc"))
    }

    @Test func quotedPrintableKeepsLinesShortAndEscapesWhatItMust() {
        let long = String(repeating: "Grüße = 100% ", count: 30) + " "
        let encoded = MIMEMessage.quotedPrintable(long + "\nnext line")
        let lines = encoded.components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.utf8.count <= 76 })
        #expect(encoded.contains("=3D") && encoded.contains("=C3=BC"))
        // A trailing space before a hard break is escaped.
        #expect(lines.contains { $0.hasSuffix("=20") })
    }
}

@Suite struct RFC5322DateTests {
    @Test(arguments: [0, 951_782_400, 1_796_142_417, 4_107_542_399, -86_401])
    func datesMatchFoundationsFormatter(seconds: Int) {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        let date = Date(timeIntervalSince1970: Double(seconds))
        #expect(MIMEMessage.rfc5322Date(date) == formatter.string(from: date))
    }
}
