import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An error the API answers with: a status, a stable code that clients can branch on, a message
/// for people, and the field it is about when there is one.
///
/// ```json
/// {"error": {"code": "request.invalid_field", "message": "name: expected a string, got a number", "field": "name"}}
/// ```
public struct APIError: HTTPResponseError, Sendable, Hashable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var field: String?
    /// Seconds, for 429 and 503.
    public var retryAfter: Int?
    /// Extra headers (`WWW-Authenticate` on 401).
    public var headers: [String: String]

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, field: String? = nil, retryAfter: Int? = nil, headers: [String: String] = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retryAfter = retryAfter
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        if let retryAfter { fields[.retryAfter] = String(retryAfter) }
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            if let name = HTTPField.Name(name) { fields[name] = value }
        }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: jsonBody)))
    }

    var jsonBody: [UInt8] {
        var error: [String: Any] = ["code": code, "message": message]
        if let field { error["field"] = field }
        return JSONBody.encode(["error": error])
    }

    // MARK: the errors every route shares

    static func invalidJSON(_ detail: String) -> APIError {
        APIError(.badRequest, code: "request.invalid_json", "the body is not valid JSON: \(detail)")
    }

    static func invalidField(_ field: String, _ message: String) -> APIError {
        APIError(.unprocessableContent, code: "request.invalid_field", "\(field): \(message)", field: field)
    }

    static func missingField(_ field: String, _ expected: String) -> APIError {
        APIError(.unprocessableContent, code: "request.missing_field", "\(field) is required: \(expected)", field: field)
    }

    static func notFound(_ code: String, _ message: String) -> APIError {
        APIError(.notFound, code: code, message)
    }
}

/// JSON in and out of the routes, with Foundation's serializer.
enum JSONBody {
    static func encode(_ object: Any) -> [UInt8] {
        // Every value the routes build is a valid JSON object.
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Array(data)
    }

    static func response(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: encode(object))))
    }

    /// The largest body a route reads, in bytes.
    static let maximumBytes = 1 << 20

    /// The request's body, at most `limit` bytes (413 beyond).
    static func bytes(of request: Request, limit: Int = maximumBytes) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw tooLarge(limit)
        }
        var bytes: [UInt8] = []
        for try await buffer in request.body {
            guard bytes.count + buffer.readableBytes <= limit else { throw tooLarge(limit) }
            bytes.append(contentsOf: buffer.readableBytesView)
        }
        return bytes
    }

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, code: "request.too_large", "the body is larger than \(limit / 1024) KiB")
    }

    /// An answer already encoded.
    static func response(_ text: String, status: HTTPResponse.Status) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// The body as a JSON object (400 when it is not JSON, 422 when it is not an object).
    static func object(of request: Request) async throws -> [String: Any] {
        try object(fromBytes: try await bytes(of: request))
    }

    static func object(fromBytes bytes: [UInt8]) throws -> [String: Any] {
        guard !bytes.isEmpty else { throw APIError.invalidJSON("the body is empty; send a JSON object") }
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw APIError.invalidJSON(detail(of: error))
        }
        guard let object = value as? [String: Any] else {
            throw APIError(.unprocessableContent, code: "request.invalid_body", "the body is \(kind(of: value)); expected a JSON object")
        }
        return object
    }

    static func detail(of error: any Error) -> String {
        let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
        return String(text.prefix(200))
    }

    /// Whether a parsed JSON value is `true` or `false` (Foundation gives booleans and numbers
    /// as NSNumber; a boolean's class is the CF boolean one on every platform).
    static func isBoolean(_ value: Any) -> Bool {
        String(describing: type(of: value)).hasSuffix("Boolean")
    }

    static func kind(of value: Any) -> String {
        switch value {
        case is NSNull: "null"
        case is NSNumber: isBoolean(value) ? "a boolean" : "a number"
        case is String: "a string"
        case is [Any]: "an array"
        case is [String: Any]: "an object"
        default: "a value"
        }
    }
}

/// Typed reads of a JSON object's fields, with errors that name the field.
struct JSONFields {
    let object: [String: Any]
    /// `request.` prefixes nothing; nested objects pass their path (`to[0].`).
    var path: String = ""

    func name(_ key: String) -> String { path + key }

    func string(_ key: String) throws -> String? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let text = value as? String else {
            throw APIError.invalidField(name(key), "expected a string, got \(JSONBody.kind(of: value))")
        }
        return text
    }

    func requiredString(_ key: String, _ expected: String) throws -> String {
        guard let text = try string(key) else { throw APIError.missingField(name(key), expected) }
        return text
    }

    func objectValue(_ key: String) throws -> [String: Any]? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let nested = value as? [String: Any] else {
            throw APIError.invalidField(name(key), "expected an object, got \(JSONBody.kind(of: value))")
        }
        return nested
    }

    func strings(_ key: String) throws -> [String]? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let items = value as? [Any] else { throw APIError.invalidField(name(key), "expected an array of strings, got \(JSONBody.kind(of: value))") }
        return try items.enumerated().map { index, item in
            guard let text = item as? String else {
                throw APIError.invalidField("\(name(key))[\(index)]", "expected a string, got \(JSONBody.kind(of: item))")
            }
            return text
        }
    }

    /// Refuses any key not in `known`, naming the nearest known one.
    func refuseUnknown(_ known: [String]) throws {
        for key in object.keys.sorted() where !known.contains(key) {
            throw APIError.invalidField(name(key), "unknown field; expected one of: " + known.joined(separator: ", "))
        }
    }
}
