import Foundation
import HeraldCore
import HeraldTesting
import Testing

@Suite struct UserJSONLinesWriterTests {
    let schema = AttributeSchema([
        AttributeDefinition(name: "country", type: .string),
        AttributeDefinition(name: "score", type: .number),
        AttributeDefinition(name: "beta", type: .bool),
        AttributeDefinition(name: "seen", type: .time),
        AttributeDefinition(name: "tags", type: .list(.string)),
    ])

    @Test func writesTheImportFormatWithStableKeyOrder() {
        let user = User(
            id: "u-1", email: "a@example.com", firstName: "Ana",
            attributes: ["tags": .list([.string("vip")]), "score": .number(2.5), "beta": .bool(false), "seen": .time(Date(timeIntervalSince1970: 0))],
            devices: [Device(platform: .ios, token: "t1", isActive: false)],
            preferences: Preferences(["sms": false, "email": true])
        )
        #expect(UserJSONLinesWriter.line(for: user) == #"""
            {"id":"u-1","email":"a@example.com","first_name":"Ana","attributes":{"beta":false,"score":2.5,"seen":"1970-01-01T00:00:00Z","tags":["vip"]},"devices":[{"platform":"ios","token":"t1","active":false}],"preferences":{"email":true,"sms":false}}
            """#)
    }

    @Test func hostileTextRoundTripsThroughTheImporter() async throws {
        // Names refuse control characters on import; string attributes allow tabs and line breaks.
        let names = ["quote \" and \\ backslash", "한국어 ✓ emoji 🎉", "</script>"]
        let texts = names + ["tab\tnew\nline\r\n"]
        let users = texts.enumerated().map { index, text in
            User(id: "u-\(index)", firstName: names[index % names.count], attributes: ["country": .string(text), "score": .number(Double(index) * 1.5)])
        }
        try await withTemporaryDirectory { directory in
            let path = try directory.write("users.jsonl", users.map(UserJSONLinesWriter.line(for:)).joined(separator: "\n") + "\n")
            var reader = try UserImportReader(path: path, schema: schema)
            let rows = try reader.next(maxCount: 100)
            let imported = rows.compactMap { try? $0.result.get() }
            #expect(imported.count == users.count, "\(rows.map(\.result))")
            #expect(imported.map(\.firstName) == users.map(\.firstName))
            #expect(imported.map { $0.attributes["country"] } == texts.map { .string($0) })
            #expect(imported.map { $0.attributes["score"] } == users.map { $0.attributes["score"] })
            // Every line is valid JSON as another program would read it.
            for line in users.map(UserJSONLinesWriter.line(for:)) {
                #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "\(line)")
            }
        }
    }
}
