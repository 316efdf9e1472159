import Foundation
import HTTPTypes
import HeraldContent
import HeraldCore
import HeraldDefinitions
import HeraldEngine
import HeraldProviders
import HeraldServer
import HeraldStore
import HeraldTesting
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The API on the repository's sample workspace and a real SQLite file, driven through
/// Hummingbird's router test client, on a clock the test moves.
struct APIHarness {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let start = Date(timeIntervalSince1970: 1_796_000_000)  // 2026-11-30T00:53:20Z

    let store: SQLiteStore
    let clock: ManualClock
    let workspace: Workspace
    let links: UnsubscribeLinks
    let tracking: TrackingLinks
    let planner: Planner
    let server: APIServer

    /// Runs `body` with a fresh harness and a client of its router.
    static func run(webhooks: WebhookSecrets = WebhookSecrets(), _ body: @Sendable (APIHarness, APIClient) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            let (loaded, diagnostics) = WorkspaceLoader(environment: [:]).load(directory: repositoryRoot.path)
            #expect(diagnostics.filter { $0.severity == .error }.map(\.description) == [])
            let workspace = try #require(loaded)
            let store = try SQLiteStore(
                path: directory.file("api.db"), schema: workspace.configuration.attributes,
                configuration: SQLiteStore.Configuration(defaultTimezone: workspace.configuration.defaultTimezone)
            )
            let clock = ManualClock(start)
            let links = UnsubscribeLinks(try #require(workspace.configuration.tracking))
            let tracking = TrackingLinks(try #require(workspace.configuration.tracking))
            let planner = Planner(
                store: store, renderer: TemplateRenderer(workspace: workspace), routing: workspace.configuration.channels,
                segments: workspace.segments, unsubscribeLinks: links, trackingLinks: tracking, limits: RecipientPlanner.Limits(workspace.configuration), clock: clock
            )
            let events = EventIntake(
                store: store, planner: planner, campaigns: workspace.campaigns, schema: workspace.configuration.attributes,
                defaultTimezone: workspace.configuration.defaultTimezone
            )
            let server = APIServer(APIServer.Parts(
                store: store, clock: clock, events: events, unsubscribeLinks: links, schema: workspace.configuration.attributes,
                preferenceKeys: workspace.preferenceKeys,
                directSend: DirectSend(planner: planner.checkingContent(ContentLimits.check(for: workspace.configuration.providers))), templates: workspace.templates,
                webhooks: webhooks, trackingLinks: tracking, allowsSender: workspace.configuration.apiSenderCheck
            ))
            let harness = APIHarness(store: store, clock: clock, workspace: workspace, links: links, tracking: tracking, planner: planner, server: server)
            let application = Application(router: server.router())
            try await application.test(.router) { client in
                try await body(harness, APIClient(client: client))
            }
        }
    }

    /// A new key's `Authorization` header.
    func key(_ scopes: [APIScope], rate: RateLiteral? = nil) async throws -> String {
        let (record, secret) = APIKeys.make(scopes: scopes, rate: rate, now: clock.now)
        try await store.insertAPIKey(record)
        return Self.basic(record.appKey, secret)
    }

    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    /// Plans `campaignID` now for the named users, as `herald send --user` does.
    func send(_ campaignID: String, to users: [String]) async throws -> Occurrence {
        let campaign = try #require(workspace.campaign(id: campaignID))
        let start = try await store.startOccurrence(OccurrenceRequest(
            campaignID: campaign.id, definitionHash: campaign.definitionHash, fireAt: clock.now, kind: .users, params: [:],
            resumesUnfinished: false, repeatsFinished: true
        ), at: clock.now)
        guard case .started(let occurrence) = start else { throw APIHarnessError() }
        _ = try await planner.plan(campaign, occurrence: occurrence, recipients: users)
        return occurrence
    }

    /// Rows of a query, as strings (NULL as "NULL").
    func rows(_ sql: String, _ arguments: [String] = []) async throws -> [[String]] {
        try await store.rows(sql: sql, arguments: arguments)
    }
}

/// A response as a test reads it.
struct APIResponse {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var text: String

    /// The body as a JSON object (empty when it is not one).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    /// `error.code` of an error body.
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorMessage: String { (json["error"] as? [String: Any])?["message"] as? String ?? "" }
    var errorField: String? { (json["error"] as? [String: Any])?["field"] as? String }
}

struct APIClient: Sendable {
    let client: any TestClientProtocol

    @discardableResult
    func call(_ method: HTTPRequest.Method, _ uri: String, auth: String? = nil, body: String? = nil, headers extra: [String: String] = [:]) async throws -> APIResponse {
        var headers = HTTPFields()
        if let auth { headers[.authorization] = auth }
        if body != nil { headers[.contentType] = "application/json" }
        for (name, value) in extra { headers[HTTPField.Name(name)!] = value }
        return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
            APIResponse(status: response.status, headers: response.headers, text: String(buffer: response.body))
        }
    }
}

struct APIHarnessError: Error {}
