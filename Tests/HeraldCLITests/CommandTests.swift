import Foundation
import HeraldCore
import HeraldStore
import HeraldTesting
import Testing

@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct CommandTests {
    /// A temporary copy of the sample workspace.
    func withSampleWorkspace(_ body: (TemporaryDirectory) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            let output = try await HeraldBinary.run(["init", "."], in: directory.path)
            #expect(output.status == 0, "\(output.stderr)")
            try await body(directory)
        }
    }

    @Test func validateAcceptsTheSampleAndReportsEveryErrorOfABrokenWorkspace() async throws {
        try await withSampleWorkspace { directory in
            let clean = try await HeraldBinary.run(["validate"], in: directory.path)
            #expect(clean.status == 0, "\(clean.stdout)")
            #expect(clean.stdout.hasSuffix(".: workspace is valid\n"))

            try directory.write("campaigns/winter-sale.yml", try String(contentsOfFile: directory.file("campaigns/winter-sale.yml"), encoding: .utf8)
                .replacingOccurrences(of: "channels: [push, email]", with: "chanels: [push, email]"))
            try directory.write("campaigns/broken.yml", "campaign: broken\nchannels: [push\n")
            let broken = try await HeraldBinary.run(["validate"], in: directory.path)
            #expect(broken.status == 1)
            #expect(broken.stdout.contains("campaigns/winter-sale.yml:"))
            #expect(broken.stdout.contains("unknown field 'chanels' (did you mean 'channels'?)"))
            #expect(broken.stdout.contains("campaigns/broken.yml:"))

            let json = try await HeraldBinary.run(["validate", "--format", "json"], in: directory.path)
            #expect(json.status == 1)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            #expect(object["valid"] as? Bool == false)
            let diagnostics = try #require(object["diagnostics"] as? [[String: Any]])
            #expect(diagnostics.contains { $0["file"] as? String == "campaigns/winter-sale.yml" && ($0["line"] as? Int ?? 0) > 0 })
        }
    }

    @Test func validateReportsAPushOverAProvidersLimitWhateverItsVariables() async throws {
        try await withSampleWorkspace { directory in
            // 2,100 bytes of text: over JPush's 2,000-byte iOS notification, within the others.
            let long = String(repeating: "Sale! ", count: 350)
            try directory.write("templates/flash.yml", "template: flash\npush:\n  title: \"{{first_name}}\"\n  body: \"\(long)\"\n")
            // A short base, and a Korean variant over every service's limit.
            try directory.write("templates/tiny.yml", "template: tiny\npush: {body: \"Hi {{first_name}}\", badge: 1}\n")
            try directory.write("templates/tiny.ko.yml", "push:\n  body: \"\(String(repeating: "세일 ", count: 700))\"\n")
            let run = try await HeraldBinary.run(["validate"], in: directory.path)
            #expect(run.status == 1, "\(run.stdout)")
            let lines = run.stdout.split(separator: "\n").filter { $0.contains("too large") }
            #expect(lines.count == 6, "\(run.stdout)")
            #expect(lines.contains { $0.hasPrefix("templates/flash.yml:4:10: ") && $0.contains(
                "the push is too large for provider 'jpush' even with every variable empty: the JPush iOS notification is"
            ) }, "\(run.stdout)")
            for provider in ["apns", "fcm", "jpush", "pushy", "webpush"] {
                #expect(lines.contains { $0.hasPrefix("templates/tiny.ko.yml:2:10: ") && $0.contains("provider '\(provider)'") }, "\(provider): \(run.stdout)")
            }
            #expect(!run.stdout.contains("templates/tiny.yml:"), "\(run.stdout)")
        }
    }

    /// A key file that looks right (a PEM block, a JSON object with every field) but that no
    /// transport could use is refused by `herald validate` at its line, with what is wrong:
    /// the same parser the transports use reads it.
    @Test func validateParsesProvidersKeyFiles() async throws {
        try await withSampleWorkspace { directory in
            let garbage = "bm90IGEga2V5IGF0IGFsbA=="
            _ = try directory.write("keys/apns-sandbox.p8", "-----BEGIN PRIVATE KEY-----\n\(garbage)\n-----END PRIVATE KEY-----\n")
            _ = try directory.write("keys/sandbox-ca.pem", "-----BEGIN CERTIFICATE-----\n\(garbage)\n-----END CERTIFICATE-----\n")
            let accountPath = directory.file("keys/fcm-sandbox-service-account.json")
            var account = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: accountPath))) as? [String: Any])
            // A P-256 key where Google's RS256 needs an RSA key.
            account["private_key"] = try String(contentsOfFile: directory.file("keys/vapid-sandbox.pem"), encoding: .utf8)
            try JSONSerialization.data(withJSONObject: account).write(to: URL(fileURLWithPath: accountPath))
            // The raw 32-byte form of a VAPID key (`vapid --gen`): usable, so not reported.
            _ = try directory.write("keys/vapid-sandbox.pem", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\n")
            let run = try await HeraldBinary.run(["validate"], in: directory.path)
            #expect(run.status == 1, "\(run.stdout)")
            let output = run.stdout
            #expect(output.contains("herald.yml:24:") && output.contains("invalid key_file 'keys/apns-sandbox.p8' in provider 'apns'"), "\(output)")
            #expect(output.contains("apns-sandbox.p8 is not a P-256 private key in PEM"), "\(output)")
            #expect(output.contains("invalid ca_file 'keys/sandbox-ca.pem' in provider 'apns'"), "\(output)")
            #expect(output.contains("sandbox-ca.pem holds a certificate that cannot be read"), "\(output)")
            #expect(output.contains("herald.yml:25:") && output.contains("invalid service_account_file"), "\(output)")
            #expect(output.contains("not an RSA private key"), "\(output)")
            #expect(!output.contains("vapid_private_key_file"), "\(output)")
        }
    }

    /// Devices whose push service has no provider would be skipped as no_provider at every
    /// send: `herald validate` counts them in the database herald.yml names.
    @Test func validateWarnsAboutDevicesOfAPushServiceWithNoProvider() async throws {
        try await withSampleWorkspace { directory in
            let clean = try await HeraldBinary.run(["validate"], in: directory.path)
            #expect(clean.status == 0 && !clean.stdout.contains("no provider"), "no database yet: \(clean.stdout)")
            #expect(try await HeraldBinary.run(["users", "generate", "--count", "300"], in: directory.path).status == 0)
            let yml = try String(contentsOfFile: directory.file("herald.yml"), encoding: .utf8)
            try yml.replacingOccurrences(of: ", jpush: jpush, pushy: pushy}", with: "}")
                .write(toFile: directory.file("herald.yml"), atomically: true, encoding: .utf8)
            let run = try await HeraldBinary.run(["validate"], in: directory.path)
            #expect(run.status == 0, "warnings only: \(run.stdout)")
            let warnings = run.stdout.split(separator: "\n").filter { $0.contains("but no provider for") }
            #expect(warnings.count == 2, "\(run.stdout)")
            #expect(warnings.contains { $0.hasPrefix("herald.yml:34:1: warning: ") && $0.contains("active jpush devices in herald.db but no provider for jpush in channels.push") }, "\(run.stdout)")
            #expect(warnings.contains { $0.contains("active pushy devices in herald.db but no provider for pushy") }, "\(run.stdout)")
            #expect(!run.stdout.contains("apns devices"), "\(run.stdout)")
        }
    }

    @Test func hostileTemplatesAndRulesGetErrorsNotCrashes() async throws {
        try await withSampleWorkspace { directory in
            try directory.write("templates/winter-sale.html", String(repeating: "{{#discount}}", count: 5000) + "x")
            let deep = try await HeraldBinary.run(["validate"], in: directory.path)
            #expect(deep.status == 1, "\(deep.stdout)\(deep.stderr)")
            #expect(deep.stdout.contains("templates/winter-sale.html:1:417: sections nest too deeply in email.html"), "\(deep.stdout)")
        }
    }

    @Test func importReportsBadRowsByLineImportsTheRestAndIsIdempotent() async throws {
        try await withSampleWorkspace { directory in
            try directory.write("users.csv", """
                id,email,phone,locale,timezone,first_name,country,plan,last_seen_at,tags
                u-1,ana@example.com,+821012345678,ko-KR,Asia/Seoul,Ana,KR,pro,2026-11-20T10:00:00Z,vip;beta
                u-2,not-an-email,,en-US,America/New_York,Bob,US,free,,
                u-3,cy@example.com,12345,en-GB,Europe/London,Cy,GB,free,,
                u-4,di@example.com,,de-DE,Mars/Olympus,Di,DE,free,,
                u-5,ed@example.com,+4915123456789,de-DE,Europe/Berlin,Ed,DE,enterprise,,newsletter

                """)
            let first = try await HeraldBinary.run(["users", "import", "users.csv"], in: directory.path)
            // Some rows were rejected: the documented status 2, so that a pipeline notices.
            #expect(first.status == 2, "\(first.stderr)")
            #expect(first.stdout == "users.csv: 2 rows imported (2 new, 0 updated, 0 unchanged), 3 rejected\n")
            #expect(first.stderr.contains("users.csv:3:"))
            #expect(first.stderr.contains("users.csv:4:"))
            #expect(first.stderr.contains("users.csv:5:"))
            let second = try await HeraldBinary.run(["users", "import", "users.csv"], in: directory.path)
            #expect(second.stdout == "users.csv: 2 rows imported (0 new, 0 updated, 2 unchanged), 3 rejected\n")

            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            #expect(try await store.rows(sql: "SELECT id, first_name FROM users ORDER BY id") == [["u-1", "Ana"], ["u-5", "Ed"]])
        }
    }

    @Test func sendExplainsAnUnknownCampaignAndAMissingNow() async throws {
        try await withSampleWorkspace { directory in
            let unknown = try await HeraldBinary.run(["send", "winter-sail", "--now"], in: directory.path)
            #expect(unknown.status == 1)
            #expect(unknown.stderr.contains("unknown campaign 'winter-sail' (did you mean 'winter-sale'?)"))
            let notNow = try await HeraldBinary.run(["send", "winter-sale"], in: directory.path)
            #expect(notNow.status != 0)
            #expect(notNow.stderr.contains("add --now"))
        }
    }

    @Test func sendToNamedUsersDeliversOnlyToThem() async throws {
        try await withSampleWorkspace { directory in
            let generate = try await HeraldBinary.run(["users", "generate", "--count", "50", "--seed", "7"], in: directory.path)
            #expect(generate.status == 0, "\(generate.stderr)")
            let send = try await HeraldBinary.run(["send", "order-shipped", "--now", "--user", "u-000001", "--user", "u-000002"], in: directory.path)
            #expect(send.status == 0, "\(send.stderr)")
            #expect(send.stdout.hasPrefix("order-shipped: 2 recipients"))
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema())
            let users = try await store.rows(sql: "SELECT DISTINCT user_id FROM notifications ORDER BY user_id")
            #expect(users == [["u-000001"], ["u-000002"]])

            let unknown = try await HeraldBinary.run(["send", "order-shipped", "--now", "--user", "u-000003", "--user", "nobody"], in: directory.path)
            #expect(unknown.status == 1)
            #expect(unknown.stderr.contains("no user with id 'nobody'; nothing was sent"))
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM occurrences") == [["1"]])

            // A triggered campaign goes to named users; its whole audience needs --all.
            let whole = try await HeraldBinary.run(["send", "order-shipped", "--now", "--plan-only"], in: directory.path)
            #expect(whole.status == 1)
            #expect(whole.stderr.contains("order-shipped is sent when the event 'order_shipped' happens, to the user it happened to; name the recipients with --user ID"), "\(whole.stderr)")
            #expect(whole.stderr.contains("or add --all to send it to its whole audience (50 users)"), "\(whole.stderr)")
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM occurrences") == [["1"]])

            // A held campaign-wide send is not taken over by a send to one user, whose message is its own.
            #expect(try await HeraldBinary.run(["send", "order-shipped", "--now", "--all", "--plan-only"], in: directory.path).status == 0)
            let one = try await HeraldBinary.run(["send", "order-shipped", "--now", "--user", "u-000001"], in: directory.path)
            #expect(!one.stdout.contains("finishing the send"), "\(one.stdout)")
            #expect(one.stdout.hasPrefix("order-shipped: 1 recipient, "), "\(one.stdout)")
        }
    }
}

