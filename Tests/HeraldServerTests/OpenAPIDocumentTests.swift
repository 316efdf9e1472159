import Foundation
import HeraldServer
import Hummingbird
import Testing
import Yams

/// `openapi.yaml` at the repository root describes exactly the routes the server has.
@Suite struct OpenAPIDocumentTests {
    static let methods = ["get", "put", "post", "delete", "patch", "head"]

    static func document() throws -> [String: Any] {
        let text = try String(contentsOf: APIHarness.repositoryRoot.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        return try #require(try Yams.load(yaml: text) as? [String: Any])
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() async throws {
        let document = try Self.document()
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: Any])
        var documented: Set<String> = []
        for (path, item) in paths {
            let operations = try #require(item as? [String: Any], "\(path)")
            for method in Self.methods where operations[method] != nil {
                documented.insert("\(method.uppercased()) \(path)")
            }
        }
        let expected = documented
        try await APIHarness.run { harness, _ in
            // Hummingbird spells a capture `:id` (or `{id}`); OpenAPI `{id}`.
            let served = Set(harness.server.router().routes.map { route in
                let path = route.path.description.split(separator: "/").map { part in
                    part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
                }.joined(separator: "/")
                return "\(route.method.rawValue) /\(path)"
            })
            #expect(served.subtracting(expected).sorted() == [], "served but not in openapi.yaml")
            #expect(expected.subtracting(served).sorted() == [], "in openapi.yaml but not served")
        }
    }

    @Test func everyOperationListsItsErrorsAndEveryReferenceResolves() throws {
        let document = try Self.document()
        let text = try String(contentsOf: APIHarness.repositoryRoot.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        let components = try #require(document["components"] as? [String: Any])
        // Every $ref names something that exists.
        let references = text.matches(of: /\$ref: "#\/components\/(\w+)\/(\w+)"/).map { (String($0.1), String($0.2)) }
        #expect(!references.isEmpty)
        for (kind, name) in references {
            #expect((components[kind] as? [String: Any])?[name] != nil, "#/components/\(kind)/\(name)")
        }
        // Every authenticated route documents 401, 403 and 429.
        for (path, item) in try #require(document["paths"] as? [String: Any]) where path.hasPrefix("/v1/") {
            for method in Self.methods {
                guard let operation = (item as? [String: Any])?[method] as? [String: Any] else { continue }
                let responses = try #require(operation["responses"] as? [String: Any], "\(method) \(path)")
                for status in ["401", "403", "429"] {
                    #expect(responses[status] != nil, "\(method.uppercased()) \(path) lacks \(status)")
                }
            }
        }
    }
}
