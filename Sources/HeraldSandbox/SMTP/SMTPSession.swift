import Foundation

/// One SMTP conversation of the sandbox's server, as a pure state machine: it takes a line (or
/// the end of the greeting) and returns what to do, so that it is tested without a socket.
///
/// It behaves like a submission server that requires STARTTLS (or implicit TLS) and AUTH PLAIN
/// or LOGIN before MAIL, with real reply codes and enhanced status codes (RFC 3463). Without
/// `offersSTARTTLS` it is a plain-text server with no TLS at all, which takes AUTH and mail in
/// the clear: what a client that insists on TLS must refuse to talk to.
struct SMTPSession {
    enum Action: Equatable {
        case reply(String)
        /// Reply first, then put TLS in front of the connection and forget buffered input.
        case startTLS
        case close
        case deliver(SMTPEnvelope)
    }

    enum Mode: Equatable {
        case command
        case authPlain
        case authLoginUser
        case authLoginPassword(user: String)
        case data
    }

    let hostname = "sandbox.herald.test"
    let accounts: SandboxAccounts
    let faults: ProviderFaults
    /// The largest message DATA takes. Default 32 MiB (as aiosmtpd).
    let maximumSize: Int
    /// Whether a plain connection is offered STARTTLS and must use it before AUTH and MAIL.
    /// Default true.
    let offersSTARTTLS: Bool
    private(set) var isTLS: Bool
    private(set) var mode = Mode.command
    private var greeted = false
    private var authenticated = false
    private var sender: String?
    private var recipients: [String] = []
    private var data: [String] = []
    private var dataSize = 0

    init(accounts: SandboxAccounts, faults: ProviderFaults, isTLS: Bool, maximumSize: Int = 32 * 1024 * 1024, offersSTARTTLS: Bool = true) {
        self.accounts = accounts
        self.faults = faults
        self.isTLS = isTLS
        self.maximumSize = maximumSize
        self.offersSTARTTLS = offersSTARTTLS
    }

    /// TLS is in place, or the server has none to offer.
    private var isSecureEnough: Bool { isTLS || !offersSTARTTLS }

    func greeting(inOutage: Bool) -> [Action] {
        inOutage ? [.reply("421 4.3.2 \(hostname) Service not available, closing transmission channel"), .close]
            : [.reply("220 \(hostname) ESMTP Herald sandbox")]
    }

    /// After STARTTLS: everything said before is forgotten (RFC 3207 §4.2).
    mutating func tlsStarted() {
        isTLS = true
        greeted = false
        authenticated = false
        reset()
    }

    private mutating func reset() {
        sender = nil
        recipients = []
        data = []
        dataSize = 0
    }

