/// The built-in fields of a user, which are columns of the `users` table.
enum UserField: String, Sendable, CaseIterable {
    case id
    case email
    case phone
    case locale
    case timezone
    case firstName = "first_name"
    case lastName = "last_name"
    case createdAt = "created_at"

    var type: ValueType { self == .createdAt ? .time : .string }
    /// The column of the `users` table.
    var column: String { rawValue }
}
