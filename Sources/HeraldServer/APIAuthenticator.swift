import Foundation
import HeraldCore
import HeraldEngine
import Hummingbird
import Synchronization

/// HTTP Basic over an app key and its secret, a scope per route, and each key's own rate.
///
/// Runs before a route reads its body, so a request that is not allowed changes nothing: 401 for
/// a missing, unknown, revoked or wrong key (the same answer for each, so that a caller learns
/// nothing about which keys exist), 403 for a key without the route's scope, 429 with
/// Retry-After past the key's rate.
public struct APIAuthenticator: RouterMiddleware {
    public typealias Context = APIRequestContext

    let scope: APIScope
    let keys: APIKeyring

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let (appKey, secret) = Self.basicCredentials(request.headers[.authorization]) else {
            throw Self.unauthorized("send the app key and secret with HTTP Basic authentication")
        }
        guard let record = try await keys.record(appKey), !record.isRevoked, APIKeys.matches(secret, record) else {
            throw Self.unauthorized("the app key and secret are not a valid, unrevoked key")
        }
        guard record.scopes.contains(scope) else {
            throw APIError(
                .forbidden, code: "auth.missing_scope",
                "this key may not use this route: it needs the '\(scope.rawValue)' scope, and the key has \(record.scopes.map(\.rawValue).joined(separator: ", "))"
            )
        }
        if let wait = keys.take(record) {
            throw APIError(
                .tooManyRequests, code: "auth.rate_limited", "this key's rate of \(record.rate.map { "\($0)" } ?? "") is used up; retry after \(wait) s",
                retryAfter: wait
            )
        }
        var context = context
        context.key = record
        return try await next(request, context)
    }

    static func unauthorized(_ message: String) -> APIError {
        APIError(.unauthorized, code: "auth.unauthorized", message, headers: ["WWW-Authenticate": "Basic realm=\"herald\", charset=\"UTF-8\""])
    }

    /// The user name and password of an `Authorization: Basic …` header.
    static func basicCredentials(_ header: String?) -> (String, String)? {
        guard let header, header.utf8.count <= 1024 else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let data = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
              let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }
}

/// The keys the API accepts, read from the store, and each key's token bucket.
///
/// A key's record is kept for a second after it is read, so that a busy client costs one store
/// read per second rather than one per request; a revoked key therefore stops working within a
/// second of `herald keys revoke`.
public final class APIKeyring: Sendable {
    let store: any APIKeyStore
    let clock: any WallClock
    private let state = Mutex(State())

    struct State {
        var records: [String: (record: APIKeyRecord?, readAt: Date)] = [:]
        var buckets: [String: TokenBucket] = [:]
    }

    static let cacheLifetime: TimeInterval = 1
    /// Unknown app keys are cached too, but only this many, so that random guesses cannot fill memory.
    static let maximumCached = 10_000

    public init(store: any APIKeyStore, clock: any WallClock) {
        self.store = store
        self.clock = clock
    }

    func record(_ appKey: String) async throws -> APIKeyRecord? {
        guard appKey.utf8.count <= 64 else { return nil }
        let now = clock.now
        if let cached = state.withLock({ $0.records[appKey] }), now.timeIntervalSince(cached.readAt) < Self.cacheLifetime, now >= cached.readAt {
            return cached.record
        }
        let record = try await store.apiKey(appKey)
        state.withLock { state in
            if state.records.count >= Self.maximumCached { state.records.removeAll(keepingCapacity: true) }
            state.records[appKey] = (record, now)
        }
        return record
    }

    /// Nil when the request may go ahead; else the whole seconds to wait.
    func take(_ record: APIKeyRecord) -> Int? {
        guard let rate = record.rate else { return nil }
        let now = clock.now
        return state.withLock { state in
            var bucket = state.buckets[record.appKey] ?? TokenBucket(rate)
            defer { state.buckets[record.appKey] = bucket }
            switch bucket.take(at: now) {
            case .proceed: return nil
            case .wait(let until): return max(1, Int(until.timeIntervalSince(now).rounded(.up)))
            }
        }
    }
}
