import Foundation
import HeraldCore

/// Turns CSV records into users: checks the header once, then converts each row by column.
struct CSVUserDecoder {
    enum Column {
        case id, email, phone, locale, timezone, firstName, lastName, createdAt, devices
        case attribute(AttributeDefinition)
    }

    let file: String
    let columns: [Column]
    private var rules = UserFieldRules()

    /// Reads the header: every column must be a built-in field or a declared attribute, once,
    /// and `id` must be among them; otherwise the whole file is refused before any row is read.
    init(header: CSVRecord, file: String, schema: AttributeSchema) throws(Diagnostic) {
        self.file = file
        func location(_ column: Int) -> SourceLocation {
            SourceLocation(file: file, line: header.line, column: column)
        }
        switch header.problem {
        case .tooLong:
            throw Diagnostic("header longer than 1 MiB", at: location(1), hint: "a row may be at most \(UserFieldRules.maximumRowLength) bytes")
        case .bareQuote(let field), .textAfterQuote(let field):
            throw Diagnostic("misplaced '\"' in the header", at: location(field), hint: "quote the whole column name")
        case .unterminatedQuote(let field):
            throw Diagnostic("unterminated quoted column name", at: location(field), hint: "close it with '\"'")
        case nil:
            break
        }
        let known = UserFieldRules.builtInFields + ["devices"] + schema.names.filter { !UserFieldRules.builtInFields.contains($0) }
        var columns: [Column] = []
        var seen: Set<String> = []
        columns.reserveCapacity(header.fieldCount)
        for index in 0..<header.fieldCount {
            guard let raw = String(validating: header.field(index), as: UTF8.self) else {
                throw Diagnostic("header is not valid UTF-8", at: location(index + 1), hint: "save the file as UTF-8")
            }
            let name = raw.trimmingCharacters(in: .whitespaces)
            if name.isEmpty {
                throw Diagnostic("empty column name", at: location(index + 1), hint: "every column needs a name, e.g. id, email")
            }
            guard seen.insert(name).inserted else {
                throw Diagnostic("duplicate column \(UserFieldRules.quoted(name))", at: location(index + 1))
            }
            switch name {
            case "id": columns.append(.id)
            case "email": columns.append(.email)
            case "phone": columns.append(.phone)
            case "locale": columns.append(.locale)
            case "timezone": columns.append(.timezone)
            case "first_name": columns.append(.firstName)
            case "last_name": columns.append(.lastName)
            case "created_at": columns.append(.createdAt)
            case "devices": columns.append(.devices)
            default:
                guard let definition = schema[name] else {
                    let hint = name.count <= UserFieldRules.maximumQuotedLength
                        ? Suggestion.hint(for: name, in: known)
                        : "expected one of: " + known.joined(separator: ", ")
                    throw Diagnostic("unknown column \(UserFieldRules.quoted(name))", at: location(index + 1), hint: hint)
                }
                if case .list(.list) = definition.type {
                    throw Diagnostic(
                        "attribute '\(name)' is a list of lists, which CSV cannot express", at: location(index + 1),
                        hint: "import it from JSON Lines"
                    )
                }
                columns.append(.attribute(definition))
            }
        }
        guard seen.contains("id") else {
            throw Diagnostic("missing column 'id'", at: location(1), hint: "the header must name the id column")
        }
        self.columns = columns
    }

    mutating func decode(_ record: CSVRecord) -> ImportRow {
        do throws(RejectedRow) {
            return ImportRow(line: record.line, result: .success(try user(from: record)))
        } catch {
            return ImportRow(line: record.line, result: .failure(error))
        }
    }

    /// The user of a record; every bad cell is reported, not only the first.
    private mutating func user(from record: CSVRecord) throws(RejectedRow) -> User {
        do throws(Diagnostic) {
            try check(record)
        } catch {
            throw RejectedRow(error)
        }
        var problems: [Diagnostic] = []
        let user = cells(of: record, problems: &problems)
        guard problems.isEmpty else { throw RejectedRow(problems) }
        return user
    }

    /// Problems with the record as a whole: its quoting, its length, its number of fields.
    private func check(_ record: CSVRecord) throws(Diagnostic) {
        func location(_ column: Int) -> SourceLocation {
            SourceLocation(file: file, line: record.line, column: column)
        }
        switch record.problem {
        case .tooLong:
            throw Diagnostic("line longer than 1 MiB", at: location(1), hint: "a row may be at most \(UserFieldRules.maximumRowLength) bytes")
        case .bareQuote(let field):
            throw Diagnostic("unexpected '\"' in an unquoted field", at: location(field), hint: "quote the whole field and double the quote: \"a \"\"b\"\"\"")
        case .textAfterQuote(let field):
            throw Diagnostic("unexpected text after a closing '\"'", at: location(field), hint: "put the whole field inside the quotes")
        case .unterminatedQuote(let field):
            throw Diagnostic("unterminated quoted field", at: location(field), hint: "close it with '\"'")
        case nil:
            break
        }
        guard record.fieldCount == columns.count else {
            let noun = record.fieldCount == 1 ? "field" : "fields"
            throw Diagnostic(
                "row has \(record.fieldCount) \(noun)", at: location(min(record.fieldCount, columns.count) + 1),
                hint: "expected \(columns.count), as in the header"
            )
        }
    }

    private mutating func cells(of record: CSVRecord, problems: inout [Diagnostic]) -> User {
        func location(_ column: Int) -> SourceLocation {
            SourceLocation(file: file, line: record.line, column: column)
        }
        var user = User(id: "")
        for (index, column) in columns.enumerated() {
            let bytes = record.field(index)
            if bytes.isEmpty {
                if case .id = column {
                    problems.append(Diagnostic("missing id", at: location(index + 1), hint: "every row needs a non-empty id"))
                }
                continue
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                problems.append(Diagnostic("not valid UTF-8", at: location(index + 1), hint: "save the file as UTF-8"))
                continue
            }
            do throws(FieldProblem) {
                switch column {
                case .id: user.id = try UserFieldRules.id(text)
                case .email: user.email = try UserFieldRules.email(text)
                case .phone: user.phone = try UserFieldRules.phone(text)
                case .locale: user.locale = try UserFieldRules.locale(text)
                case .timezone: user.timezone = try rules.timezone(text)
                case .firstName: user.firstName = try UserFieldRules.name(text, field: "first_name")
                case .lastName: user.lastName = try UserFieldRules.name(text, field: "last_name")
                case .createdAt: user.createdAt = try UserFieldRules.createdAt(text)
                case .devices: user.devices = try UserFieldRules.devices(cell: text)
                case .attribute(let definition):
                    user.attributes[definition.name] = try UserFieldRules.attribute(cell: text, definition: definition)
                }
            } catch {
                problems.append(Diagnostic(error.message, at: location(index + 1), hint: error.hint))
            }
        }
        return user
    }
}