    /// - Parameter injectedReply: a reply code the fault plan draws for this message's DATA.
    mutating func receive(_ line: String, injectedReply: Int? = nil) -> [Action] {
        switch mode {
        case .data: return receiveData(line, injectedReply: injectedReply)
        case .authPlain:
            mode = .command
            return finishPlain(line)
        case .authLoginUser:
            mode = .authLoginPassword(user: Self.decode(line) ?? "")
            return [.reply("334 UGFzc3dvcmQ6")]
        case .authLoginPassword(let user):
            mode = .command
            return finishAuth(user: user, password: Self.decode(line))
        case .command: break
        }
        guard line.utf8.count <= 512 else { return [.reply("500 5.5.2 Line too long")] }
        let verb = line.split(separator: " ", maxSplits: 1).first.map { $0.uppercased() } ?? ""
        let argument = line.count > verb.count ? String(line.dropFirst(verb.count + 1)) : ""
        switch verb {
        case "EHLO":
            guard !argument.isEmpty else { return [.reply("501 5.5.4 Syntax: EHLO hostname")] }
            greeted = true
            reset()
            var lines = [hostname, "PIPELINING", "SIZE \(maximumSize)", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES"]
            lines.append(isSecureEnough ? "AUTH PLAIN LOGIN" : "STARTTLS")
            return [.reply(lines.enumerated().map { "250\($0.offset == lines.count - 1 ? " " : "-")\($0.element)" }.joined(separator: "\r\n"))]
        case "HELO":
            greeted = true
            reset()
            return [.reply("250 \(hostname)")]
        case "STARTTLS":
            guard offersSTARTTLS else { return [.reply("502 5.5.1 Error: command not implemented")] }
            guard !isTLS else { return [.reply("503 5.5.1 TLS already active")] }
            return [.reply("220 2.0.0 Ready to start TLS"), .startTLS]
        case "AUTH":
            guard isSecureEnough else { return [.reply("530 5.7.0 Must issue a STARTTLS command first")] }
            guard greeted else { return [.reply("503 5.5.1 Error: send EHLO first")] }
            guard !authenticated else { return [.reply("503 5.5.1 Already authenticated")] }
            let parts = argument.split(separator: " ")
            switch parts.first?.uppercased() {
            case "PLAIN":
                if parts.count > 1 { return finishPlain(String(parts[1])) }
                mode = .authPlain
                return [.reply("334 ")]
            case "LOGIN":
                if parts.count > 1 {
                    mode = .authLoginPassword(user: Self.decode(String(parts[1])) ?? "")
                    return [.reply("334 UGFzc3dvcmQ6")]
                }
                mode = .authLoginUser
                return [.reply("334 VXNlcm5hbWU6")]
            default:
                return [.reply("504 5.5.4 Unrecognized authentication type")]
            }
        case "MAIL":
            guard isSecureEnough else { return [.reply("530 5.7.0 Must issue a STARTTLS command first")] }
            guard authenticated else { return [.reply("530 5.7.0 Authentication required")] }
            guard sender == nil else { return [.reply("503 5.5.1 Error: nested MAIL command")] }
            guard argument.uppercased().hasPrefix("FROM:"), let address = Self.path(String(argument.dropFirst(5))) else {
                return [.reply("501 5.5.4 Syntax: MAIL FROM:<address>")]
            }
            if let allowed = accounts.smtpAllowedSenders, !allowed.contains(address) {
                return [.reply("553 5.7.1 <\(address)>: Sender address rejected: not owned by user \(accounts.smtpUsername)")]
            }
            sender = address
            return [.reply("250 2.1.0 Ok")]
        case "RCPT":
            guard sender != nil else { return [.reply("503 5.5.1 Error: need MAIL command")] }
            guard argument.uppercased().hasPrefix("TO:"), let address = Self.path(String(argument.dropFirst(3))), !address.isEmpty else {
                return [.reply("501 5.5.4 Syntax: RCPT TO:<address>")]
            }
            guard AddressSyntax.isEmail(address) else { return [.reply("501 5.1.3 Bad recipient address syntax")] }
            if faults.invalid.contains(address) {
                return [.reply("550 5.1.1 <\(address)>: Recipient address rejected: User unknown in virtual mailbox table")]
            }
            if faults.optedOut.contains(address) {
                return [.reply("550 5.7.1 <\(address)>: Recipient address rejected: the recipient unsubscribed")]
            }
            if faults.unreachable.contains(address) {
                return [.reply("452 4.2.2 <\(address)>: Mailbox full, try again later")]
            }
            guard recipients.count < 100 else { return [.reply("452 4.5.3 Error: too many recipients")] }
            recipients.append(address)
            return [.reply("250 2.1.5 Ok")]
        case "DATA":
            guard !recipients.isEmpty else { return [.reply("503 5.5.1 Error: need RCPT command")] }
            mode = .data
            return [.reply("354 End data with <CR><LF>.<CR><LF>")]
        case "RSET":
            reset()
            return [.reply("250 2.0.0 Ok")]
        case "NOOP":
            return [.reply("250 2.0.0 Ok")]
        case "VRFY":
            return [.reply("252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery")]
        case "QUIT":
            return [.reply("221 2.0.0 Bye"), .close]
        default:
            return [.reply("500 5.5.2 Error: command not recognized")]
        }
    }

    private mutating func receiveData(_ line: String, injectedReply: Int?) -> [Action] {
        guard line != "." else {
            mode = .command
            defer { reset() }
            if dataSize > maximumSize { return [.reply("552 5.3.4 Error: message file too big")] }
            if let code = injectedReply {
                return [.reply(code >= 500 ? "\(code) 5.3.0 Error: the message was refused (injected fault)" : "\(code) 4.3.0 Error: try again later (injected fault)")]
            }
            let envelope = SMTPEnvelope(sender: sender ?? "", recipients: recipients, message: data.joined(separator: "\r\n") + "\r\n")
            return [.deliver(envelope)]
        }
        dataSize += line.utf8.count + 2
        // Beyond the limit the text is dropped, and the end of DATA answers 552.
        if dataSize <= maximumSize {
            data.append(line.hasPrefix(".") ? String(line.dropFirst()) : line)
        }
        return []
    }

    private mutating func finishPlain(_ encoded: String) -> [Action] {
        guard let decoded = Self.decode(encoded) else { return [.reply("501 5.5.2 Cannot decode response")] }
        let parts = decoded.split(separator: "\0", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return [.reply("501 5.5.2 Cannot decode response")] }
        return finishAuth(user: String(parts[1]), password: String(parts[2]))
    }

    private mutating func finishAuth(user: String, password: String?) -> [Action] {
        guard user == accounts.smtpUsername, password == accounts.smtpPassword else {
            return [.reply("535 5.7.8 Error: authentication failed")]
        }
        authenticated = true
        return [.reply("235 2.7.0 Authentication successful")]
    }

    static func decode(_ base64: String) -> String? {
        Data(base64Encoded: base64.trimmingCharacters(in: .whitespaces)).flatMap { String(data: $0, encoding: .utf8) }
    }

    /// `<a@b.c> SIZE=1` → `a@b.c`; `<>` → empty.
    static func path(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("<"), let close = trimmed.firstIndex(of: ">") else { return nil }
        return String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
    }
}

/// A message handed over with DATA.
struct SMTPEnvelope: Equatable {
    var sender: String
    var recipients: [String]
    /// The RFC 5322 text, dot-unstuffed, CRLF line ends.
    var message: String
}
