import CCurl
import Foundation
import HeraldCore
import Synchronization

/// Email over SMTP, through libcurl: `smtp://` with STARTTLS required (`CURLUSESSL_ALL`; a
/// server without it is a configuration error, never a plain-text send) or `smtps://`, AUTH
/// with the configured user, and the server's certificate checked (against `caFile` when set).
///
/// Each message is its own transaction with one recipient; the message is built by Herald
/// (``MIMEMessage``). A pool of `connections` libcurl handles keeps that many connections open
/// and reuses them. A 4xx reply is retried, a 5xx is permanent, and a 550/551/553 to RCPT is a
/// dead address.
public final class SMTPTransport: Transport {
    public struct Configuration: Sendable, Hashable {
        /// `smtp://host:587` (STARTTLS) or `smtps://host:465` (implicit TLS).
        public var url: String
        public var username: String?
        public var password: String?
        public var from: EmailAddress
        /// A PEM file of the certificate authorities to trust instead of the system's (the
        /// sandbox writes one). Default none.
        public var certificateAuthorityFile: String?
        /// Connections kept open and used at once. Default 4.
        public var connections: Int
        /// Default 10 s.
        public var connectTimeout: Duration
        /// One whole transaction, connecting included. Default 60 s.
        public var timeout: Duration
        /// An address for `mailto:` unsubscribe requests, added to List-Unsubscribe. Default none.
        public var unsubscribeMailto: String?

        public init(
            url: String, username: String? = nil, password: String? = nil, from: EmailAddress, certificateAuthorityFile: String? = nil,
            connections: Int = 4, connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(60), unsubscribeMailto: String? = nil
        ) {
            self.url = url
            self.username = username
            self.password = password
            self.from = from
            self.certificateAuthorityFile = certificateAuthorityFile
            self.connections = connections
            self.connectTimeout = connectTimeout
            self.timeout = timeout
            self.unsubscribeMailto = unsubscribeMailto
        }
    }

    public let name: String
    public let configuration: Configuration
    let clock: any WallClock
    /// Idle handles; a send takes one and puts it back.
    private let idle: Mutex<[CurlSMTPConnection]>

    public init(name: String, configuration: Configuration, clock: any WallClock = SystemWallClock()) {
        self.name = name
        self.configuration = configuration
        self.clock = clock
        idle = Mutex([])
    }

    public func send(_ messages: [OutboundMessage]) async -> [DeliveryOutcome] {
        await concurrentMap(messages, width: max(configuration.connections, 1)) { await self.sendOne($0) }
    }

    /// Sends an already built message through the pool, with no checks and no classification:
    /// the bare SMTP round trips, for measuring a server's ceiling (`herald bench transports`).
    public func sendPrebuilt(_ message: [UInt8], to recipient: String) async -> Bool {
        let settings = CurlSMTPConnection.Settings(
            url: configuration.url, username: configuration.username, password: configuration.password,
            certificateAuthorityFile: configuration.certificateAuthorityFile,
            connectTimeoutMilliseconds: Int(configuration.connectTimeout.components.seconds * 1000),
            timeoutMilliseconds: Int(configuration.timeout.components.seconds * 1000)
        )
        let sender = configuration.from.email
        return await onOwnThread(ifCancelled: false) {
            guard let connection = self.idle.withLock({ $0.popLast() }) ?? CurlSMTPConnection() else { return false }
            let result = connection.send(message, from: sender, to: recipient, settings: settings)
            self.idle.withLock { $0.append(connection) }
            return result.code == CURLE_OK
        }
    }

