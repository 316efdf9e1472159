import Foundation
import HeraldCore
import HeraldSandbox
import HeraldStore
import HeraldTesting
import Testing

/// What a marketer uses to look before and after sending: preview, audience, report.
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct InspectionTests {
    /// A workspace with three known users.
    func withUsers(_ body: (TemporaryDirectory) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            // What these tests check goes out at once, whatever the hour: no quiet hours.
            try removeLimits(fromWorkspace: directory.path)
            let recent = ISO8601.string(from: Date().addingTimeInterval(-86_400))
            try directory.write("users.jsonl", [
                #"{"id":"ana","email":"ana@example.com","phone":"+821012345678","locale":"en-US","first_name":"Ana","attributes":{"plan":"pro","last_seen_at":"\#(recent)"},"devices":[{"platform":"ios","token":"a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0abcd"}]}"#,
                #"{"id":"bo","email":"bo@example.com","first_name":"Bo","attributes":{"plan":"enterprise","last_seen_at":"\#(recent)"}}"#,
                #"{"id":"cy","email":"cy@example.com","first_name":"Cy","attributes":{"plan":"free","last_seen_at":"\#(recent)"},"preferences":{"email":false}}"#,
            ].joined(separator: "\n") + "\n")
            let imported = try await HeraldBinary.run(["users", "import", "users.jsonl"], in: directory.path)
            #expect(imported.status == 0, "\(imported.stderr)")
            try await body(directory)
        }
    }

    @Test func previewShowsWhatOneUserWouldGetAndWritesNothing() async throws {
        try await withUsers { directory in
            let before = try Data(contentsOf: URL(fileURLWithPath: directory.file("herald.db")))
            // Ana's iPhone gets the push through APNs; first_available then needs no email.
            let push = try await HeraldBinary.run(["preview", "winter-sale", "--user", "ana"], in: directory.path)
            #expect(push.status == 0, "\(push.stderr)")
            #expect(push.stdout.contains("""
                push to a1b2c3d4…abcd via apns (base (en)):
                  title: Winter sale: 30% off
                  body:  Ana, everything is 30% off until December 7.
                """), "\(push.stdout)")
            #expect(push.stdout.contains("email: not sent: not_needed"), "\(push.stdout)")
            let asEmail = try await HeraldBinary.run(["preview", "winter-sale", "--user", "ana", "--channel", "email"], in: directory.path)
            #expect(asEmail.stdout.contains("""
                email via sendgrid to ana@example.com (base (en)):
                  subject: Ana, our winter sale is on: 30% off
                """), "\(asEmail.stdout)")

            let html = directory.file("bo.html")
            let email = try await HeraldBinary.run(["preview", "winter-sale", "--user", "bo", "--html", html], in: directory.path)
            #expect(email.status == 0, "\(email.stderr)")
            #expect(email.stdout.contains("note: not in the audience (plan in [\"free\", \"pro\"]): a send reaches them only with --user"), "\(email.stdout)")
            #expect(email.stdout.contains("email via sendgrid to bo@example.com (base (en)):\n  subject: Bo, our winter sale is on: 30% off"), "\(email.stdout)")
            #expect(try String(contentsOfFile: html, encoding: .utf8).contains("Hello Bo"))

            let sms = try await HeraldBinary.run(["preview", "order-shipped", "--user", "ana", "--param", "order_id=Z-9"], in: directory.path)
            #expect(sms.stdout.contains("""
                sms via twilio to +821012345678 (base (en)):
                  Shop: order Z-9 has shipped. Track it: https://shop.example.com/orders
                  (70 characters, 1 segment, GSM-7)
                """), "\(sms.stdout)")
            let optedOut = try await HeraldBinary.run(["preview", "winter-sale", "--user", "cy", "--channel", "email"], in: directory.path)
            #expect(optedOut.stdout.contains("email: not sent: opted_out"), "\(optedOut.stdout)")

            #expect(try Data(contentsOf: URL(fileURLWithPath: directory.file("herald.db"))) == before)
            let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema(), configuration: .init(access: .readOnly))
            #expect(try await store.rows(sql: "SELECT COUNT(*) FROM notifications") == [["0"]])
        }
    }

    @Test func schedulePreviewPrintsInstantsAScriptCanRead() async throws {
        try await withTemporaryDirectory { directory in
            let cron = try await HeraldBinary.run(
                ["schedule", "preview", "--cron", "0 3 * * *", "--timezone", "America/New_York", "--from", "2026-03-06T12:00:00Z", "--count", "3"],
                in: directory.path
            )
            #expect(cron.status == 0, "\(cron.stderr)")
            #expect(cron.stdout == "2026-03-07T03:00:00-05:00\n2026-03-08T03:00:00-04:00\n2026-03-09T03:00:00-04:00\n")
            let bad = try await HeraldBinary.run(["schedule", "preview", "--cron", "0 9 * *", "--timezone", "UTC"], in: directory.path)
            #expect(bad.status == 64)
            #expect(bad.stderr.contains("--cron '0 9 * *': a cron expression has 5 fields"), "\(bad.stderr)")
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            let digest = try await HeraldBinary.run(["schedule", "preview", "weekly-digest", "--from", "2026-12-01T00:00:00Z", "--count", "2"], in: directory.path)
            #expect(digest.stdout.hasSuffix("  2026-12-07T09:00:00+00:00\n  2026-12-14T09:00:00+00:00\n"), "\(digest.stdout)")
        }
    }

    @Test func audienceSaysWhichTermKeepsAUserOutAndSuggestsNames() async throws {
        try await withUsers { directory in
            let out = try await HeraldBinary.run(["audience", "winter-sale", "--user", "bo"], in: directory.path)
            #expect(out.stdout.hasPrefix("bo does not match campaign winter-sale\nbecause this term does not hold:\n  plan in [\"free\", \"pro\"]\n"), "\(out.stdout)")
            let json = try await HeraldBinary.run(["audience", "winter-sale", "--user", "bo", "--format", "json"], in: directory.path)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            let clauses = try #require(object["clauses"] as? [[String: Any]])
            #expect(clauses.map { $0["holds"] as? Bool } == [true, false])
            #expect(clauses.map { $0["text"] as? String } == ["last_seen_at > now() - 60d", #"plan in ["free", "pro"]"#])

            let typo = try await HeraldBinary.run(["audience", "winter-sal"], in: directory.path)
            #expect(typo.status == 1)
            #expect(typo.stderr.contains("no campaign or segment 'winter-sal' (did you mean 'winter-sale'?)"), "\(typo.stderr)")
            let unquoted = try await HeraldBinary.run(["audience", "country == KR"], in: directory.path)
            #expect(unquoted.status == 1)
            #expect(unquoted.stderr.contains(#"unknown attribute 'KR' (to compare with the text KR, quote it: "KR")"#), "\(unquoted.stderr)")
            let explain = try await HeraldBinary.run(["audience", "last_seen_at > 2026-01-01", "--explain", "--sample", "0"], in: directory.path)
            #expect(explain.stdout.contains("-- 2026-01-01T00:00:00Z"), "\(explain.stdout)")
        }
    }

    @Test func sendAndDeliverSayExactlyWhatTheyDid() async throws {
        try await withUsers { directory in
            try await withSandbox(workspace: directory.path) { sandbox async throws in
                // Ana: push planned for her iPhone (APNs over HTTP/2 to the sandbox), email not
                // needed; Bo: not in the audience; Cy: no device, email opted out.
                let send = try await HeraldBinary.run(["send", "winter-sale", "--now", "--plan-only"], in: directory.path)
                #expect(send.status == 0, "\(send.stderr)")
                #expect(send.stdout == "winter-sale: 2 recipients, 1 notification planned, 3 skipped\n")
                var deliver = try await HeraldBinary.run(["deliver"], in: directory.path)
                #expect(deliver.status == 0, "\(deliver.stderr)")
                // On a loaded machine the first TLS connection to APNs can time out: then the push
                // is retried (2 s at most, with jitter), never lost and never sent twice.
                var waited = 0
                while deliver.stdout.contains("1 to retry"), waited < 10 {
                    try await Task.sleep(for: .seconds(3))
                    waited += 1
                    deliver = try await HeraldBinary.run(["deliver"], in: directory.path)
                }
                #expect(deliver.stdout == "delivered:\n  push outbox: 1 sent, 0 failed, 0 to retry, 0 skipped at send time\n", "\(deliver.stdout)\n\(deliver.stderr)")
                #expect(sandbox.log.messages.filter { $0.provider == .apns }.map(\.to) == ["a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0abcd"])
                let nothing = try await HeraldBinary.run(["deliver"], in: directory.path)
                #expect(nothing.stdout == "nothing was due\n")
                let sms = try await HeraldBinary.run(["send", "order-shipped", "--now", "--user", "ana", "--user", "bo"], in: directory.path)
                // first_available [sms, push]: Ana by SMS (push not needed); Bo has neither phone nor device.
                #expect(sms.stdout == """
                    order-shipped: 2 recipients, 1 notification planned, 3 skipped
                      sms outbox: 1 sent, 0 failed, 0 to retry, 0 skipped at send time

                    """, "\(sms.stdout)")
            }
        }
    }

    @Test func theReportHasTheSameFieldsInEveryFormatARowPerSendAndTheRecipients() async throws {
        try await withUsers { directory in
            try await withSandbox(workspace: directory.path) { _ async throws in
                #expect(try await HeraldBinary.run(["send", "order-shipped", "--now", "--all"], in: directory.path).status == 0)
                #expect(try await HeraldBinary.run(["send", "order-shipped", "--now", "--all", "--again"], in: directory.path).status == 0)
            }

            let json = try await HeraldBinary.run(["report", "--format", "json"], in: directory.path)
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
            // Two sends and their total, on each of the two channels.
            #expect(rows.count == 6)
            let keys = Set(rows.first!.keys)
            #expect(rows.allSatisfy { Set($0.keys) == keys })
            #expect(keys.isSuperset(of: ["campaign", "send", "channel", "unit", "recipients", "targeted", "skipped", "sent", "send_rate"]))
            let skipped = try #require(rows.first?["skipped"] as? [String: Int])
            #expect(Set(skipped.keys) == Set(SkipReason.allCases.map(\.rawValue)))
            let totals = rows.filter { $0["send"] as? String == "all" }
            #expect(totals.count == 2)
            // Ana gets the SMS each time (push not needed); Bo and Cy have neither phone nor device.
            let smsTotal = try #require(totals.first { $0["channel"] as? String == "sms" })
            #expect(smsTotal["unit"] as? String == "recipient" && smsTotal["recipients"] as? Int == 3 && smsTotal["targeted"] as? Int == 6)
            #expect(smsTotal["sent"] as? Int == 2 && (smsTotal["skipped"] as? [String: Int])?["no_address"] == 4)
            #expect(smsTotal["send_rate"] as? Double == 1)
            let pushTotal = try #require(totals.first { $0["channel"] as? String == "push" })
            #expect(pushTotal["unit"] as? String == "device" && pushTotal["recipients"] as? Int == 3)
            #expect((pushTotal["skipped"] as? [String: Int])?["not_needed"] == 2 && (pushTotal["skipped"] as? [String: Int])?["no_address"] == 4)
            #expect(pushTotal["send_rate"] is NSNull)

            let csv = try await HeraldBinary.run(["report", "--format", "csv"], in: directory.path)
            let lines = csv.stdout.split(separator: "\n").map(String.init)
            let reasons: String = SkipReason.allCases.map { "skipped_\($0.rawValue)" }.joined(separator: ",")
            let header: String = "campaign,send,occurrence,channel,unit,recipients,targeted,skipped_total," + reasons
                + ",pending,sent,delivered,failed,dead,send_rate,failure_rate"
                + ",bounced,opened,machine_opened,clicked,unsubscribed,complained,delivery_rate,open_rate,click_rate"
            #expect(lines.first == header)
            #expect(lines.count == 7)
            #expect(lines.contains { $0.hasPrefix("order-shipped,all,,sms,recipient,3,6,4,4,") && $0.hasSuffix(",0,2,0,0,0,1,0,0,0,0,0,0,0,0,,") }, "\(lines)")

            let narrow = try await HeraldBinary.run(["report"], in: directory.path, environment: ["COLUMNS": "60"])
            #expect(narrow.stdout.split(separator: "\n").allSatisfy { $0.count <= 60 }, "\(narrow.stdout)")
            #expect(narrow.stdout.contains("order-shipped · all · push\n  recipients"), "\(narrow.stdout)")
            let wide = try await HeraldBinary.run(["report"], in: directory.path, environment: ["COLUMNS": "400"])
            #expect(wide.stdout.hasPrefix("campaign       send"), "\(wide.stdout)")

            let skippedList = try await HeraldBinary.run(["report", "--recipients", "--reason", "no_address", "--channel", "sms", "--format", "csv"], in: directory.path)
            let listed = skippedList.stdout.split(separator: "\n").map(String.init)
            #expect(listed.first == "campaign,send,user,channel,address,state,reason,provider,updated_at")
            #expect(listed.dropFirst().map { $0.split(separator: ",")[2] }.sorted() == ["bo", "bo", "cy", "cy"])
            #expect(listed.dropFirst().allSatisfy { $0.contains(",sms,,skipped,no_address,") })
            let sentList = try await HeraldBinary.run(["report", "--recipients", "--state", "sent", "--format", "csv"], in: directory.path)
            #expect(sentList.stdout.split(separator: "\n").dropFirst().allSatisfy { $0.contains(",ana,sms,+821012345678,sent,,twilio,") }, "\(sentList.stdout)")
            let badReason = try await HeraldBinary.run(["report", "--recipients", "--reason", "optedout"], in: directory.path)
            #expect(badReason.status == 64 && badReason.stderr.contains("unknown reason 'optedout' (did you mean 'opted_out'?)"), "\(badReason.stderr)")
        }
    }
}