@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct AudienceCommandTests {
    @Test func countsSamplesExportsAndChecksOneUserWithOneMeaning() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            #expect(try await HeraldBinary.run(["users", "generate", "--count", "400", "--seed", "3"], in: directory.path).status == 0)
            let expression = #"country == "KR" or "vip" in tags"#

            let json = try await HeraldBinary.run(["audience", expression, "--format", "json", "--explain"], in: directory.path)
            #expect(json.status == 0, "\(json.stderr)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            let count = try #require(object["count"] as? Int)
            #expect(count > 0 && count < 400)
            #expect((object["sql"] as? String)?.contains("THEN json_extract(users.attributes, '$.country') END = ?") == true)
            #expect((object["sample"] as? [String])?.count == 10)

            let ids = try await HeraldBinary.run(["audience", expression, "--ids"], in: directory.path)
            let exported = ids.stdout.split(separator: "\n").map(String.init)
            #expect(exported.count == count)
            #expect(exported == exported.sorted())

            // The in-memory check agrees with SQL for a user inside and one outside the audience.
            let inside = try #require(exported.first)
            let all = (1...400).map { String(format: "u-%06d", $0) }
            let outside = try #require(all.first { !exported.contains($0) })
            let yes = try await HeraldBinary.run(["audience", expression, "--user", inside], in: directory.path)
            #expect(yes.stdout.hasPrefix("\(inside) matches expression"), "\(yes.stdout)\(yes.stderr)")
            let no = try await HeraldBinary.run(["audience", expression, "--user", outside], in: directory.path)
            #expect(no.stdout.hasPrefix("\(outside) does not match expression"), "\(no.stdout)\(no.stderr)")

            let typo = try await HeraldBinary.run(["audience", #"contry == "KR""#], in: directory.path)
            #expect(typo.status == 1)
            #expect(typo.stderr.contains("<expression>:1:1: unknown attribute 'contry' (did you mean 'country'?)"))
        }
    }
}
