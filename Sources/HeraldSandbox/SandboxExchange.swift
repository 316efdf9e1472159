import Foundation

/// One HTTP request as an emulator sees it: the server adapter has read it whole (bounded) and
/// stripped the provider's prefix from the path.
public struct SandboxRequest: Sendable {
    public var method: String
    /// The path below the provider's prefix, without the query: `/2010-04-01/Accounts/AC…/Messages.json`.
    public var path: String
    /// The query string, without `?`.
    public var query: String
    /// Header names lowercased; repeated headers joined with `, `.
    public var headers: [String: String]
    public var body: Data
    /// True when the body was longer than the server reads; `body` is then empty.
    public var bodyTooLarge: Bool

    public init(method: String, path: String, query: String = "", headers: [String: String] = [:], body: Data = Data(), bodyTooLarge: Bool = false) {
        self.method = method
        self.path = path
        self.query = query
        // Most servers hand names in lower case already (HTTP/2 requires it): kept as they are.
        self.headers = headers.keys.allSatisfy(Self.isLowercase)
            ? headers
            : Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { $0 + ", " + $1 })
        self.body = body
        self.bodyTooLarge = bodyTooLarge
    }

    public func header(_ name: String) -> String? { Self.isLowercase(name) ? headers[name] : headers[name.lowercased()] }

    /// Whether `name` has no ASCII capital letter (then it is its own lowercased form).
    static func isLowercase(_ name: String) -> Bool {
        !name.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
    }

    /// The media type of the body, lowercased, without parameters.
    public var mediaType: String {
        (header("content-type") ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
    }

    /// HTTP Basic credentials, or nil when absent or malformed.
    public var basicCredentials: (user: String, password: String)? {
        guard let value = header("authorization"), value.lowercased().hasPrefix("basic "),
              let data = Data(base64Encoded: String(value.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    /// The form fields of an `application/x-www-form-urlencoded` body, in order, repeated names kept.
    public var formFields: [(name: String, value: String)] {
        FormCoding.decode(String(decoding: body, as: UTF8.self))
    }
}

/// What an emulator answers.
public struct SandboxResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: Data

    public init(status: Int, headers: [(name: String, value: String)] = [], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON answer; `object` is serialized with sorted keys so that bodies are reproducible.
    public static func json(_ status: Int, _ object: Any, headers: [(name: String, value: String)] = []) -> SandboxResponse {
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return SandboxResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: body)
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// `application/x-www-form-urlencoded`, as browsers and provider SDKs write it.
public enum FormCoding {
    /// Bytes kept as they are; everything else is percent-encoded, and space becomes `+`.
    private static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._*")

    public static func encode(_ fields: [(String, String)]) -> String {
        fields.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    public static func escape(_ text: String) -> String {
        (text.addingPercentEncoding(withAllowedCharacters: unreserved.union(CharacterSet(charactersIn: " "))) ?? "")
            .replacingOccurrences(of: " ", with: "+")
    }

    public static func decode(_ text: String) -> [(name: String, value: String)] {
        text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func unescape(_ part: Substring) -> String {
                let spaced = part.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (unescape(parts[0]), parts.count > 1 ? unescape(parts[1]) : "")
        }
    }
}

/// Syntax checks that providers apply to addresses.
public enum AddressSyntax {
    /// E.164: `+`, a non-zero digit, at most 15 digits in all.
    public static func isE164(_ text: String) -> Bool {
        let digits = text.utf8.dropFirst()
        return text.utf8.first == UInt8(ascii: "+") && (2...15).contains(digits.count)
            && digits.first != UInt8(ascii: "0") && digits.allSatisfy { $0 >= 48 && $0 <= 57 }
    }

    /// A pragmatic `local@domain.tld` check, as mail APIs apply it: one `@`, a non-empty local
    /// part of at most 64 bytes without spaces or controls, a dotted domain of letters, digits and
    /// hyphens, at most 254 bytes in all.
    public static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard text.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64 else { return false }
        let local = parts[0], domain = parts[1]
        guard local.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value != 127 && !"<>()[],;:\\\"".unicodeScalars.contains($0) }),
              !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..")
        else { return false }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.unicodeScalars.allSatisfy { ($0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-")) || !$0.isASCII }
        } && (labels.last?.count ?? 0) >= 2
    }
}
