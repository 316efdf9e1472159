import Foundation
import HeraldCore
import HeraldImport
import Testing

@Suite("JSON Lines user import")
struct JSONLinesUserImportTests {
    static let p256dh = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
    static let auth = "BTBZMqHH6r4Tts7J_aSIgg"
    static let apnsToken = "7d3c1d2e8b1f4a6c9e0b5d4f3a2c1b0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a"

    @Test("built-ins, attributes, devices and preferences; null and blank lines are absent")
    func goodLines() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let users = try directory.users("users.jsonl", """
            {"id":"u-1","email":"ana@example.com","phone":"+821012345678","locale":"ko-KR","timezone":"Asia/Seoul","first_name":"Ana","last_name":"Kim","created_at":"2025-01-02T03:04:05Z","attributes":{"country":"KR","plan":"pro","last_seen_at":"2026-11-20T10:00:00Z","lifetime_value":12.5,"tags":["vip","beta"],"beta":true,"scores":[1,2.5]},"devices":[{"platform":"ios","token":"\(Self.apnsToken)"},{"platform":"android","token":"fcm-token-1","active":false},{"platform":"android","service":"jpush","token":"1a0018970a1c3b2d5f2"},{"platform":"web","subscription":{"endpoint":"https://fcm.googleapis.com/fcm/send/abc","expirationTime":null,"keys":{"p256dh":"\(Self.p256dh)","auth":"\(Self.auth)"}}}],"preferences":{"email":false,"push:marketing":false}}

              \t
            {"id":"u-2","email":null,"attributes":{"beta":null,"tags":[]},"devices":null}\r
            { "id" : "u-3" , "first_name" : "\\u00c9lodie \\ud83d\\ude00" }
            """)
        #expect(users == [
            User(
                id: "u-1", email: "ana@example.com", phone: "+821012345678", locale: "ko-KR", timezone: "Asia/Seoul",
                firstName: "Ana", lastName: "Kim", createdAt: importDate("2025-01-02T03:04:05Z"),
                attributes: [
                    "country": .string("KR"), "plan": .string("pro"), "last_seen_at": .time(importDate("2026-11-20T10:00:00Z")),
                    "lifetime_value": .number(12.5), "tags": .list([.string("vip"), .string("beta")]), "beta": .bool(true),
                    "scores": .list([.number(1), .number(2.5)]),
                ],
                devices: [
                    Device(platform: .ios, token: Self.apnsToken),
                    Device(platform: .android, token: "fcm-token-1", isActive: false),
                    Device(platform: .android, service: .jpush, token: "1a0018970a1c3b2d5f2"),
                    Device(platform: .web, subscription: WebPushSubscription(
                        endpoint: "https://fcm.googleapis.com/fcm/send/abc", p256dh: Self.p256dh, auth: Self.auth
                    )),
                ],
                preferences: Preferences(["email": false, "push:marketing": false])
            ),
            User(id: "u-2", attributes: ["tags": .list([])]),
            User(id: "u-3", firstName: "Élodie 😀"),
        ])
    }

    @Test("bad lines are reported at the key or value, and the next line is read", arguments: [
        (#"{"id":"u-1","emal":"a@example.com"}"#, "users.jsonl:2:13: unknown field 'emal' (did you mean 'email'?)"),
        (#"{"id":"u-1","attributes":{"contry":"KR"}}"#, "users.jsonl:2:27: unknown attribute 'contry' (did you mean 'country'?)"),
        (#"{"id":"u-1","attributes":{"lifetime_value":"12"}}"#, "users.jsonl:2:44: attribute 'lifetime_value' is a string (expected a number)"),
        (#"{"id":"u-1","attributes":{"lifetime_value":1e999}}"#, "users.jsonl:2:44: attribute 'lifetime_value' is a number (expected a finite number)"),
        (#"{"id":"u-1","attributes":{"tags":"vip"}}"#, "users.jsonl:2:34: attribute 'tags' is a string (expected an array of string values)"),
        (#"{"id":"u-1","attributes":{"tags":["vip",1]}}"#, "users.jsonl:2:41: an item of attribute 'tags' is a number (expected a string)"),
        (#"{"id":"u-1","attributes":{"beta":"true"}}"#, "users.jsonl:2:34: attribute 'beta' is a string (expected true or false)"),
        (#"{"id":"u-1","attributes":{"plan":"gold"}}"#, "users.jsonl:2:34: invalid value 'gold' for attribute 'plan' (expected one of: free, pro, enterprise)"),
        (#"{"id":"u-1","attributes":{"last_seen_at":"soon"}}"#,
         "users.jsonl:2:42: invalid value 'soon' for attribute 'last_seen_at' (expected a time in ISO 8601, e.g. 2026-11-20T10:00:00Z)"),
        (#"{"id":"u-1","attributes":[]}"#, "users.jsonl:2:26: field 'attributes' is an array (expected an object of declared attributes)"),
        (#"{"id":1}"#, "users.jsonl:2:7: field 'id' is a number (expected a string)"),
        (#"{"email":"ana@example.com"}"#, "users.jsonl:2:1: missing id (every row needs a non-empty id)"),
        (#"{"id":null}"#, "users.jsonl:2:1: missing id (every row needs a non-empty id)"),
        (#"{"id":""}"#, "users.jsonl:2:7: missing id (every row needs a non-empty id)"),
        (#"{"id":"u-\u00001"}"#, "users.jsonl:2:7: invalid id 'u-<U+0000>1' (no control characters)"),
        (#"{"id":"u-1","phone":"+0123"}"#, "users.jsonl:2:21: invalid phone '+0123' (expected E.164, e.g. +821012345678)"),
        (#"{"id":"한글-1","phone":"+0123"}"#, "users.jsonl:2:22: invalid phone '+0123' (expected E.164, e.g. +821012345678)"),
        (#"{"id":"u-1","timezone":"KST"}"#, "users.jsonl:2:24: invalid timezone 'KST' (expected an IANA name, e.g. Asia/Seoul)"),
        (#"{"id":"u-1",}"#, "users.jsonl:2:13: invalid JSON: expected a string key"),
        (#"{"id":"u-1""#, "users.jsonl:2:12: invalid JSON: unexpected end of line, expected ',' or '}'"),
        (#"{"id":"u-1"} x"#, "users.jsonl:2:14: invalid JSON: unexpected text after the JSON value"),
        (#"{"id":"u-1","id":"u-2"}"#, "users.jsonl:2:13: invalid JSON: duplicate key 'id'"),
        (#"{"id":"\ud800"}"#, "users.jsonl:2:8: invalid JSON: unpaired UTF-16 surrogate in a \\u escape"),
        (#"{"id":'u-1'}"#, "users.jsonl:2:7: invalid JSON: expected a value"),
        (#"{"id":"u-1","n":01}"#, "users.jsonl:2:18: invalid JSON: expected ',' or '}'"),
        (#"{"id":"u-1","n":1}"#, "users.jsonl:2:13: unknown field 'n' (expected one of: id, email, phone, locale, timezone, first_name, last_name, created_at, attributes, devices, preferences)"),
        (#"[1,2]"#, "users.jsonl:2:1: expected a JSON object, got an array (JSON Lines has one object per line)"),
        (#""u-1""#, "users.jsonl:2:1: expected a JSON object, got a string (JSON Lines has one object per line)"),
        (#"{"id":"u-1","devices":{}}"#, "users.jsonl:2:23: field 'devices' is an object (expected an array of devices)"),
        (#"{"id":"u-1","devices":["ios"]}"#,
         "users.jsonl:2:24: devices[0] is a string (expected an object with platform and token or subscription)"),
        (#"{"id":"u-1","devices":[{"platform":"iphone","token":"abc"}]}"#,
         "users.jsonl:2:36: invalid platform 'iphone' in devices[0] (expected one of: ios, android, web)"),
        (#"{"id":"u-1","devices":[{"token":"abc"}]}"#, "users.jsonl:2:24: missing platform in devices[0] (expected ios, android or web)"),
        (#"{"id":"u-1","devices":[{"platform":"ios"}]}"#, "users.jsonl:2:24: missing token in devices[0] (ios and android devices need one)"),
        (#"{"id":"u-1","devices":[{"platform":"ios","token":"a b"}]}"#,
         "users.jsonl:2:50: invalid token 'a b' in devices[0] (expected the provider's token, without spaces)"),
        (#"{"id":"u-1","devices":[{"platform":"android","tokn":"x"}]}"#, "users.jsonl:2:46: unknown field 'tokn' in devices[0] (did you mean 'token'?)"),
        (#"{"id":"u-1","devices":[{"platform":"web"}]}"#,
         "users.jsonl:2:24: missing subscription in devices[0] (web devices need {endpoint, keys: {p256dh, auth}})"),
        (#"{"id":"u-1","devices":[{"platform":"web","token":"abc"}]}"#,
         "users.jsonl:2:50: unexpected token in devices[0] (web devices have a subscription instead)"),
        (#"{"id":"u-1","devices":[{"platform":"web","subscription":{"endpoint":"http://push.example.com/1","keys":{}}}]}"#,
         "users.jsonl:2:69: invalid endpoint 'http://push.example.com/1' in devices[0] (expected an https:// URL (http:// only on 127.0.0.1 or localhost))"),
        (#"{"id":"u-1","devices":[{"platform":"android","service":"apns","token":"abc"}]}"#,
         "users.jsonl:2:56: push service apns does not serve android devices in devices[0] (android devices use fcm, jpush, pushy (default fcm))"),
        (#"{"id":"u-1","devices":[{"platform":"android","service":"jpsh","token":"abc"}]}"#,
         "users.jsonl:2:56: invalid push service 'jpsh' in devices[0] (did you mean 'jpush'?)"),
        (#"{"id":"u-1","devices":[{"platform":"web","subscription":{"endpoint":"https://push.example.com/1","keys":{"p256dh":"abc","auth":"AAAAAAAAAAAAAAAAAAAAAA"}}}]}"#,
         "users.jsonl:2:115: invalid p256dh 'abc' in devices[0] (expected the base64url of a 65-byte P-256 public key)"),
        (#"{"id":"u-1","devices":[{"platform":"web","subscription":{"endpoint":"https://push.example.com/1","keys":{"auth":"AAAAAAAAAAAAAAAAAAAAAA"}}}]}"#,
         "users.jsonl:2:105: missing keys.p256dh in devices[0].subscription (expected the base64url of a 65-byte P-256 public key)"),
        (#"{"id":"u-1","preferences":{"Push":false}}"#,
         "users.jsonl:2:28: invalid preference key 'Push' (expected a channel, a category or channel:category, e.g. push:marketing)"),
        (#"{"id":"u-1","preferences":{"fax:marketing":false}}"#,
         "users.jsonl:2:28: invalid preference key 'fax:marketing' (expected a channel, a category or channel:category, e.g. push:marketing)"),
        (#"{"id":"u-1","preferences":{"email":"no"}}"#, "users.jsonl:2:36: preference 'email' is a string (expected true or false)"),
    ])
    func badLines(line: String, expected: String) throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let outcome = try directory.outcome("users.jsonl", "{\"id\":\"u-0\"}\n\(line)\n{\"id\":\"u-9\"}\n")
        #expect(outcome == ["1 ok u-0", expected, "3 ok u-9"])
    }

    @Test("a JSON array is refused as a whole, since it is not JSON Lines")
    func jsonArray() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        #expect(try directory.outcome("users.json", "\n[\n  {\"id\": \"u-1\"}\n]\n") == [
            "file: users.json:2:1: a JSON array is not JSON Lines (write one user object per line)",
        ])
    }

    @Test("a declared-nothing schema says so for any attribute")
    func noSchema() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        #expect(try directory.outcome("users.jsonl", #"{"id":"u-1","attributes":{"plan":"pro"}}"#, schema: AttributeSchema()) == [
            "users.jsonl:1:27: unknown attribute 'plan' (no attributes are declared in herald.yml)",
        ])
    }
}

@Suite("User import: reading, formats and hostile input")
struct UserImportTests {
    @Test("rows come in batches of at most maxCount, then []")
    func batches() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let file = try directory.write("users.csv", "id\nu-1\nu-2\nu-3\nu-4\nu-5\n")
        var reader = try UserImportReader(path: file, schema: importSchema)
        #expect(try reader.next(maxCount: 2).map(\.line) == [2, 3])
        #expect(try reader.next(maxCount: 2).map(\.line) == [4, 5])
        #expect(try reader.next(maxCount: 2).map(\.line) == [6])
        #expect(try reader.next(maxCount: 2).isEmpty)
        #expect(try reader.next(maxCount: 2).isEmpty)
    }

    @Test("a duplicate id is an error with both lines, and the first row is kept")
    func duplicateIDs() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        #expect(try directory.outcome("users.csv", "id,first_name\nu-1,Ana\nu-2,Bo\nu-1,Anna\nu-1,Ann\n") == [
            "2 ok u-1", "3 ok u-2",
            "users.csv:4:1: duplicate id 'u-1', first on line 2 (the row of line 2 is kept; give each user one row)",
            "users.csv:5:1: duplicate id 'u-1', first on line 2 (the row of line 2 is kept; give each user one row)",
        ])
        // A rejected row does not claim its id: the next row with it is the first good one.
        #expect(try directory.outcome("users.jsonl", #"""
            {"id":"u-1","phone":"12"}
            {"id":"u-1","phone":"+821012345678"}
            {"id":"u-1"}
            """#) == [
            "users.jsonl:1:21: invalid phone '12' (expected E.164, e.g. +821012345678)",
            "2 ok u-1",
            "users.jsonl:3:1: duplicate id 'u-1', first on line 2 (the row of line 2 is kept; give each user one row)",
        ])
    }

    @Test("every bad field of a row is reported, not only the first")
    func everyBadField() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        #expect(try directory.outcome("users.csv", "id,email,phone,locale,timezone\nc-2,ana@,+0101,ko_KR,Asia/Seol\n") == [[
            "users.csv:2:2: invalid email 'ana@' (expected an address like ana@example.com)",
            "users.csv:2:3: invalid phone '+0101' (expected E.164, e.g. +821012345678)",
            "users.csv:2:4: invalid locale 'ko_KR' (did you mean 'ko-KR'?)",
            "users.csv:2:5: invalid timezone 'Asia/Seol' (did you mean 'Asia/Seoul'?)",
        ].joined(separator: "\n")])
        #expect(try directory.outcome("users.jsonl", #"{"id":"c-2","emial":"a@example.com","phone":"1","attributes":{"plan":"gold","contry":"KR"}}"#) == [[
            "users.jsonl:1:13: unknown field 'emial' (did you mean 'email'?)",
            "users.jsonl:1:45: invalid phone '1' (expected E.164, e.g. +821012345678)",
            "users.jsonl:1:70: invalid value 'gold' for attribute 'plan' (expected one of: free, pro, enterprise)",
            "users.jsonl:1:77: unknown attribute 'contry' (did you mean 'country'?)",
        ].joined(separator: "\n")])
    }

    @Test("a preference key no send would check is an error with a did-you-mean, so consent is never dropped")
    func preferenceTypos() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let keys = PreferenceVocabulary(categories: ["newsletter", "product-updates"])
        #expect(try directory.outcome("users.jsonl", #"""
            {"id":"u-1","preferences":{"emial":false}}
            {"id":"u-2","preferences":{"push:marketting":false,"newsleter":false}}
            {"id":"u-3","preferences":{"email":false,"newsletter":false,"sms:product-updates":false,"push:marketing":true}}
            {"id":"u-4","preferences":{"transactional":false}}
            {"id":"u-5","preferences":{"sms:transactional":false}}
            {"id":"u-6","preferences":{"holidays":false}}
            """#, preferenceKeys: keys) == [
            "users.jsonl:1:28: unknown preference 'emial' (did you mean 'email'?)",
            "users.jsonl:2:28: unknown preference 'push:marketting' (did you mean 'push:marketing'?)\n"
                + "users.jsonl:2:52: unknown preference 'newsleter' (did you mean 'newsletter'?)",
            "3 ok u-3",
            "users.jsonl:4:28: preference 'transactional' has no effect (transactional messages respect only channel opt-outs such as 'email')",
            "users.jsonl:5:28: preference 'sms:transactional' has no effect (transactional messages respect only channel opt-outs such as 'sms')",
            "users.jsonl:6:28: unknown preference 'holidays' (expected a channel (push, sms, email), a category (marketing, newsletter, product-updates; declare others under 'categories:' in herald.yml) or channel:category)",
        ])
    }

    @Test("free text longer than 1,000 characters and lists over 1,000 items are refused")
    func textAndListCaps() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let long = String(repeating: "é", count: 1001)
        let fits = String(repeating: "é", count: 1000)
        #expect(try directory.outcome("users.csv", "id,last_name,country\nu-1,\(long),KR\nu-2,\(fits),\(long)\nu-3,\(fits),\(fits)\n") == [
            "users.csv:2:2: last_name '\(String(repeating: "é", count: 64))…' is too long (1001 characters) (at most 1000 characters)",
            "users.csv:3:3: value '\(String(repeating: "é", count: 64))…' of attribute 'country' is too long (1001 characters) (at most 1000 characters)",
            "3 ok u-3",
        ].map { $0.replacingOccurrences(of: "3 ok u-3", with: "4 ok u-3") })
        let tags = (0...1000).map { "\"t\($0)\"" }.joined(separator: ",")
        #expect(try directory.outcome("users.jsonl", #"{"id":"u-1","attributes":{"tags":["# + tags + "]}}") == [
            "users.jsonl:1:34: attribute 'tags' has 1001 items (at most 1000 items in a list)",
        ])
    }

    @Test("the format comes from the argument, the extension, or the first character", arguments: [
        ("users.ndjson", "{\"id\":\"u-1\"}\n", nil, UserImportReader.Format.jsonLines),
        ("users.JSONL", "{\"id\":\"u-1\"}\n", nil, .jsonLines),
        ("users.json", "{\"id\":\"u-1\"}\n", nil, .jsonLines),
        ("users.txt", "\n  {\"id\":\"u-1\"}\n", nil, .jsonLines),
        ("users", "id\nu-1\n", nil, .csv),
        ("users.CSV", "id\nu-1\n", nil, .csv),
        ("users.jsonl", "id\nu-1\n", UserImportReader.Format.csv, .csv),
    ])
    func formats(name: String, text: String, given: UserImportReader.Format?, expected: UserImportReader.Format) throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let file = try directory.write(name, text)
        var reader = try UserImportReader(path: file, schema: importSchema, format: given)
        #expect(reader.format == expected)
        #expect(try reader.next(maxCount: 10).map { try $0.result.get().id } == ["u-1"])
    }

    @Test("an unreadable path is a diagnostic, not a crash")
    func unreadable() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        #expect(throws: Diagnostic("cannot read '\(directory.path)/missing.csv': no such file", at: nil)) {
            _ = try directory.readAll(directory.path + "/missing.csv")
        }
        #expect(throws: Diagnostic("cannot read '\(directory.path)': it is a directory", at: nil, hint: "expected a .csv or .jsonl file")) {
            _ = try directory.readAll(directory.path)
        }
    }

    @Test("a 10 MB CSV line is one bad row and the rows around it import")
    func hugeCSVLine() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let bytes = Array("id,first_name\nu-1,a\nu-2,".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 10 << 20) + Array("\nu-3,b\n".utf8)
        #expect(try directory.outcome("users.csv", bytes: bytes) == [
            "2 ok u-1",
            "users.csv:3:1: line longer than 1 MiB (a row may be at most 1048576 bytes)",
            "4 ok u-3",
        ])
    }

    @Test("a quote that never closes costs one row once it passes the limit")
    func runawayQuote() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let bytes = Array("id,first_name\nu-1,a\nu-2,\"".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 2 << 20) + Array("\nu-3,b\n".utf8)
        #expect(try directory.outcome("users.csv", bytes: bytes) == [
            "2 ok u-1",
            "users.csv:3:1: line longer than 1 MiB (a row may be at most 1048576 bytes)",
            "4 ok u-3",
        ])
        #expect(try directory.outcome("short.csv", "id,first_name\nu-1,\"abc\n") == [
            "short.csv:2:2: unterminated quoted field (close it with '\"')",
        ])
    }

    @Test("a 10 MB JSON line is one bad row and the rows around it import")
    func hugeJSONLine() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let bytes = Array("{\"id\":\"u-1\"}\n{\"id\":\"".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 10 << 20)
            + Array("\"}\r\n{\"id\":\"u-3\"}".utf8)
        #expect(try directory.outcome("users.jsonl", bytes: bytes) == [
            "1 ok u-1",
            "users.jsonl:2:1: line longer than 1 MiB (a row may be at most 1048576 bytes)",
            "3 ok u-3",
        ])
    }

    @Test("bytes that are not UTF-8 spoil only their row")
    func invalidUTF8() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        #expect(try directory.outcome("users.csv", bytes: Array("id,first_name\nu-1,".utf8) + [0xFF, 0xFE] + Array("\nu-2,b\n".utf8)) == [
            "users.csv:2:2: not valid UTF-8 (save the file as UTF-8)",
            "3 ok u-2",
        ])
        let json = Array(#"{"id":"u-1","first_name":""#.utf8) + [0xC3, 0x28] + Array("\"}\n{\"id\":\"u-2\"}\n".utf8)
        #expect(try directory.outcome("users.jsonl", bytes: json) == [
            "users.jsonl:1:27: not valid UTF-8 (save the file as UTF-8)",
            "2 ok u-2",
        ])
    }

    @Test("NUL bytes are refused where they are")
    func nulBytes() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        #expect(try directory.outcome("users.csv", bytes: Array("id,first_name\nu-\u{0},x\nu-2,\u{0}\nu-3,c\n".utf8)) == [
            "users.csv:2:1: invalid id 'u-<U+0000>' (no control characters)",
            "users.csv:3:2: invalid first_name '<U+0000>' (no control characters)",
            "4 ok u-3",
        ])
        #expect(try directory.outcome("users.jsonl", bytes: Array("{\"id\":\"u-\u{0}\"}\n{\"id\":\"u-2\"}\u{0}\n{\"id\":\"u-3\"}".utf8)) == [
            "users.jsonl:1:10: invalid JSON: control character in a string (write it as an escape such as \\n)",
            "users.jsonl:2:13: invalid JSON: unexpected text after the JSON value",
            "3 ok u-3",
        ])
    }

    @Test("a huge number of columns is one error, in the header or in a row")
    func manyColumns() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let header = "id," + (1...100_000).map { "c\($0)" }.joined(separator: ",") + "\nu-1\n"
        #expect(try directory.outcome("wide.csv", header) == [
            "file: wide.csv:1:2: unknown column 'c1' (expected one of: id, email, phone, locale, timezone, first_name, last_name, created_at, devices, country, plan, last_seen_at, lifetime_value, tags, beta, scores)",
        ])
        let row = "id,first_name\nu-1" + String(repeating: ",", count: 199_999) + "\nu-2,b\n"
        #expect(try directory.outcome("users.csv", row) == [
            "users.csv:2:3: row has 200000 fields (expected 2, as in the header)",
            "3 ok u-2",
        ])
    }

    @Test("deeply nested JSON is refused without exhausting the stack")
    func deepNesting() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let text = "{\"id\":\"u-1\",\"attributes\":{\"scores\":" + String(repeating: "[", count: 100_000) + "\n"
            + String(repeating: "[", count: 500_000) + String(repeating: "]", count: 500_000) + "\n{\"id\":\"u-3\"}\n"
        #expect(try directory.outcome("users.jsonl", text) == [
            "users.jsonl:1:66: invalid JSON: nested deeper than 32 levels",
            "users.jsonl:2:33: invalid JSON: nested deeper than 32 levels",
            "3 ok u-3",
        ])
    }

    @Test("random bytes never crash the reader and every diagnostic names the file", .tags(.slow))
    func randomBytes() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        var random = SplitMix64(seed: 2026)
        let alphabet = Array("id,\"\n\r{}[]:;\\ u-1@.+0123456789abcxyz".utf8) + [0x00, 0xC3, 0xFF, 0xE2, 0x80]
        for round in 0..<200 {
            let length = random.next(below: 400)
            var bytes = (0..<length).map { _ in alphabet[random.next(below: alphabet.count)] }
            if round.isMultiple(of: 2) { bytes = Array("id,first_name\n".utf8) + bytes }
            for name in ["fuzz.csv", "fuzz.jsonl"] {
                let file = try directory.write(name, bytes: bytes)
                do {
                    for row in try directory.readAll(file) {
                        if case .failure(let rejected) = row.result {
                            #expect(!rejected.diagnostics.isEmpty)
                            for diagnostic in rejected.diagnostics {
                                #expect(diagnostic.location?.file == file)
                                #expect((diagnostic.location?.line ?? 0) >= 1)
                            }
                        }
                    }
                } catch {
                    #expect(error.location == nil || error.location?.file == file)
                }
            }
        }
    }
}

extension Tag {
    @Tag static var slow: Self
}

// MARK: - Support

/// The attribute schema of the sample herald.yml, plus a list of numbers.
let importSchema = AttributeSchema([
    AttributeDefinition(name: "country", type: .string),
    AttributeDefinition(name: "plan", type: .string, allowedValues: ["free", "pro", "enterprise"]),
    AttributeDefinition(name: "last_seen_at", type: .time),
    AttributeDefinition(name: "lifetime_value", type: .number),
    AttributeDefinition(name: "tags", type: .list(.string)),
    AttributeDefinition(name: "beta", type: .bool),
    AttributeDefinition(name: "scores", type: .list(.number)),
])

/// A fresh directory per test, so that tests run in parallel and diagnostics can be compared
/// with the directory stripped: `users.csv:2:3: …`.
struct ImportDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("herald-import-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> String {
        try write(name, bytes: Array(text.utf8))
    }

    func write(_ name: String, bytes: [UInt8]) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    /// The description a user sees, with the temporary directory removed from the file name.
    func describe(_ diagnostic: Diagnostic) -> String {
        diagnostic.description.replacingOccurrences(of: path + "/", with: "")
    }

    /// Every problem of a rejected row, one per line.
    func describe(_ rejected: RejectedRow) -> String {
        rejected.diagnostics.map(describe).joined(separator: "\n")
    }

    /// Every row of `file`, read `batch` rows at a time.
    func readAll(
        _ file: String, schema: AttributeSchema = importSchema, preferenceKeys: PreferenceVocabulary? = nil,
        format: UserImportReader.Format? = nil, batch: Int = 3
    ) throws(Diagnostic) -> [ImportRow] {
        var reader = try UserImportReader(path: file, schema: schema, preferenceKeys: preferenceKeys, format: format)
        var rows: [ImportRow] = []
        while case let next = try reader.next(maxCount: batch), !next.isEmpty {
            rows += next
        }
        return rows
    }

    /// One line per row: `line ok id` or the diagnostic, or the file-level diagnostic.
    func outcome(_ name: String, _ text: String, schema: AttributeSchema = importSchema, preferenceKeys: PreferenceVocabulary? = nil) throws -> [String] {
        try outcome(name, bytes: Array(text.utf8), schema: schema, preferenceKeys: preferenceKeys)
    }

    func outcome(_ name: String, bytes: [UInt8], schema: AttributeSchema = importSchema, preferenceKeys: PreferenceVocabulary? = nil) throws -> [String] {
        let file = try write(name, bytes: bytes)
        do {
            return try readAll(file, schema: schema, preferenceKeys: preferenceKeys).map { row in
                switch row.result {
                case .success(let user): "\(row.line) ok \(user.id)"
                case .failure(let diagnostic): describe(diagnostic)
                }
            }
        } catch {
            return ["file: " + describe(error)]
        }
    }

    /// The users of a file that must have no bad rows.
    func users(_ name: String, _ text: String, schema: AttributeSchema = importSchema) throws -> [User] {
        let file = try write(name, text)
        return try readAll(file, schema: schema).map { try $0.result.get() }
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

func importDate(_ text: String) -> Date {
    ISO8601.date(from: text) ?? .distantPast
}

extension Result {
    /// The error of a failed result, for assertions on bad rows.
    var importFailure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
