import Foundation
import Synchronization

/// One message the sandbox accepted, as the provider would have delivered it.
public struct RecordedMessage: Sendable, Hashable, Codable {
    public var provider: SandboxProvider
    /// The id the sandbox answered with (Twilio's SM…, SendGrid's X-Message-Id, …).
    public var providerMessageID: String
    public var to: String
    public var from: String
    /// The email subject; nil for SMS.
    public var subject: String?
    /// The SMS text, or the email's text part.
    public var text: String?
    public var html: String?
    /// Headers the sender asked for (email), e.g. `List-Unsubscribe`.
    public var headers: [String: String]
    /// The sender's own identifiers: SendGrid custom_args, Mandrill metadata, Vonage client-ref.
    public var metadata: [String: String]
    /// Where the provider would post delivery events for this message, when the request said so.
    public var callbackURL: String?
    /// Seconds since 1970.
    public var acceptedAt: Double
    /// The raw message for SMTP (RFC 5322 text), so tests can check its encoding.
    public var raw: String?

    public init(
        provider: SandboxProvider, providerMessageID: String, to: String, from: String, subject: String? = nil, text: String? = nil,
        html: String? = nil, headers: [String: String] = [:], metadata: [String: String] = [:], callbackURL: String? = nil,
        acceptedAt: Double, raw: String? = nil
    ) {
        self.provider = provider
        self.providerMessageID = providerMessageID
        self.to = to
        self.from = from
        self.subject = subject
        self.text = text
        self.html = html
        self.headers = headers
        self.metadata = metadata
        self.callbackURL = callbackURL
        self.acceptedAt = acceptedAt
        self.raw = raw
    }
}

/// Every accepted message, in memory (bounded) and, with `--record FILE`, as JSON Lines.
public final class MessageLog: Sendable {
    private let state: Mutex<State>
    private let limit: Int
    /// Whether a record file takes every message as JSON Lines.
    private let records: Bool

    private struct State {
        var messages: [RecordedMessage] = []
        var total = 0
        var connections = 0
        var httpConnections = 0
        var requests: [RecordedRequest] = []
        var file: FileHandle?
    }

    /// - Parameters:
    ///   - recordFile: a JSON Lines file that receives every message; created or truncated.
    ///   - limit: the most messages kept in memory; the file keeps all. Default 100,000.
    public init(recordFile: String? = nil, limit: Int = 100_000) throws {
        var state = State()
        if let recordFile {
            guard FileManager.default.createFile(atPath: recordFile, contents: nil) else {
                throw SandboxError("cannot create the record file \(recordFile)")
            }
            state.file = FileHandle(forWritingAtPath: recordFile)
        }
        self.records = state.file != nil
        self.state = Mutex(state)
        self.limit = limit
    }

    public func append(_ messages: [RecordedMessage]) {
        guard !messages.isEmpty else { return }
        // Encoded only for a record file, outside the lock: without one, encoding every message
        // was a fifth of the sandbox's work per APNs request, and went nowhere.
        var lines = Data()
        if records {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for message in messages {
                if let line = try? encoder.encode(message) {
                    lines.append(line)
                    lines.append(0x0A)
                }
            }
        }
        state.withLock { state in
            state.total += messages.count
            state.messages.append(contentsOf: messages)
            // Trimmed in bulk once twice the limit is held: trimming on every append past the
            // limit moved the whole array each time, and a long run slowed down as it went.
            if state.messages.count >= 2 * limit { state.messages.removeFirst(state.messages.count - limit) }
            state.file?.write(lines)
        }
    }

    /// The messages kept in memory (the latest `limit`), oldest first.
    public var messages: [RecordedMessage] {
        state.withLock { $0.messages.count <= limit ? $0.messages : Array($0.messages.suffix(limit)) }
    }

    /// How many messages were accepted since the start.
    public var count: Int { state.withLock { $0.total } }

    /// SMTP connections accepted since the start: fewer than messages when clients reuse them.
    public var connections: Int { state.withLock { $0.connections } }

    /// HTTP connections the emulators' server accepted since the start (not APNs, which has its
    /// own server): fewer than requests when clients keep connections alive and reuse them.
    public var httpConnections: Int { state.withLock { $0.httpConnections } }

    /// The raw requests kept with `Sandbox.Configuration.recordsRequests`, oldest first.
    public var requests: [RecordedRequest] { state.withLock { $0.requests } }

    func record(_ request: RecordedRequest) {
        state.withLock { if $0.requests.count < 10_000 { $0.requests.append(request) } }
    }

    func countConnection() {
        state.withLock { $0.connections += 1 }
    }

    func countHTTPConnection() {
        state.withLock { $0.httpConnections += 1 }
    }

    public func removeAll() {
        state.withLock { $0.messages.removeAll() }
    }

    deinit {
        state.withLock { try? $0.file?.close() }
    }
}

/// A sandbox that cannot start or read its input.
public struct SandboxError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A request as it arrived, for checking a client's wire format against the provider's
/// specification.
public struct RecordedRequest: Sendable, Hashable {
    public var provider: SandboxProvider
    public var method: String
    /// Below the provider's prefix.
    public var path: String
    /// Names lowercased.
    public var headers: [String: String]
    public var body: Data
}
