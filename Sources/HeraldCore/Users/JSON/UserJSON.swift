import Foundation

/// Reads one user, one device or one set of preferences from a JSON document, with the rules of
/// the JSON Lines import: the HTTP API takes the same objects that `herald users import` reads,
/// checked the same way and refused with the same messages.
public enum UserJSON {
    /// The prefix of the ids Herald gives guests (people an API send names by address): no
    /// import row or `PUT /v1/users/{id}` may write a user with such an id.
    public static let guestIDPrefix = "guest-"

    /// A user object as a JSON Lines row writes it. `id`, when given, is the user id the caller
    /// already knows (the URL's): the object may leave `id` out, and may not name another.
    public static func user(
        _ bytes: [UInt8], id: String? = nil, schema: AttributeSchema, preferenceKeys: PreferenceVocabulary?
    ) -> Result<User, RejectedRow> {
        var decoder = JSONLinesUserDecoder(file: "request body", schema: schema, preferenceKeys: preferenceKeys)
        guard let id else { return decoder.decode(line: 1, bytes: bytes).result }
        if let problem = problem(with: bytes) { return .failure(problem) }
        // The object's own `id`, if any, must be the URL's.
        if case .object(let members)? = (try? ImportJSON.parse(bytes))?.value, let given = members.first(where: { $0.key == "id" }) {
            guard case .string(let text) = given.node.value, text == id else {
                return .failure(RejectedRow(Diagnostic(
                    "field 'id' is not the user id of the URL", at: nil, hint: "leave id out, or give \(UserFieldRules.quoted(id))"
                )))
            }
            return decoder.decode(line: 1, bytes: bytes).result
        }
        return decoder.decode(line: 1, bytes: wrapped(bytes, id: id, around: nil)).result
    }

    /// Why `id` cannot name a user (empty, too long, control characters), or nil when it can.
    /// Guests' ids can name them; only a write refuses them (`UserFieldRules.id`).
    public static func problem(withID id: String) -> String? {
        problem(of: id, UserFieldRules.anyID)
    }

    /// Why `text` cannot be an email address, or nil when it can (the import's rule).
    public static func problem(withEmail text: String) -> String? {
        problem(of: text, UserFieldRules.email)
    }

    /// Why `text` cannot be a phone number (E.164), or nil when it can (the import's rule).
    public static func problem(withPhone text: String) -> String? {
        problem(of: text, UserFieldRules.phone)
    }

    /// The import rule's message and hint for `text`, or nil when the rule takes it.
    private static func problem(of text: String, _ rule: (String) throws(FieldProblem) -> String) -> String? {
        do throws(FieldProblem) {
            _ = try rule(text)
            return nil
        } catch {
            return error.message + (error.hint.map { " (\($0))" } ?? "")
        }
    }

    /// One device object, as an element of a row's `devices`.
    public static func device(_ bytes: [UInt8]) -> Result<Device, RejectedRow> {
        // Checked whole before it is wrapped, so that no body can reach past its own value.
        if let problem = problem(with: bytes) { return .failure(problem) }
        var decoder = JSONLinesUserDecoder(file: "request body", schema: AttributeSchema(), preferenceKeys: nil)
        return decoder.decode(line: 1, bytes: wrapped(bytes, id: "-", around: "devices")).result
            .map { $0.devices.first! }
            .mapError { rejected in
                RejectedRow(rejected.diagnostics.map { diagnostic in
                    var plain = diagnostic
                    plain.location = nil
                    plain.message = plain.message.replacingOccurrences(of: "devices[0].", with: "").replacingOccurrences(of: "devices[0]", with: "the device")
                    plain.message = plain.message.replacingOccurrences(of: "field 'devices' is", with: "the body is")
                    return plain
                })
            }
    }

    /// A preferences object (`{"email:marketing": false}`), checked against `vocabulary`.
    public static func preferences(_ bytes: [UInt8], vocabulary: PreferenceVocabulary?) -> Result<Preferences, RejectedRow> {
        if let problem = problem(with: bytes) { return .failure(problem) }
        var decoder = JSONLinesUserDecoder(file: "request body", schema: AttributeSchema(), preferenceKeys: vocabulary)
        return decoder.decode(line: 1, bytes: wrapped(bytes, id: "-", around: "preferences")).result
            .map(\.preferences)
            .mapError { rejected in
                RejectedRow(rejected.diagnostics.map { diagnostic in
                    var plain = diagnostic
                    plain.location = nil
                    plain.message = plain.message.replacingOccurrences(of: "field 'preferences' is", with: "the body is")
                    return plain
                })
            }
    }

    /// Why `bytes` is not one JSON document, or nil when it is.
    static func problem(with bytes: [UInt8]) -> RejectedRow? {
        if let offset = ImportJSON.firstInvalidUTF8Offset(bytes) {
            return RejectedRow(Diagnostic("the body is not valid UTF-8 (byte \(offset + 1))", at: nil))
        }
        do throws(ImportJSON.SyntaxError) {
            _ = try ImportJSON.parse(bytes)
            return nil
        } catch {
            return RejectedRow(Diagnostic("invalid JSON: \(error.message) (byte \(error.offset + 1))", at: nil))
        }
    }

    /// `{"id": id, field: [bytes]}` (devices), `{"id": id, field: bytes}`, or, without a field,
    /// the object `bytes` with `"id": id` added first.
    static func wrapped(_ bytes: [UInt8], id: String, around field: String?) -> [UInt8] {
        var head = "{"
        JSONText.appendString("id", to: &head)
        head += ":"
        JSONText.appendString(id, to: &head)
        guard let field else {
            // Only an object gets the id; anything else is left to fail as what it is.
            let body = bytes.drop(while: { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 })
            guard body.first == UInt8(ascii: "{") else { return bytes }
            let rest = body.dropFirst().drop(while: { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 })
            return Array(head.utf8) + (rest.first == UInt8(ascii: "}") ? [] : Array(",".utf8)) + Array(body.dropFirst())
        }
        head += ","
        JSONText.appendString(field, to: &head)
        head += field == "devices" ? ":[" : ":"
        return Array(head.utf8) + bytes + Array((field == "devices" ? "]}" : "}").utf8)
    }
}
