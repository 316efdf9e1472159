import Foundation
import HeraldCore
import HeraldSandbox
import HeraldStore
import HeraldTesting
import Testing

/// What an operator sees and does with `herald queue`, `herald trace` and `herald dead-letter`,
/// running the real binary on a workspace whose emails died for real: the providers point at a
/// port nobody listens on, with one attempt each.
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct OperatorCommandTests {
    /// A workspace where ana's and bo's winter-sale emails are dead (push has no provider in
    /// `channels:`: skipped).
    func withDeadEmails(_ body: (TemporaryDirectory) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            try removeLimits(fromWorkspace: directory.path)
            try await Self.makeDeadEmails(in: directory)
            try await body(directory)
        }
    }

    /// Kills ana's and bo's winter-sale emails in a sample workspace, in the store herald.yml
    /// names (`environment` holds what its `${…}` need): one attempt each, to providers at a port
    /// nobody listens on. Ana's push is skipped: push has no provider in `channels:`.
    static func makeDeadEmails(in directory: TemporaryDirectory, environment: [String: String] = [:]) async throws {
        try rewrite(directory.file("herald.yml"), [
            ("retry: {max_attempts: 8,", "retry: {max_attempts: 1,"),
            ("http://127.0.0.1:4010/", "http://127.0.0.1:1/"),
            ("  push: {apns: apns, fcm: fcm, webpush: webpush, jpush: jpush, pushy: pushy}   # a provider per push service\n", ""),
        ])
        let recent = ISO8601.string(from: Date().addingTimeInterval(-86_400))
        try directory.write("users.jsonl", [
            #"{"id":"ana","email":"ana@example.com","first_name":"Ana","attributes":{"plan":"pro","last_seen_at":"\#(recent)"},"devices":[{"platform":"ios","token":"a1b2c3d4e5f6a7b8c9d0"}]}"#,
            #"{"id":"bo","email":"bo@example.com","first_name":"Bo","attributes":{"plan":"free","last_seen_at":"\#(recent)"}}"#,
        ].joined(separator: "\n") + "\n")
        let imported = try await HeraldBinary.run(["users", "import", "users.jsonl"], in: directory.path, environment: environment)
        #expect(imported.status == 0, "\(imported.stderr)")
        let send = try await HeraldBinary.run(["send", "winter-sale", "--now"], in: directory.path, environment: environment)
        #expect(send.stdout.contains("winter-sale: 2 recipients"), "\(send.stdout)\n\(send.stderr)")
    }

    /// What `herald queue` prints after ``makeDeadEmails(in:environment:)``: a row of two dead
    /// sendgrid emails, and nothing queued.
    static func expectQueueOfDeadEmails(_ stdout: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let lines = stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("queue at ") == true, "\(stdout)", sourceLocation: sourceLocation)
        #expect(
            lines.dropFirst().first == "channel  provider  queued  due  in_flight  retrying  dead  oldest_due  sent/s  breaker", "\(stdout)",
            sourceLocation: sourceLocation
        )
        #expect(lines.dropFirst(2).first == "email    sendgrid       0    0          0         0     2           -       0  closed", "\(stdout)", sourceLocation: sourceLocation)
        #expect(lines.dropLast().last == "nothing queued; 2 dead notifications (`herald dead-letter list`)", "\(stdout)", sourceLocation: sourceLocation)
        #expect(lines.last == "no delivery workers alive", "\(stdout)", sourceLocation: sourceLocation)
    }

    static func rewrite(_ path: String, _ replacements: [(String, String)]) throws {
        var text = try String(contentsOfFile: path, encoding: .utf8)
        for (old, new) in replacements {
            #expect(text.contains(old), "\(old) is not in \(path)")
            text = text.replacingOccurrences(of: old, with: new)
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func notificationID(_ directory: TemporaryDirectory, user: String, channel: String) async throws -> String {
        let store = try SQLiteStore(path: directory.file("herald.db"), schema: AttributeSchema(), configuration: .init(access: .readOnly))
        return try #require(try await store.rows(sql: "SELECT id FROM notifications WHERE user_id = ? AND channel = ?", arguments: [user, channel]).first?.first)
    }

    @Test func queueShowsDeadLettersAndANothingQueuedLineInTableAndJSON() async throws {
        try await withDeadEmails { directory in
            let table = try await HeraldBinary.run(["queue"], in: directory.path)
            #expect(table.status == 0, "\(table.stderr)")
            Self.expectQueueOfDeadEmails(table.stdout)

            let json = try await HeraldBinary.run(["queue", "--format", "json"], in: directory.path)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            #expect(object["totals"] as? [String: Int] == ["queued": 0, "due_now": 0, "in_flight": 0, "retrying": 0, "dead": 2, "sent_last_minute": 0])
            let row = try #require((object["rows"] as? [[String: Any]])?.first)
            #expect(row["channel"] as? String == "email" && row["provider"] as? String == "sendgrid" && row["breaker"] as? String == "closed")
            #expect(row["oldest_due_age_seconds"] is NSNull && row["paused_reason"] is NSNull)
            #expect(json.stdout.hasPrefix(#"{"at":""#), "\(json.stdout)")

            // --watch without a terminal: a block per tick, separated by a blank line, no escapes.
            let watching = try HeraldBinary.start(["queue", "--watch", "--interval", "0.2"], in: directory.path)
            try await Task.sleep(for: .seconds(3))
            watching.process.interrupt()
            let watched = await HeraldBinary.finish(watching)
            let blocks = watched.stdout.components(separatedBy: "\n\nqueue at ")
            #expect(blocks.count >= 2, "\(watched.stdout)")
            #expect(!watched.stdout.contains("\u{1B}"))

            let bad = try await HeraldBinary.run(["queue", "--interval", "5"], in: directory.path)
            #expect(bad.status == 64 && bad.stderr.contains("--interval sets how often --watch redraws; add --watch"), "\(bad.stderr)")
        }
    }

    @Test func traceShowsTheHeaderAndEveryEventWithTheTimeBetween() async throws {
        try await withDeadEmails { directory in
            let id = try await notificationID(directory, user: "ana", channel: "email")
            let trace = try await HeraldBinary.run(["trace", id], in: directory.path)
            #expect(trace.status == 0, "\(trace.stderr)")
            let lines = trace.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "notification \(id)")
            #expect(lines.contains("  user      ana") && lines.contains("  channel   email") && lines.contains("  provider  sendgrid"), "\(trace.stdout)")
            #expect(lines.contains("  address   an***@example.com"), "\(trace.stdout)")
            #expect(lines.contains { $0.hasPrefix("  state     dead (gave up after 1 attempts") }, "\(trace.stdout)")
            #expect(lines.contains("  attempts  1") && lines.contains { $0.hasPrefix("  expires   20") }, "\(trace.stdout)")
            #expect(lines.contains("  events (4):"), "\(trace.stdout)")
            let events = lines.filter { $0.hasPrefix("    ") }.map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
            // Time, the time since the previous event (none for the first), type, then reason and detail.
            // SendGrid could not be reached, and the sample's email order goes on to Mandrill.
            #expect(events.map { $0[$0[1].hasPrefix("+") ? 2 : 1] } == ["planned", "sending", "failed_over", "dead"], "\(trace.stdout)")
            #expect(lines.contains { $0.contains("failed_over  sendgrid: could not reach the provider") }, "\(trace.stdout)")
            #expect(events.allSatisfy { ISO8601.date(from: $0[0]) != nil }, "\(trace.stdout)")
            #expect(events.dropFirst().allSatisfy { $0[1].hasPrefix("+") && $0[1].hasSuffix("s") }, "\(trace.stdout)")
            #expect(events.last?.dropFirst(3).joined(separator: " ").hasPrefix("reason: gave up after 1 attempts") == true, "\(trace.stdout)")
            #expect(trace.stdout.contains("attempt 1"), "\(trace.stdout)")
            #expect(try await HeraldBinary.run(["trace", id, "--full-address"], in: directory.path).stdout.contains("  address   ana@example.com\n"))

            // By user and campaign: the push, skipped without a provider, and the email.
            let both = try await HeraldBinary.run(["trace", "--user", "ana", "--campaign", "winter-sale"], in: directory.path)
            #expect(both.status == 0, "\(both.stderr)")
            #expect(both.stdout.components(separatedBy: "\nnotification ").count == 2, "\(both.stdout)")
            #expect(both.stdout.contains("  state     skipped (no_provider)"), "\(both.stdout)")
            #expect(both.stdout.contains("  channel   push\n  provider  -\n  address   -\n"), "\(both.stdout)")

            let unknown = try await HeraldBinary.run(["trace", "987654"], in: directory.path)
            #expect(unknown.status == 1 && unknown.stderr.contains("no notification 987654 in the store"), "\(unknown.stderr)")
            let word = try await HeraldBinary.run(["trace", "ana"], in: directory.path)
            #expect(word.status == 64 && word.stderr.contains("'ana' is not a notification id"), "\(word.stderr)")
            let nobody = try await HeraldBinary.run(["trace", "--user", "cy", "--campaign", "winter-sale"], in: directory.path)
            #expect(nobody.status == 1 && nobody.stderr.contains("no notification of campaign 'winter-sale' for user 'cy' in the store"), "\(nobody.stderr)")
            let half = try await HeraldBinary.run(["trace", "--user", "ana"], in: directory.path)
            #expect(half.status == 64 && half.stderr.contains("--user and --campaign go together"), "\(half.stderr)")
        }
    }

    @Test func deadLettersAreListedRetriedThenSentAndDiscarded() async throws {
        try await withDeadEmails { directory in
            let ana = try await notificationID(directory, user: "ana", channel: "email")
            let bo = try await notificationID(directory, user: "bo", channel: "email")
            let anaPush = try await notificationID(directory, user: "ana", channel: "push")

            let list = try await HeraldBinary.run(["dead-letter", "list"], in: directory.path)
            #expect(list.status == 0, "\(list.stderr)")
            let rows = list.stdout.split(separator: "\n").map(String.init)
            #expect(rows.first?.hasPrefix("id  campaign     user  channel  provider  attempts  dead_at") == true, "\(list.stdout)")
            #expect(rows.dropFirst().first?.contains("winter-sale  ana   email    sendgrid         1") == true, "\(list.stdout)")
            #expect(rows.last == "2 dead notifications", "\(list.stdout)")
            let limited = try await HeraldBinary.run(["dead-letter", "list", "--limit", "1", "--format", "json"], in: directory.path)
            let page = try #require(try JSONSerialization.jsonObject(with: Data(limited.stdout.utf8)) as? [String: Any])
            #expect(page["total"] as? Int == 2 && (page["notifications"] as? [[String: Any]])?.map { $0["user"] as? String } == ["ana"])
            #expect(try await HeraldBinary.run(["dead-letter", "list", "--channel", "sms"], in: directory.path).stdout == "no dead notifications match\n")

            // Bad input changes nothing.
            let neither = try await HeraldBinary.run(["dead-letter", "retry"], in: directory.path)
            #expect(neither.status == 64 && neither.stderr.contains("name the dead notifications: give their ids"), "\(neither.stderr)")
            let word = try await HeraldBinary.run(["dead-letter", "retry", ana, "x1"], in: directory.path)
            #expect(word.status == 64 && word.stderr.contains("'x1' is not a notification id"), "\(word.stderr)")
            let unknown = try await HeraldBinary.run(["dead-letter", "retry", ana, "987654"], in: directory.path)
            #expect(unknown.status == 1 && unknown.stderr.contains("no notification 987654 in the store; nothing was changed"), "\(unknown.stderr)")
            let campaign = try await HeraldBinary.run(["dead-letter", "discard", "--all", "--campaign", "winter-sal"], in: directory.path)
            #expect(campaign.status == 1 && campaign.stderr.contains("no campaign 'winter-sal' in the store"), "\(campaign.stderr)")
            #expect(try await HeraldBinary.run(["dead-letter", "list"], in: directory.path).stdout.hasSuffix("\n2 dead notifications\n"))

            let retry = try await HeraldBinary.run(["dead-letter", "retry", ana, anaPush], in: directory.path)
            #expect(retry.status == 0, "\(retry.stderr)")
            #expect(retry.stdout == """
                notification \(anaPush) is skipped, not dead; left as it is
                requeued 1 dead notification; `herald deliver` or a running worker sends them

                """, "\(retry.stdout)")
            let queued = try await HeraldBinary.run(["queue"], in: directory.path)
            #expect(queued.stdout.contains("email    sendgrid       1    1          0         0     1"), "\(queued.stdout)")

            // The provider works again: the requeued email goes out with a fresh first attempt.
            try Self.rewrite(directory.file("herald.yml"), [("http://127.0.0.1:1/", "http://127.0.0.1:4010/")])
            try await withSandbox(workspace: directory.path) { sandbox in
                let deliver = try await HeraldBinary.run(["deliver"], in: directory.path)
                #expect(deliver.status == 0, "\(deliver.stderr)")
                #expect(sandbox.log.messages.compactMap(\.notificationID) == [ana])
            }
            let trace = try await HeraldBinary.run(["trace", ana], in: directory.path)
            #expect(trace.stdout.contains("  state       sent\n") && trace.stdout.contains("  message id  "), "\(trace.stdout)")
            #expect(trace.stdout.contains("requeued") && trace.stdout.contains("dead-letter retry by operator"), "\(trace.stdout)")
            #expect(trace.stdout.components(separatedBy: "attempt 1").count == 3, "\(trace.stdout)")

            let discard = try await HeraldBinary.run(["dead-letter", "discard", "--all", "--campaign", "winter-sale"], in: directory.path)
            #expect(discard.stdout == "discarded 1 dead notification; they are failed with reason `discarded`; their trail is kept\n", "\(discard.stdout)")
            let again = try await HeraldBinary.run(["dead-letter", "discard", bo], in: directory.path)
            #expect(again.stdout == "notification \(bo) is failed, not dead; left as it is\nnothing discarded\n", "\(again.stdout)")
            #expect(try await HeraldBinary.run(["dead-letter", "list"], in: directory.path).stdout == "no dead notifications\n")
            let empty = try await HeraldBinary.run(["queue"], in: directory.path)
            #expect(empty.stdout.contains("\nemail    sendgrid       0    0          0         0     0           -"), "\(empty.stdout)")
            #expect(empty.stdout.hasSuffix("  closed\nnothing queued\nno delivery workers alive\n"), "\(empty.stdout)")
        }
    }
}
