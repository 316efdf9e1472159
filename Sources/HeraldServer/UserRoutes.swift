import Foundation
import HeraldCore
import Hummingbird

extension APIServer {
    /// `/v1/users/{id}`: create or replace (PUT), read (GET), erase (DELETE); its devices and
    /// its preferences.
    func addUserRoutes(to group: RouterGroup<APIRequestContext>) {
        group.put(":id") { request, context in
            let id = try Self.userID(context)
            let bytes = try await JSONBody.bytes(of: request)
            let user = try Self.decoded(UserJSON.user(bytes, id: id, schema: parts.schema, preferenceKeys: parts.preferenceKeys))
            let summary = try await store.upsertUsers([user], at: now)
            let stored = try await self.user(id)
            return JSONBody.response(Self.json(stored), status: summary.inserted > 0 ? .created : .ok)
        }
        group.get(":id") { _, context in
            JSONBody.response(Self.json(try await self.user(try Self.userID(context))))
        }
        group.delete(":id") { _, context in
            let id = try Self.userID(context)
            guard let summary = try await store.eraseUser(id: id, at: now) else { throw Self.unknownUser(id) }
            return JSONBody.response(["erased": id, "cancelled": summary.cancelled, "anonymised": summary.anonymised])
        }
        group.post(":id/devices") { request, context in
            let id = try Self.userID(context)
            let device = try Self.decoded(UserJSON.device(try await JSONBody.bytes(of: request)))
            guard let changed = try await store.registerDevices([device], userID: id) else { throw Self.unknownUser(id) }
            return JSONBody.response(["user_id": id, "registered": device.address, "changed": changed], status: changed ? .created : .ok)
        }
        group.delete(":id/devices/:token") { _, context in
            let id = try Self.userID(context)
            let token = context.parameters.get("token").flatMap { $0.removingPercentEncoding } ?? ""
            guard let removed = try await store.unregisterDevice(address: token, userID: id) else { throw Self.unknownUser(id) }
            guard removed > 0 else {
                throw APIError.notFound("device.not_found", "user \(Quoted.visible(id)) has no device with this token")
            }
            return JSONBody.response(["user_id": id, "unregistered": token])
        }
        group.get(":id/preferences") { _, context in
            let user = try await self.user(try Self.userID(context))
            return JSONBody.response(["user_id": user.id, "preferences": user.preferences.values])
        }
        group.on(":id/preferences", method: .patch) { request, context in try await setPreferences(request, context) }
        group.put(":id/preferences") { request, context in try await setPreferences(request, context) }
    }

    /// Sets the preferences the body names; the others stay as they were.
    func setPreferences(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let id = try Self.userID(context)
        let preferences = try Self.decoded(UserJSON.preferences(try await JSONBody.bytes(of: request), vocabulary: parts.preferenceKeys))
        guard let all = try await store.setPreferences(preferences, userID: id, at: now) else { throw Self.unknownUser(id) }
        return JSONBody.response(["user_id": id, "preferences": all.values])
    }

    func user(_ id: String) async throws -> User {
        guard let user = try await store.users(matching: .ids([id]), after: nil, limit: 1).first else { throw Self.unknownUser(id) }
        return user
    }

    static func userID(_ context: APIRequestContext) throws -> String {
        let raw = context.parameters.get("id") ?? ""
        let id = raw.removingPercentEncoding ?? raw
        if let problem = UserJSON.problem(withID: id) { throw APIError.invalidField("id", problem) }
        return id
    }

    static func unknownUser(_ id: String) -> APIError {
        APIError.notFound("user.not_found", "no user with id \(Quoted.visible(id))")
    }

    /// The value, or a 400 (not JSON) or 422 (a field is wrong) naming every problem.
    static func decoded<T>(_ result: Result<T, RejectedRow>) throws -> T {
        switch result {
        case .success(let value):
            return value
        case .failure(let rejected):
            let messages = rejected.diagnostics.map { $0.message + ($0.hint.map { " (\($0))" } ?? "") }
            if rejected.diagnostics.count == 1, let first = rejected.diagnostics.first,
               first.message.hasPrefix("invalid JSON") || first.message.hasPrefix("not valid UTF-8") || first.message.hasPrefix("the body is not valid") {
                throw APIError(.badRequest, code: "request.invalid_json", messages[0])
            }
            let field = rejected.diagnostics.first.flatMap { fieldName(in: $0.message) }
            throw APIError(.unprocessableContent, code: "request.invalid_field", messages.joined(separator: "; "), field: field)
        }
    }

    /// The field a decoder message is about: `unknown field 'emial'`, `invalid email '…'`,
    /// `field 'phone' is a number`, `preference 'x' is …`.
    static func fieldName(in message: String) -> String? {
        for prefix in ["unknown field '", "field '", "invalid preference key '", "preference '"] where message.hasPrefix(prefix) {
            let rest = message.dropFirst(prefix.count)
            return rest.firstIndex(of: "'").map { String(rest[..<$0]) }
        }
        let words = message.split(whereSeparator: { !($0.isLetter || $0 == "_" || $0 == "." || $0 == "[" || $0 == "]" || $0.isNumber) })
        return words.first { knownFields.contains(String($0).split(separator: ".").first.map(String.init) ?? "") }.map(String.init)
    }

    static let knownFields: Set<String> = [
        "id", "email", "phone", "locale", "timezone", "first_name", "last_name", "created_at", "attributes", "devices", "preferences",
        "platform", "service", "token", "subscription", "active", "keys",
    ]

    /// A user as the API shows it: the JSON Lines object of `herald users export`.
    static func json(_ user: User) -> Any {
        let line = UserJSONLinesWriter.line(for: user)
        return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) ?? [:]
    }
}
