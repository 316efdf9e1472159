import Foundation

/// An error from a store (SQLite or PostgreSQL), with a stable code and a sentence for the user.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case cannotOpen = "store.cannot_open"
        case missing = "store.missing"
        case database = "store.database"
        case invalidAudience = "store.invalid_audience"
        case corrupt = "store.corrupt"
        case conflict = "store.conflict"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
