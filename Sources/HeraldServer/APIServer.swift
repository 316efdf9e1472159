import Foundation
import HeraldContent
import HeraldCore
import HeraldEngine
import Hummingbird
import Logging
import NIOCore

/// Herald's HTTP API (`herald serve`, `herald run`): users, devices and preferences, events,
/// one-click unsubscribe, and health. Every `/v1` route needs an API key with the route's scope;
/// the others are public and authenticate what they carry (signed tokens).
public struct APIServer: Sendable {
    /// What the routes read and write: the API's own role, provider events, API keys, users, and
    /// the outbox's figures for `/metrics`. ``SQLiteStore`` and `PostgresStore` are each one.
    public typealias Storage = APIStore & ProviderEventStore & APIKeyStore & UserStore & OutboxInspection

    /// What the routes work with.
    public struct Parts: Sendable {
        public var store: any Storage
        public var clock: any WallClock
        /// Records events and plans what they trigger.
        public var events: EventIntake
        /// Verifies `/u/{token}`; nil when herald.yml has no `tracking:` (the route answers 404).
        public var unsubscribeLinks: UnsubscribeLinks?
        /// Verifies `/o/{token}` and `/c/{token}`; nil without `tracking:` (404, pixel uncounted).
        public var trackingLinks: TrackingLinks?
        public var schema: AttributeSchema
        public var preferenceKeys: PreferenceVocabulary
        /// One-off sends of the workspace's templates.
        public var directSend: DirectSend
        public var templates: [String: Template]
        /// What verifies each provider's webhooks.
        public var webhooks: WebhookSecrets
        /// `/metrics`; share its registry with the process's swift-metrics factory to show the
        /// dispatchers' sends too.
        public var metrics: APIMetrics
        /// Called after a request planned notifications, to wake this process's workers.
        public var onPlanned: @Sendable () -> Void
        /// Whether an API send may name this address as its sender (`from`):
        /// `APIConfiguration.allows(sender:senders:providerSenders:)` over herald.yml.
        public var allowsSender: @Sendable (String) -> Bool

        public init(
            store: any Storage, clock: any WallClock, events: EventIntake, unsubscribeLinks: UnsubscribeLinks?, schema: AttributeSchema,
            preferenceKeys: PreferenceVocabulary, directSend: DirectSend, templates: [String: Template], webhooks: WebhookSecrets = WebhookSecrets(),
            trackingLinks: TrackingLinks? = nil, metrics: APIMetrics = APIMetrics(), onPlanned: @escaping @Sendable () -> Void = {},
            allowsSender: @escaping @Sendable (String) -> Bool = { _ in false }
        ) {
            self.allowsSender = allowsSender
            self.trackingLinks = trackingLinks
            self.metrics = metrics
            self.webhooks = webhooks
            self.directSend = directSend
            self.templates = templates
            self.onPlanned = onPlanned
            self.store = store
            self.clock = clock
            self.events = events
            self.unsubscribeLinks = unsubscribeLinks
            self.schema = schema
            self.preferenceKeys = preferenceKeys
        }
    }

    let parts: Parts
    let keyring: APIKeyring
    /// One line per request at `info`: method, route pattern, status and duration, never a
    /// path with an id or token in it, a body, or a header.
    let accessLogger: Logger

    public init(_ parts: Parts, accessLogger: Logger = Logger(label: "herald.api.access", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.parts = parts
        self.accessLogger = accessLogger
        keyring = APIKeyring(store: parts.store, clock: parts.clock)
    }

    var store: any Storage { parts.store }
    var now: Date { parts.clock.now }

    /// Every route.
    public func router() -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: MetricsMiddleware(metrics: parts.metrics, logger: accessLogger))
        router.add(middleware: ErrorMiddleware())
        addHealthRoutes(to: router)
        addUnsubscribeRoutes(to: router)
        addWebhookRoutes(to: router)
        addTrackingRoutes(to: router)
        let v1 = router.group("v1")
        addEventRoutes(to: v1.group("events").add(middleware: APIAuthenticator(scope: .events, keys: keyring)))
        addUserRoutes(to: v1.group("users").add(middleware: APIAuthenticator(scope: .users, keys: keyring)))
        addNotificationRoutes(to: v1.group().add(middleware: APIAuthenticator(scope: .send, keys: keyring)))
        return router
    }

    /// The server, listening on `host:port` (port 0: any free port, told to `onServerRunning`).
    public func application(
        host: String, port: Int, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "herald"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }

    // MARK: health

    func addHealthRoutes(to router: Router<APIRequestContext>) {
        router.get("healthz") { _, _ in JSONBody.response(["status": "ok"]) }
        router.get("metrics") { _, _ in
            var fields = HTTPFields()
            fields[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            let text = try await parts.metrics.scrape(store: store, now: now)
            return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
        }
        router.get("readyz") { _, _ in
            await store.isReady()
                ? JSONBody.response(["status": "ready"])
                : JSONBody.response(["status": "unavailable", "reason": "the store does not answer"], status: .serviceUnavailable)
        }
    }
}

/// Answers every error that is not an ``APIError`` with a JSON body of the same shape: a route
/// that is not there, a method it does not take, or a failure nobody expected (500, with its
/// detail logged, not shown).
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            switch error.status {
            case .notFound:
                throw APIError(.notFound, code: "route.not_found", "no route \(request.method.rawValue) \(request.uri.path)")
            case .methodNotAllowed:
                throw APIError(.methodNotAllowed, code: "route.method_not_allowed", "\(request.uri.path) does not take \(request.method.rawValue)")
            case .contentTooLarge:
                throw JSONBody.tooLarge(JSONBody.maximumBytes)
            default:
                throw APIError(error.status, code: "request.invalid", error.body ?? error.status.reasonPhrase)
            }
        } catch {
            // The route pattern, not the path: a path holds user ids and tokens.
            context.logger.error("request failed", metadata: ["route": "\(context.endpointPath ?? "unmatched")", "error": "\(error)"])
            throw APIError(.internalServerError, code: "server.error", "the request failed inside Herald; the server log has the detail")
        }
    }
}