    func sendOne(_ message: OutboundMessage) async -> DeliveryOutcome {
        let now = clock.now
        if let refused = MessageChecks.expiry(message, now: now) ?? MessageChecks.email(message) { return refused }
        guard case .email(let content) = message.content else { return .rejected(reason: "not an email") }
        let from = EmailAddress.sender(of: content, configured: configuration.from)
        let domain = from.email.split(separator: "@").last.map(String.init) ?? "herald.invalid"
        let messageID = "<\(message.idempotencyID.uuidString.lowercased())@\(domain)>"
        let text = MIMEMessage.build(
            message, content: content, from: from, messageID: messageID, date: now, unsubscribeMailto: configuration.unsubscribeMailto
        )
        let settings = CurlSMTPConnection.Settings(
            url: configuration.url, username: configuration.username, password: configuration.password,
            certificateAuthorityFile: configuration.certificateAuthorityFile,
            connectTimeoutMilliseconds: Int(configuration.connectTimeout.components.seconds * 1000),
            timeoutMilliseconds: Int(configuration.timeout.components.seconds * 1000)
        )
        let sender = from.email
        // nil: cancelled while the server had the message; .some(nil): no libcurl handle.
        let answer: CurlSMTPConnection.Result?? = await onOwnThread(ifCancelled: nil) { () -> CurlSMTPConnection.Result?? in
            guard let connection = self.idle.withLock({ $0.popLast() }) ?? CurlSMTPConnection() else { return .some(nil) }
            let result = connection.send(Array(text.utf8), from: sender, to: message.address, settings: settings)
            self.idle.withLock { $0.append(connection) }
            return .some(result)
        }
        guard let answer else {
            return .retry(after: nil, reason: "smtp: stopped waiting for the server's answer; the message may have been delivered")
        }
        guard let result = answer else { return .retry(after: nil, reason: "smtp: libcurl could not make a handle") }
        return SMTPClassifier.outcome(result, messageID: messageID)
    }
}

/// Runs blocking work (one libcurl transaction) on a thread of its own and resumes with its
/// result. Never on Dispatch's global queues: on Linux, Swift concurrency runs on the same
/// default pool, which has a thread per core and adds more only slowly while they block, so a
/// few blocking sends there stall every task of the process (HTTP transports, the engine's
/// lanes, an in-process sandbox) for as long as they last.
///
/// A cancelled caller gets `ifCancelled` at once and the thread finishes on its own: libcurl
/// cannot be interrupted, and a worker that is stopping must not wait for an SMTP server's
/// timeout (a minute) before giving the message back.
func onOwnThread<T: Sendable>(ifCancelled: T, _ body: @escaping @Sendable () -> T) async -> T {
    let waiting = Mutex<CheckedContinuation<T, Never>?>(nil)
    return await withTaskCancellationHandler {
        await withCheckedContinuation { continuation in
            waiting.withLock { $0 = continuation }
            if Task.isCancelled, let continuation = waiting.withLock({ $0.take() }) {
                continuation.resume(returning: ifCancelled)
                return
            }
            Thread {
                let result = body()
                waiting.withLock { $0.take() }?.resume(returning: result)
            }.start()
        }
    } onCancel: {
        waiting.withLock { $0.take() }?.resume(returning: ifCancelled)
    }
}

/// libcurl's result and the SMTP reply as an outcome.
enum SMTPClassifier {
    static func outcome(_ result: CurlSMTPConnection.Result, messageID: String) -> DeliveryOutcome {
        if result.code == CURLE_OK { return .accepted(providerMessageID: messageID) }
        let reply = result.lastReply.isEmpty ? "" : ": \(result.lastReply)"
        let reason = "smtp \(result.error)\(reply)"
        switch result.code {
        case CURLE_LOGIN_DENIED:
            return .misconfigured(reason: reason + " (check username and password)")
        case CURLE_USE_SSL_FAILED:
            return .misconfigured(reason: "smtp: the server does not offer STARTTLS, and Herald never sends in plain text\(reply)")
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_URL_MALFORMAT,
             CURLE_UNSUPPORTED_PROTOCOL:
            return .misconfigured(reason: reason)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_OPERATION_TIMEDOUT, CURLE_GOT_NOTHING, CURLE_RECV_ERROR:
            return .retry(after: nil, reason: reason)
        default:
            break
        }
        switch result.replyCode {
        case 400...499:
            return .retry(after: nil, reason: reason)
        case 550...553 where result.replyCode != 552 && result.error.hasPrefix("RCPT"):
            // 550 no such mailbox, 551 not local, 553 mailbox name not allowed; 552 is storage.
            return .deadAddress(reason: reason)
        case 500...599:
            if result.error.hasPrefix("MAIL") { return .misconfigured(reason: reason + " (the server refused the sender)") }
            return .rejected(reason: reason)
        default:
            return .retry(after: nil, reason: reason)
        }
    }
}
