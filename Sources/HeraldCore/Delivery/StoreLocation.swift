import Foundation

/// Which store herald.yml's `store:` names: a SQLite file or a PostgreSQL database.
///
/// ```swift
/// try StoreLocation("sqlite:herald.db")                              // .sqlite(path: "herald.db")
/// try StoreLocation("postgres://herald:s3cret@db:5432/herald")       // .postgres(…)
/// ```
public enum StoreLocation: Sendable, Hashable {
    /// `sqlite:PATH`; the path as written (relative paths are the workspace's to resolve).
    case sqlite(path: String)
    /// `postgres://user[:password]@host[:port]/database`.
    case postgres(PostgresLocation)

    /// Reads a `store:` value.
    ///
    /// - Throws: ``StoreError`` saying what the value lacks; it never repeats a password.
    public init(_ text: String) throws(StoreError) {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw StoreError(.missing, "sqlite: names no file (expected sqlite:PATH, e.g. sqlite:herald.db)") }
            self = .sqlite(path: path)
        } else {
            self = .postgres(try PostgresLocation(url: text))
        }
    }
}

/// Where a PostgreSQL database is: host, port, user, password and database of a `postgres://` URL.
public struct PostgresLocation: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String

    public init(host: String, port: Int = 5432, username: String, password: String? = nil, database: String) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// Reads `postgres://user[:password]@host[:port]/database` (also `postgresql://`;
    /// percent-escapes in the user and password are decoded).
    ///
    /// - Throws: ``StoreError`` saying what the URL lacks; it never repeats the password.
    public init(url: String) throws(StoreError) {
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
            throw StoreError(.missing, "the store is not a postgres:// URL (expected postgres://user@host:5432/database)")
        }
        guard let components = URLComponents(string: url) else {
            throw StoreError(.missing, "the PostgreSQL URL cannot be read (a password with '@', '/', ':' or '%' must be percent-encoded, e.g. %40 for '@')")
        }
        guard let host = components.host, !host.isEmpty else {
            throw StoreError(.missing, "the PostgreSQL URL has no host (expected postgres://user@host:5432/database)")
        }
        guard let user = components.user, !user.isEmpty else {
            throw StoreError(.missing, "the PostgreSQL URL names no user (expected postgres://user@\(host)/database)")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty else {
            throw StoreError(.missing, "the PostgreSQL URL names no database (expected postgres://\(user)@\(host)/herald)")
        }
        guard !database.contains("/") else {
            throw StoreError(.missing, "the PostgreSQL URL's database '\(database)' has a '/' (expected postgres://\(user)@\(host)/herald)")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = user.removingPercentEncoding ?? user
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database
    }
}
