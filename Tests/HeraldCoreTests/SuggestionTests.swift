import HeraldCore
import Testing

@Suite struct SuggestionTests {
    @Test(arguments: [
        ("chanels", "channels"), ("titel", "title"), ("contry", "country"), ("Template", "template"), ("shedule", "schedule"),
    ])
    func aLikelyTypoGetsItsCorrection(typo: String, meant: String) {
        #expect(Suggestion.closest(to: typo, in: ["channels", "title", "country", "template", "schedule", "category"]) == meant)
    }

    @Test func aWordFarFromEveryCandidateGetsTheListInstead() {
        #expect(Suggestion.closest(to: "zzz", in: ["push", "sms", "email"]) == nil)
        #expect(Suggestion.hint(for: "zzz", in: ["push", "sms", "email"]) == "expected one of: push, sms, email")
        #expect(Suggestion.hint(for: "emial", in: ["push", "sms", "email"]) == "did you mean 'email'?")
    }

    /// Which candidate wins: the closest; among equally close ones, the first listed; and none
    /// further than a third of the word's length (at least 1).
    @Test(arguments: [
        ("cat", ["bat", "cap"], "bat"), ("cat", ["cap", "bat"], "cap"),
        ("templat", ["templates", "template"], "template"),
        ("sm", ["push", "sms"], "sms"), ("x", ["sms"], nil),
        ("eml", ["email"], nil), ("emial", ["email"], "email"),
        ("abcdef", ["abcdxy"], "abcdxy"), ("abcdef", ["abcxyz"], nil),
        ("chanell", ["channel"], "channel"), ("chanl", ["channel"], nil),
    ] as [(String, [String], String?)])
    func theClosestCandidateWithinAThirdOfTheWordWinsAndTiesGoToTheFirst(word: String, candidates: [String], expected: String?) {
        #expect(Suggestion.closest(to: word, in: candidates) == expected)
    }

    @Test(arguments: [("abc", "acb", 1), ("abcd", "badc", 2), ("", "abc", 3), ("kitten", "sitting", 3), ("같다", "다같", 1)])
    func editDistanceCountsASwapAsOneEdit(a: String, b: String, distance: Int) {
        #expect(Suggestion.editDistance(a, b) == distance)
    }
}

@Suite struct SourceLocationTests {
    @Test func aPositionInsideAnIndentedBlockKeepsTheBlocksColumn() {
        let block = SourceLocation(file: "campaigns/a.yml", line: 5, column: 5)
        #expect(block.advanced(columns: 3).description == "campaigns/a.yml:5:8")
        #expect(block.advanced(lines: 2, columns: 4).description == "campaigns/a.yml:7:9")
        #expect(SourceLocation(file: "templates/a.html", line: 1, column: 1).advanced(lines: 3, columns: 0).description == "templates/a.html:4:1")
    }
}

@Suite struct SuggestionCostTests {
    @Test func aHugeWordGetsNoSuggestionAndCostsLittle() {
        let huge = String(repeating: "x", count: 1 << 20)
        #expect(Suggestion.closest(to: huge, in: ["free", "pro", "enterprise"]) == nil)
        #expect(Suggestion.hint(for: huge, in: ["free", "pro"]) == "expected one of: free, pro")
    }
}
