import AsyncHTTPClient
import Foundation
import HeraldCore
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// The HTTP side that every HTTP transport shares: one `HTTPClient` (connection pool, timeouts),
/// a deadline per request and a bounded read of every answer, so that a slow, huge or truncated
/// answer becomes a classified outcome instead of a hang or a crash.
///
/// One per process, shared by every transport, shut down after the dispatchers stop
/// (``shutdown()``).
public final class ProviderHTTPClient: Sendable {
    public struct Configuration: Sendable {
        /// Time to open a connection (TCP and TLS), which async-http-client also applies to a
        /// request waiting for a free connection of the pool (or a stream of an HTTP/2
        /// connection). Default 10 s, the client's own default: a busy host's queue is not a
        /// failed connection.
        public var connectTimeout: Duration
        /// Time without a byte from the provider before a request fails. Default 30 s.
        public var readTimeout: Duration
        /// The whole request, from the first byte sent to the last byte read. Default 60 s.
        public var requestTimeout: Duration
        /// The most bytes of an answer that are read; the rest is dropped and the answer is
        /// classified as truncated. Default 1 MiB.
        public var maximumAnswerSize: Int
        /// Connections kept per host: requests above that wait for one. Default 64.
        public var connectionsPerHost: Int
        /// How long an idle connection is kept for reuse. Default 60 s.
        public var idleTimeout: Duration

        public init(
            connectTimeout: Duration = .seconds(10), readTimeout: Duration = .seconds(30), requestTimeout: Duration = .seconds(60),
            maximumAnswerSize: Int = 1024 * 1024, connectionsPerHost: Int = 64, idleTimeout: Duration = .seconds(60)
        ) {
            self.connectTimeout = connectTimeout
            self.readTimeout = readTimeout
            self.requestTimeout = requestTimeout
            self.maximumAnswerSize = maximumAnswerSize
            self.connectionsPerHost = connectionsPerHost
            self.idleTimeout = idleTimeout
        }
    }

    let client: HTTPClient
    public let configuration: Configuration
    private let isShutDown = Mutex(false)
    /// The HTTP/2 clients of ``http2Client(baseURL:certificateAuthorityFile:tlsConfiguration:)``,
    /// by origin and trust.
    private let http2Clients = Mutex<[String: HTTP2Client]>([:])

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        var http = HTTPClient.Configuration()
        http.timeout = HTTPClient.Configuration.Timeout(
            connect: .nanoseconds(Int64(configuration.connectTimeout.seconds * 1e9)),
            read: .nanoseconds(Int64(configuration.readTimeout.seconds * 1e9))
        )
        http.connectionPool = HTTPClient.Configuration.ConnectionPool(
            idleTimeout: .nanoseconds(Int64(configuration.idleTimeout.seconds * 1e9)),
            concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.connectionsPerHost
        )
        http.decompression = .disabled
        http.redirectConfiguration = .disallow
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: http)
    }

    /// Closes every connection. Call once, after the last send.
    public func shutdown() async throws {
        guard isShutDown.withLock({ let was = $0; $0 = true; return !was }) else { return }
        for http2 in http2Clients.withLock({ Array($0.values) }) { await http2.shutdown() }
        try await client.shutdown()
    }

    /// The HTTP/2 client of `baseURL`'s origin that trusts `certificateAuthorityFile` (nil: the
    /// system's roots), made on first use with `tlsConfiguration` and this client's timeouts,
    /// then shared: transports of one origin and trust share its one connection, and
    /// ``shutdown()`` closes it.
    public func http2Client(baseURL: String, certificateAuthorityFile: String?, tlsConfiguration: TLSConfiguration?) throws -> HTTP2Client {
        let made = try HTTP2Client(baseURL: baseURL, tlsConfiguration: tlsConfiguration, configuration: configuration)
        let key = made.origin + " " + (certificateAuthorityFile ?? "")
        return http2Clients.withLock { clients in
            if let existing = clients[key] { return existing }
            clients[key] = made
            return made
        }
    }

    deinit {
        // A command that ends without `shutdown()` (an error on the way out) still closes its
        // connections; the last reference is never dropped on one of the client's event loops.
        if isShutDown.withLock({ let was = $0; $0 = true; return !was }) {
            for http2 in http2Clients.withLock({ Array($0.values) }) { http2.close() }
            try? client.syncShutdown()
        }
    }

    /// What a provider answered.
    public struct Answer: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        /// At most `maximumAnswerSize` bytes.
        public var body: Data
        /// True when the answer was longer than `maximumAnswerSize` and cut.
        public var isTruncated: Bool

        public init(status: Int, headers: HTTPHeaders = [:], body: Data, isTruncated: Bool = false) {
            self.status = status
            self.headers = headers
            self.body = body
            self.isTruncated = isTruncated
        }

        public func header(_ name: String) -> String? { headers.first(name: name) }
    }

    /// Why no answer came: connecting failed, it timed out, the connection broke.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Sends one request and reads its answer (bounded).
    ///
    /// - Parameter timeout: the whole request's deadline; `configuration.requestTimeout` when nil.
    public func execute(
        method: HTTPMethod, url: String, headers: [(String, String)], body: Data?, timeout: Duration? = nil
    ) async -> Result<Answer, Failure> {
        await execute(method: method, url: url, headers: headers, body: body.map(Array.init), tlsConfiguration: nil, timeout: timeout)
            .map(\.0)
    }

    /// A short sentence for the event trail, never the request (it may hold secrets).
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as HTTPClientError:
            switch error {
            case .connectTimeout: return "connecting timed out"
            case .readTimeout: return "the provider sent nothing for too long (read timeout)"
            case .deadlineExceeded: return "the request took longer than its deadline"
            case .remoteConnectionClosed: return "the provider closed the connection before answering"
            default: return "HTTP error: \(error)"
            }
        default:
            return "could not reach the provider: \(error)"
        }
    }
}

extension ProviderHTTPClient {
    /// `base` and `path` joined with one slash, whatever slashes `base` (a configured base URL)
    /// ends with: `endpoint("https://api.sendgrid.com/", "/v3/mail/send")`.
    public static func endpoint(_ base: String, _ path: String) -> String {
        var base = base
        while base.hasSuffix("/") { base.removeLast() }
        return base + (path.hasPrefix("/") ? path : "/" + path)
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
