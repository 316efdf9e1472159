import ArgumentParser
import Foundation
import HeraldCore
import HeraldServer
import HeraldStore

/// `herald keys`: the API keys services authenticate with (HTTP Basic, app key and secret).
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke the API keys that services send with (HTTP Basic: app key and secret).",
        discussion: """
            The store keeps the app key and, of the secret, only a salted hash: `create` prints the secret once, and \
            nobody can read it back. A revoked key stays listed; its requests are refused.
            """,
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a key with the given scopes and print its secret, once.")

        @OptionGroup var options: WorkspaceOptions

        @Option(help: "What the key may do, comma-separated: send, users, events, read.")
        var scopes: String

        @Option(help: "Requests per key, e.g. 100/s or 6000/min; none: only the server's limits.")
        var rate: String?

        func validate() throws {
            _ = try Self.scopes(scopes)
            if let rate, RateLiteral(rate) == nil {
                throw ValidationError("--rate \(Quoted.visible(rate)): expected \(RateLiteral.expectedForm)")
            }
        }

        static func scopes(_ text: String) throws -> [APIScope] {
            let names = APIScope.allCases.map(\.rawValue)
            let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !parts.isEmpty else { throw ValidationError("--scopes: give at least one of \(names.joined(separator: ", "))") }
            return try parts.map { part in
                guard let scope = APIScope(rawValue: part) else {
                    throw ValidationError("unknown scope \(Quoted.visible(part)) (\(Suggestion.hint(for: part, in: names)))")
                }
                return scope
            }
        }

        func run() async throws {
            let store = try await options.openStoreForReading(access: .readWrite).keys
            let (record, secret) = APIKeys.make(scopes: try Self.scopes(scopes), rate: rate.flatMap(RateLiteral.init), now: Date())
            try await store.insertAPIKey(record)
            print("app key: \(record.appKey)")
            print("secret:  \(secret)")
            print("scopes:  \(record.scopes.map(\.rawValue).joined(separator: ", "))" + (record.rate.map { "; rate \($0)" } ?? ""))
            print("The secret is shown this once: Herald keeps only a salted hash of it. Services send both as HTTP Basic.")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every key: app key, scopes, rate, when it was made and revoked. Never a secret.")

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case table, json
        }

        @OptionGroup var options: WorkspaceOptions

        @Option(help: "table or json.")
        var format: Format = .table

        func run() async throws {
            let keys = try await options.openStoreForReading().keys.apiKeys()
            switch format {
            case .json:
                let items: [[String: Any]] = keys.map { key in
                    [
                        "app_key": key.appKey, "scopes": key.scopes.map(\.rawValue), "rate": key.rate.map { $0.description as Any } ?? NSNull(),
                        "created_at": ISO8601.string(from: key.createdAt), "revoked_at": key.revokedAt.map { ISO8601.string(from: $0) as Any } ?? NSNull(),
                    ]
                }
                let data = try JSONSerialization.data(withJSONObject: ["keys": items], options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            case .table:
                guard !keys.isEmpty else {
                    print("no API keys; make one with `herald keys create --scopes send`")
                    return
                }
                let columns = ["app_key", "scopes", "rate", "created_at", "revoked_at"].map { TextTable.Column($0) }
                let rows = keys.map { key in
                    [
                        key.appKey, key.scopes.map(\.rawValue).joined(separator: ","), key.rate?.description ?? "-",
                        ISO8601.string(from: key.createdAt), key.revokedAt.map { ISO8601.string(from: $0) } ?? "-",
                    ]
                }
                print(TextTable(columns: columns, rows: rows, keyColumns: 1).render(width: Terminal.width))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Switch a key off: its requests are refused from now on. The key stays listed.")

        @OptionGroup var options: WorkspaceOptions

        @Argument(help: "The app key (hk_…).")
        var appKey: String

        func run() async throws {
            let store = try await options.openStoreForReading(access: .readWrite).keys
            let before = try await store.apiKey(appKey)
            guard let after = try await store.revokeAPIKey(appKey, at: Date()), let revokedAt = after.revokedAt else {
                let known = try await store.apiKeys().map(\.appKey)
                throw CLIError("no API key \(Quoted.visible(appKey)) (\(known.isEmpty ? "there are none" : Suggestion.hint(for: appKey, in: known)))")
            }
            print(before?.isRevoked == true
                ? "\(appKey) was already revoked on \(ISO8601.string(from: revokedAt))"
                : "revoked \(appKey): its requests are refused from now on")
        }
    }
}
