import HeraldCore

extension User {
    /// The built-in user fields a template can use, in the order of the users import columns.
    public static let templateFieldNames: [String] = [
        "id", "email", "phone", "locale", "timezone", "first_name", "last_name", "created_at",
    ]

    /// The variables of a user as templates see them: the built-in fields by their snake_case
    /// names (`first_name`), and each attribute by name. Absent values are absent keys, so that a
    /// template that uses them reports them as missing.
    ///
    /// A built-in field wins over an attribute of the same name. Times are instants, printed
    /// plainly in ISO 8601 and formatted with `date(…)` or `time(…)`.
    public var templateVariables: [String: TemplateValue] {
        var variables: [String: TemplateValue] = [:]
        variables.reserveCapacity(attributes.count + User.templateFieldNames.count)
        for (name, value) in attributes {
            variables[name] = value.templateValue
        }
        variables["id"] = .string(id)
        if let email { variables["email"] = .string(email) }
        if let phone { variables["phone"] = .string(phone) }
        if let locale { variables["locale"] = .string(locale) }
        if let timezone { variables["timezone"] = .string(timezone) }
        if let firstName { variables["first_name"] = .string(firstName) }
        if let lastName { variables["last_name"] = .string(lastName) }
        if let createdAt { variables["created_at"] = .time(createdAt) }
        return variables
    }
}
