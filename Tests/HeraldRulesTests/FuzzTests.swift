import Foundation
import HeraldCore
import HeraldRules
import HeraldTesting
import Testing

@Suite("Broken input never crashes")
struct FuzzTests {
    static let pieces: [String] = [
        "(", ")", "[", "]", ",", ".", ":", "+", "-", "==", "!=", "<", ">=", "<>", "=", "and", "or", "not", "in", "is",
        "null", "true", "false", "contains", "starts_with", "matches", "\"abc", "'x'", "\"", "'", "\\", "age", "tags",
        "country", "user", "attributes", "lower", "len", "now()", "today", "30d", "-5", "1e", "1.5", "1e400", "2026-11-20",
        "2026-13-40T", "2026-11-20T10:00", "2026-11-20T10:00:00+09:", "#", "é", "😀", "\n", " ", "\t", "\u{0}", "\r\n",
        "bucket(", "has_device(", "performed(", "within:", "\\u{", "\\u{110000}", "{", "}", "$", "&", "|", "!", "99999999999999999999d",
        "vip", "\"KR\"", "[1, 2]", "name matches \"(\"", "x:", "AND", "0x10", "_", "é\u{301}",
    ]

    /// Parses `text` and checks the outcome: a rule that runs both ways, or diagnostics that each
    /// point inside the expression.
    static func check(_ text: String, database: TestDatabase, users: [User]) throws -> Bool {
        let source = RuleSource(text: text, location: testLocation)
        let rule: Rule
        do {
            rule = try Rule(source, schema: testSchema)
        } catch {
            #expect(!error.diagnostics.isEmpty, "no diagnostic for \(text.debugDescription)")
            // Lines end at each U+000A, also inside "\r\n" (which Swift counts as one Character).
            let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map(\.count)
            for diagnostic in error.diagnostics {
                guard let location = diagnostic.location else {
                    Issue.record("no position for \(text.debugDescription): \(diagnostic)")
                    continue
                }
                let line = location.line - testLocation.line
                #expect(location.file == testLocation.file)
                #expect(line >= 0 && line < lines.count, "\(text.debugDescription): \(diagnostic)")
                let firstColumn = testLocation.column
                let width = line >= 0 && line < lines.count ? lines[line] : 0
                #expect(
                    location.column >= firstColumn && location.column <= firstColumn + width,
                    "\(text.debugDescription): \(diagnostic)"
                )
                #expect(!diagnostic.message.isEmpty)
            }
            return false
        }
        // What parses must also run: valid SQL, and the same answer as in memory.
        #expect(try database.select(rule.sql(in: testContext)) == evaluatedIDs(rule, users), "\(text.debugDescription)")
        return true
    }

    @Test("Random token soup gets a rule or positioned diagnostics", .tags(.slow))
    func randomSoup() throws {
        let seed = SeededRandom.runSeed()
        var random = SeededRandom(seed: seed)
        let database = try TestDatabase()
        try database.replaceUsers(semanticsUsers)
        var parsed = 0
        for _ in 0..<4000 {
            var text = ""
            for _ in 0..<(random.int(12) + 1) {
                text += random.pick(Self.pieces)
                if random.chance(0.6) { text += " " }
            }
            if try Self.check(text, database: database, users: semanticsUsers) { parsed += 1 }
        }
        #expect(parsed > 0, "seed \(seed)")
    }

    @Test("Every prefix and random edits of valid expressions get a rule or positioned diagnostics", .tags(.slow))
    func truncatedAndEdited() throws {
        let seed = SeededRandom.runSeed()
        var random = SeededRandom(seed: seed)
        var generator = ExpressionGenerator(random: SeededRandom(seed: random.next()), now: testNow)
        let database = try TestDatabase()
        try database.replaceUsers(semanticsUsers)
        for _ in 0..<150 {
            let scalars = Array(generator.condition(random.int(3) + 1).text.unicodeScalars)
            for end in stride(from: 0, through: scalars.count, by: max(1, scalars.count / 25)) {
                var prefix = String.UnicodeScalarView()
                prefix.append(contentsOf: scalars[..<end])
                _ = try Self.check(String(prefix), database: database, users: semanticsUsers)
            }
            for _ in 0..<5 where !scalars.isEmpty {
                var edited = scalars
                let index = random.int(edited.count)
                switch random.int(3) {
                case 0: edited.remove(at: index)
                case 1: edited.insert(random.pick(Array("()[]\"',.+-=<>!#é 0aZ\n\\".unicodeScalars)), at: index)
                default: edited[index] = random.pick(Array("()[]\"',.+-=<>!#é 0aZ\n\\".unicodeScalars))
                }
                var text = String.UnicodeScalarView()
                text.append(contentsOf: edited)
                _ = try Self.check(String(text), database: database, users: semanticsUsers)
            }
        }
    }
}
