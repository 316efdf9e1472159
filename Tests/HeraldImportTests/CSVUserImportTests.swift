import Foundation
import HeraldCore
import HeraldImport
import Testing

@Suite("CSV user import")
struct CSVUserImportTests {
    static let header = "id,email,phone,locale,timezone,first_name,last_name,created_at,country,plan,last_seen_at,lifetime_value,tags,beta,scores"

    @Test("a good file gives typed users; empty cells are absent")
    func goodFile() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let users = try directory.users("users.csv", """
            \(Self.header)
            u-1,ana@example.com,+821012345678,ko-KR,Asia/Seoul,Ana,Kim,2025-01-02T03:04:05Z,KR,pro,2026-11-20T10:00:00Z,12.5,vip;beta,TRUE,1;2.5
            u-2,,,,,,,,,,,,,,

            """)
        #expect(users == [
            User(
                id: "u-1", email: "ana@example.com", phone: "+821012345678", locale: "ko-KR", timezone: "Asia/Seoul",
                firstName: "Ana", lastName: "Kim", createdAt: importDate("2025-01-02T03:04:05Z"),
                attributes: [
                    "country": .string("KR"), "plan": .string("pro"), "last_seen_at": .time(importDate("2026-11-20T10:00:00Z")),
                    "lifetime_value": .number(12.5), "tags": .list([.string("vip"), .string("beta")]), "beta": .bool(true),
                    "scores": .list([.number(1), .number(2.5)]),
                ]
            ),
            User(id: "u-2"),
        ])
    }

    @Test("the spec's example imports")
    func specExample() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let users = try directory.users("users.csv", """
            id,email,phone,locale,timezone,first_name,country,plan,last_seen_at,tags
            u-1,ana@example.com,+821012345678,ko-KR,Asia/Seoul,Ana,KR,pro,2026-11-20T10:00:00Z,"vip;beta"
            """)
        #expect(users.map(\.id) == ["u-1"])
        #expect(users.first?.attributes["tags"] == .list([.string("vip"), .string("beta")]))
    }

    @Test("bad cells are reported at line and column, with what would be valid", arguments: [
        (",ana@example.com,,,,,", "users.csv:2:1: missing id (every row needs a non-empty id)"),
        ("u\u{7}1,,,,,,", "users.csv:2:1: invalid id 'u<U+0007>1' (no control characters)"),
        (String(repeating: "x", count: 129) + ",,,,,,",
         "users.csv:2:1: id '\(String(repeating: "x", count: 64))…' is too long (at most 128 characters)"),
        ("u-1,ana@,,,,,", "users.csv:2:2: invalid email 'ana@' (expected an address like ana@example.com)"),
        ("u-1,ana@example,,,,,", "users.csv:2:2: invalid email 'ana@example' (expected an address like ana@example.com)"),
        ("u-1,a b@example.com,,,,,", "users.csv:2:2: invalid email 'a b@example.com' (expected an address like ana@example.com)"),
        ("u-1,a@@example.com,,,,,", "users.csv:2:2: invalid email 'a@@example.com' (expected an address like ana@example.com)"),
        ("u-1,@example.com,,,,,", "users.csv:2:2: invalid email '@example.com' (expected an address like ana@example.com)"),
        ("u-1,a@example..com,,,,,", "users.csv:2:2: invalid email 'a@example..com' (expected an address like ana@example.com)"),
        ("u-1,,+0123,,,,", "users.csv:2:3: invalid phone '+0123' (expected E.164, e.g. +821012345678)"),
        ("u-1,,01012345678,,,,", "users.csv:2:3: invalid phone '01012345678' (expected E.164, e.g. +821012345678)"),
        ("u-1,,+8210123456789012,,,,", "users.csv:2:3: invalid phone '+8210123456789012' (expected E.164, e.g. +821012345678)"),
        ("u-1,,+82 10-1234-5678,,,,", "users.csv:2:3: invalid phone '+82 10-1234-5678' (did you mean '+821012345678'?)"),
        ("u-1,,,ko_KR,,,", "users.csv:2:4: invalid locale 'ko_KR' (did you mean 'ko-KR'?)"),
        ("u-1,,,ko-,,,", "users.csv:2:4: invalid locale 'ko-' (expected a BCP 47 tag, e.g. ko-KR)"),
        ("u-1,,,12,,,", "users.csv:2:4: invalid locale '12' (expected a BCP 47 tag, e.g. ko-KR)"),
        ("u-1,,,,EST,,", "users.csv:2:5: invalid timezone 'EST' (expected an IANA name, e.g. Asia/Seoul)"),
        ("u-1,,,,KST,,", "users.csv:2:5: invalid timezone 'KST' (expected an IANA name, e.g. Asia/Seoul)"),
        ("u-1,,,,Asia/Seol,,", "users.csv:2:5: invalid timezone 'Asia/Seol' (did you mean 'Asia/Seoul'?)"),
        ("u-1,,,,asia/seoul,,", "users.csv:2:5: invalid timezone 'asia/seoul' (did you mean 'Asia/Seoul'?)"),
        ("u-1,,,,,gold,", "users.csv:2:6: invalid value 'gold' for attribute 'plan' (expected one of: free, pro, enterprise)"),
        ("u-1,,,,,fre,", "users.csv:2:6: invalid value 'fre' for attribute 'plan' (did you mean 'free'?)"),
        ("u-1,,,,,,12abc", "users.csv:2:7: invalid value '12abc' for attribute 'lifetime_value' (expected a number)"),
        ("u-1,,,,,,nan", "users.csv:2:7: invalid value 'nan' for attribute 'lifetime_value' (expected a number)"),
        ("u-1,,,,,,0x10", "users.csv:2:7: invalid value '0x10' for attribute 'lifetime_value' (expected a number)"),
        ("u-1,,,,,,1e999", "users.csv:2:7: invalid value '1e999' for attribute 'lifetime_value' (expected a finite number)"),
        ("u-1,ana@example.com", "users.csv:2:3: row has 2 fields (expected 7, as in the header)"),
        ("u-1,,,,,,,,", "users.csv:2:8: row has 9 fields (expected 7, as in the header)"),
        ("u-1,an\"a@example.com,,,,,",
         "users.csv:2:2: unexpected '\"' in an unquoted field (quote the whole field and double the quote: \"a \"\"b\"\"\")"),
        ("\"u-1\"x,,,,,,", "users.csv:2:1: unexpected text after a closing '\"' (put the whole field inside the quotes)"),
    ])
    func badCells(row: String, expected: String) throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let outcome = try directory.outcome("users.csv", "id,email,phone,locale,timezone,plan,lifetime_value\n\(row)\nu-9,,,,,,\n")
        #expect(outcome == [expected, "3 ok u-9"])
    }

    @Test("a devices column gives app devices with their push service; a token keeps its colons")
    func devicesColumn() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let users = try directory.users("users.csv", """
            id,devices
            u-1,ios:8f3a00ff;android:cXyz:APA91b-token; android/jpush:1a0018970a
            u-2,ios/fcm:fcm-on-ios;android/pushy:a1b2c3d4e5f6a7b8c9d0e1
            u-3,

            """)
        #expect(users == [
            User(id: "u-1", devices: [
                Device(platform: .ios, service: .apns, token: "8f3a00ff"),
                Device(platform: .android, service: .fcm, token: "cXyz:APA91b-token"),
                Device(platform: .android, service: .jpush, token: "1a0018970a"),
            ]),
            User(id: "u-2", devices: [
                Device(platform: .ios, service: .fcm, token: "fcm-on-ios"),
                Device(platform: .android, service: .pushy, token: "a1b2c3d4e5f6a7b8c9d0e1"),
            ]),
            User(id: "u-3"),
        ])
    }

    @Test("a bad device is reported at its cell, with what would be valid", arguments: [
        ("u-1,8f3a00ff", "users.csv:2:2: invalid device '8f3a00ff' (expected platform:token or platform/service:token, separated by ';', e.g. ios:8f3a…)"),
        ("u-1,iso:8f3a00ff", "users.csv:2:2: invalid platform 'iso' in device 'iso:8f3a00ff' (did you mean 'ios'?)"),
        ("u-1,ios/apn:8f3a00ff", "users.csv:2:2: invalid push service 'apn' in device 'ios/apn:8f3a00ff' (did you mean 'apns'?)"),
        ("u-1,android/apns:abc", "users.csv:2:2: push service apns does not serve android devices (android devices use fcm, jpush, pushy (default fcm))"),
        ("u-1,ios:", "users.csv:2:2: invalid token '' in device 'ios:' (expected the provider's token, without spaces)"),
        ("u-1,web:https://push.example.com/x",
         "users.csv:2:2: a web device needs a subscription (an endpoint and two keys), which CSV cannot hold (import web subscriptions from JSON Lines)"),
    ])
    func badDevices(row: String, expected: String) throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let outcome = try directory.outcome("users.csv", "id,devices\n\(row)\nu-9,\n")
        #expect(outcome == [expected, "3 ok u-9"])
    }

    @Test("phones are E.164: a +, then 8 to 15 digits, the first not 0; emails at most 254 bytes", arguments: [
        ("phone", "+12345678", "2 ok u-1"),
        ("phone", "+123456789012345", "2 ok u-1"),
        ("phone", "+1234567", "users.csv:2:2: invalid phone '+1234567' (expected E.164, e.g. +821012345678)"),
        ("phone", "+1234567890123456", "users.csv:2:2: invalid phone '+1234567890123456' (expected E.164, e.g. +821012345678)"),
        ("phone", "+01234567890", "users.csv:2:2: invalid phone '+01234567890' (expected E.164, e.g. +821012345678)"),
        ("phone", "+0 1234 5678", "users.csv:2:2: invalid phone '+0 1234 5678' (expected E.164, e.g. +821012345678)"),
        ("phone", "+1 234 567", "users.csv:2:2: invalid phone '+1 234 567' (expected E.164, e.g. +821012345678)"),
        ("phone", "+1 234 5678", "users.csv:2:2: invalid phone '+1 234 5678' (did you mean '+12345678'?)"),
        ("email", String(repeating: "a", count: 242) + "@example.com", "2 ok u-1"),
        ("email", String(repeating: "a", count: 243) + "@example.com",
         "users.csv:2:2: invalid email '\(String(repeating: "a", count: 64))…' (at most 254 characters)"),
    ])
    func fieldEdges(column: String, cell: String, expected: String) throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        #expect(try directory.outcome("users.csv", "id,\(column)\nu-1,\(cell)\n") == [expected])
    }

    @Test("typed attribute cells", arguments: [
        ("beta", "maybe", "users.csv:2:2: invalid value 'maybe' for attribute 'beta' (expected a bool: true, false, yes, no, 1 or 0)"),
        ("last_seen_at", "yesterday",
         "users.csv:2:2: invalid value 'yesterday' for attribute 'last_seen_at' (expected a time in ISO 8601, e.g. 2026-11-20T10:00:00Z)"),
        ("created_at", "2026-13-01", "users.csv:2:2: invalid created_at '2026-13-01' (expected ISO 8601, e.g. 2026-11-20T10:00:00Z)"),
        ("scores", "1;x;3", "users.csv:2:2: invalid item 'x' in attribute 'scores' (expected a number)"),
        ("first_name", "A\u{0}na", "users.csv:2:2: invalid first_name 'A<U+0000>na' (no control characters)"),
        ("country", "K\u{0}R", "users.csv:2:2: invalid value 'K<U+0000>R' for attribute 'country' (no control characters other than line breaks and tabs)"),
    ])
    func typedCells(column: String, cell: String, expected: String) throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        #expect(try directory.outcome("users.csv", "id,\(column)\nu-1,\(cell)\n") == [expected])
    }

    @Test("bools, numbers and lists accept the usual spellings")
    func cellSpellings() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let users = try directory.users("users.csv", """
            id,beta,lifetime_value,tags,created_at
            u-1,yes,-1.5e2, vip ;; beta ;,2026-11-20
            u-2,No,0,;,2026-11-20T10:00:00.250+09:00
            u-3,1,+7,,
            """)
        #expect(users.map { $0.attributes["beta"] } == [.bool(true), .bool(false), .bool(true)])
        #expect(users.map { $0.attributes["lifetime_value"] } == [.number(-150), .number(0), .number(7)])
        #expect(users.map { $0.attributes["tags"] } == [.list([.string("vip"), .string("beta")]), .list([]), nil])
        #expect(users.map(\.createdAt) == [importDate("2026-11-20T00:00:00Z"), importDate("2026-11-20T01:00:00.250Z"), nil])
    }

    @Test("RFC 4180 quoting: commas, doubled quotes and line breaks inside quotes")
    func quoting() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let schema = AttributeSchema([
            AttributeDefinition(name: "note", type: .string),
            AttributeDefinition(name: "tags", type: .list(.string)),
        ])
        let text = "id,first_name,note,tags\n"
            + "u-1,\"Kim, Ana\",\"the \"\"Ace\"\"\",\"vip;beta\"\n"
            + "u-2,Bo,\"two\nlines\",\"\"\n"
            + "u-3,\"\",,\n"
            + "u-4,,,\"\"\"\"\n"
            + "u-5,x,\"a\r\nb\",\n"
            + ",missing id after a multi-line record,,\n"
            + "u-7,\"new\nline\",,\n"
        let file = try directory.write("users.csv", text)
        let rows = try directory.readAll(file, schema: schema)
        #expect(rows.map(\.line) == [2, 3, 5, 6, 7, 9, 10])
        #expect(rows.map { $0.result.importFailure.map(directory.describe) ?? "ok" } == [
            "ok", "ok", "ok", "ok", "ok",
            "users.csv:9:1: missing id (every row needs a non-empty id)",
            "users.csv:10:2: invalid first_name 'new\\nline' (no control characters)",
        ])
        let users = rows.compactMap { try? $0.result.get() }
        try #require(users.count == 5)
        #expect(users.map(\.firstName) == ["Kim, Ana", "Bo", nil, nil, "x"])
        #expect(users.map { $0.attributes["note"] } == [.string("the \"Ace\""), .string("two\nlines"), nil, nil, .string("a\r\nb")])
        #expect(users.map { $0.attributes["tags"] } == [.list([.string("vip"), .string("beta")]), nil, nil, .list([.string("\"")]), nil])
    }

    @Test("CRLF, a lone CR, a byte-order mark, blank lines and no final newline")
    func lineEndings() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let bytes = [0xEF, 0xBB, 0xBF] + Array("id,phone\r\nu-1,\r\n\r\nu-2,+0\ru-3,\n\nu-4,".utf8)
        #expect(try directory.outcome("users.csv", bytes: bytes) == [
            "2 ok u-1",
            "users.csv:4:2: invalid phone '+0' (expected E.164, e.g. +821012345678)",
            "5 ok u-3",
            "7 ok u-4",
        ])
    }

    @Test("header names may be padded with spaces")
    func paddedHeader() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let users = try directory.users("users.csv", " id , email \nu-1,ana@example.com\n")
        #expect(users == [User(id: "u-1", email: "ana@example.com")])
    }

    @Test("a bad header refuses the whole file before any row", arguments: [
        ("id,email,contry\nu-1,,KR\n", "file: users.csv:1:3: unknown column 'contry' (did you mean 'country'?)"),
        ("id,preferences\nu-1,\n",
         "file: users.csv:1:2: unknown column 'preferences' (expected one of: id, email, phone, locale, timezone, first_name, last_name, created_at, devices, country, plan, last_seen_at, lifetime_value, tags, beta, scores)"),
        ("email,phone\nana@example.com,\n", "file: users.csv:1:1: missing column 'id' (the header must name the id column)"),
        ("ID,Email\nu-1,\n", "file: users.csv:1:1: unknown column 'ID' (did you mean 'id'?)"),
        ("id,email,email\nu-1,,\n", "file: users.csv:1:3: duplicate column 'email'"),
        ("id,,email\nu-1,,\n", "file: users.csv:1:2: empty column name (every column needs a name, e.g. id, email)"),
        ("", "file: users.csv:1:1: empty file (expected a header row, e.g. id,email,phone)"),
        ("\n\n", "file: users.csv:1:1: empty file (expected a header row, e.g. id,email,phone)"),
        ("id,\"email\nu-1,x\n", "file: users.csv:1:2: unterminated quoted column name (close it with '\"')"),
    ])
    func badHeader(text: String, expected: String) throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        #expect(try directory.outcome("users.csv", text) == [expected])
    }

    @Test("a list of lists cannot be a CSV column")
    func nestedListColumn() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        let schema = AttributeSchema([AttributeDefinition(name: "matrix", type: .list(.list(.number)))])
        #expect(try directory.outcome("users.csv", "id,matrix\nu-1,\n", schema: schema) == [
            "file: users.csv:1:2: attribute 'matrix' is a list of lists, which CSV cannot express (import it from JSON Lines)",
        ])
    }

    @Test("a header that is not UTF-8 refuses the file")
    func binaryHeader() throws {
        let directory = try ImportDirectory()
        defer { directory.remove() }
        #expect(try directory.outcome("users.csv", bytes: Array("id,".utf8) + [0xC3, 0x28] + Array("\nu-1,\n".utf8)) == [
            "file: users.csv:1:2: header is not valid UTF-8 (save the file as UTF-8)",
        ])
    }
}
