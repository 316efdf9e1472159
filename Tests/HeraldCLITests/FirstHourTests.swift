import Foundation
import HeraldCore
import HeraldStore
import HeraldTesting
import Testing

/// What a new user meets in the first hour: reading commands that never create or lock a
/// database, a bad file that blocks only what depends on it, imports that say what they did.
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct FirstHourTests {
    @Test func readingCommandsNeverCreateADatabaseAndSayHowToMakeOne() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            let typo = try await HeraldBinary.run(["report", "--database", "typo.db"], in: directory.path)
            #expect(typo.status == 1)
            #expect(typo.stderr.contains("no database at 'typo.db'; create one with `herald users import FILE` or `herald users generate --count N`, or name the right file with --database"), "\(typo.stderr)")
            #expect(!FileManager.default.fileExists(atPath: directory.file("typo.db")))

            let audience = try await HeraldBinary.run(["audience", "winter-sale"], in: directory.path)
            #expect(audience.status == 1)
            #expect(audience.stderr.contains("no database at '"), "\(audience.stderr)")
            #expect(!FileManager.default.fileExists(atPath: directory.file("herald.db")))

            // After the demo, plain `report` points at the demo's database.
            #expect(try await HeraldBinary.run(["demo", "--users", "30"], in: directory.path).status == 0)
            let plain = try await HeraldBinary.run(["report"], in: directory.path)
            #expect(plain.status == 1)
            #expect(plain.stderr.contains("(`herald demo` wrote its users and sends to herald-demo.db: add --database herald-demo.db to read them)"), "\(plain.stderr)")
            #expect(!FileManager.default.fileExists(atPath: directory.file("herald.db")))

            let nope = try await HeraldBinary.run(["report", "--database", "herald-demo.db", "--campaign", "winter-sal"], in: directory.path)
            #expect(nope.status == 1)
            #expect(nope.stderr.contains("no campaign 'winter-sal' in the store (did you mean 'winter-sale'?)"), "\(nope.stderr)")
        }
    }

    @Test func theReportNeedsNoWorkspaceAndABadCampaignBlocksOnlyItself() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            #expect(try await HeraldBinary.run(["users", "generate", "--count", "100", "--seed", "3"], in: directory.path).status == 0)
            try directory.write("campaigns/broken.yml", "campaign: broken\nchannels: [email]\ntemplate: winter-sale\nexpires_after: 12 hours\n")

            // The other campaigns still send, and the problem is printed.
            let send = try await HeraldBinary.run(["send", "winter-sale", "--now"], in: directory.path)
            #expect(send.status == 0, "\(send.stderr)")
            #expect(send.stderr.contains("campaigns/broken.yml:4:16: "), "\(send.stderr)")
            #expect(send.stderr.contains("left out until fixed: broken (campaigns/broken.yml has errors)"), "\(send.stderr)")
            let broken = try await HeraldBinary.run(["send", "broken", "--now"], in: directory.path)
            #expect(broken.status == 1)
            #expect(broken.stderr.contains("campaign 'broken' cannot be used until it is fixed: campaigns/broken.yml has errors"), "\(broken.stderr)")
            let audience = try await HeraldBinary.run(["audience", "winter-sale", "--sample", "0"], in: directory.path)
            #expect(audience.status == 0, "\(audience.stderr)")

            // The report reads the store alone: from another directory, without any herald.yml.
            let elsewhere = try TemporaryDirectory()
            defer { elsewhere.remove() }
            let report = try await HeraldBinary.run(["report", "--database", directory.file("herald.db"), "--format", "csv"], in: elsewhere.path)
            #expect(report.status == 0, "\(report.stderr)")
            #expect(report.stdout.contains("winter-sale"), "\(report.stdout)")
            let none = try await HeraldBinary.run(["report"], in: elsewhere.path)
            #expect(none.status == 1)
            #expect(none.stderr.contains("no database to read: name it with --database FILE"), "\(none.stderr)")
        }
    }

    @Test func validateTakesWorkspaceLikeEveryOtherCommand() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "shop"], in: directory.path).status == 0)
            let option = try await HeraldBinary.run(["validate", "--workspace", "shop"], in: directory.path)
            #expect(option.status == 0, "\(option.stderr)")
            #expect(option.stdout.hasSuffix("shop: workspace is valid\n"), "\(option.stdout)")
            let short = try await HeraldBinary.run(["validate", "-w", "shop", "--format", "json"], in: directory.path)
            #expect(short.status == 0 && short.stdout.contains("\"valid\" : true"), "\(short.stdout)")
            let both = try await HeraldBinary.run(["validate", "elsewhere", "--workspace", "shop"], in: directory.path)
            #expect(both.status == 64)
            #expect(both.stderr.contains("give the workspace once: 'elsewhere' or --workspace 'shop'"), "\(both.stderr)")
        }
    }

    @Test func anImportSaysWhatItRejectedAndExitsTwo() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            try directory.write("d.csv", "id,email\ndup,a@example.com\ndup,b@example.com\n")
            for round in 1...3 {
                let run = try await HeraldBinary.run(["users", "import", "d.csv"], in: directory.path)
                #expect(run.status == 2, "round \(round)")
                #expect(run.stderr == "d.csv:3:1: duplicate id 'dup', first on line 2 (the row of line 2 is kept; give each user one row)\n")
                #expect(run.stdout == "d.csv: 1 row imported (\(round == 1 ? "1 new, 0 updated, 0 unchanged" : "0 new, 0 updated, 1 unchanged")), 1 rejected\n")
            }
            try directory.write("p.jsonl", #"{"id":"u-1","preferences":{"emial":false}}"# + "\n" + #"{"id":"u-2","preferences":{"email":false}}"# + "\n")
            let typo = try await HeraldBinary.run(["users", "import", "p.jsonl"], in: directory.path)
            #expect(typo.status == 2)
            #expect(typo.stderr == "p.jsonl:1:28: unknown preference 'emial' (did you mean 'email'?)\n")
            try directory.write("ok.csv", "id\nu-9\n")
            #expect(try await HeraldBinary.run(["users", "import", "ok.csv"], in: directory.path).status == 0)
            let missing = try await HeraldBinary.run(["users", "import", "nope.csv"], in: directory.path)
            #expect(missing.status == 1)
            for size in ["0", "-1"] {
                let bad = try await HeraldBinary.run(["users", "import", "ok.csv", "--batch-size=\(size)"], in: directory.path)
                #expect(bad.status == 64)
                #expect(bad.stderr.contains("--batch-size must be between 1 and 100000, got \(size)"), "\(bad.stderr)")
            }
        }
    }

    @Test func generatedUsersAreTheSameForTheSameSeedAndDay() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            let first = try await HeraldBinary.run(["users", "generate", "--count", "300", "--seed", "7"], in: directory.path)
            #expect(first.stdout == "generated 300 users (seed 7): 300 inserted, 0 updated, 0 unchanged\n")
            let second = try await HeraldBinary.run(["users", "generate", "--count", "300", "--seed", "7"], in: directory.path)
            #expect(second.stdout == "generated 300 users (seed 7): 0 inserted, 0 updated, 300 unchanged\n")
            let pinned = ["users", "generate", "--count", "50", "--seed", "7", "--now", "2026-12-01T00:00:00Z", "--output", "-"]
            let a = try await HeraldBinary.run(pinned, in: directory.path)
            let b = try await HeraldBinary.run(pinned, in: directory.path)
            #expect(a.status == 0 && !a.stdout.isEmpty && a.stdout == b.stdout)
            #expect(a.stdout.contains("\"created_at\":\"202"))
            let later = try await HeraldBinary.run(pinned.map { $0 == "2026-12-01T00:00:00Z" ? "2027-01-01T00:00:00Z" : $0 }, in: directory.path)
            #expect(later.stdout != a.stdout)
        }
    }
}
