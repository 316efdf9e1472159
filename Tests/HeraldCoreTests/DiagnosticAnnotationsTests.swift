import Foundation
import HeraldCore
import Testing

struct DiagnosticAnnotationsTests {
    static let unknownField = Diagnostic(
        "unknown field 'chanels'", at: SourceLocation(file: "campaigns/restock.yml", line: 3, column: 1), hint: "did you mean 'channels'?"
    )

    @Test func eachDiagnosticIsOneWorkflowCommandAtItsLine() {
        let warning = Diagnostic("template 'old' is not used", at: SourceLocation(file: "templates/old.yml", line: 1, column: 1), severity: .warning)
        let lines = DiagnosticAnnotations.github([Self.unknownField, warning], workspace: ".")
        #expect(lines == [
            "::error file=campaigns/restock.yml,line=3,col=1,title=herald validate::unknown field 'chanels' (did you mean 'channels'?)",
            "::warning file=templates/old.yml,line=1,col=1,title=herald validate::template 'old' is not used",
        ])
    }

    @Test func pathsStartAtTheWorkspaceDirectoryAsGiven() {
        #expect(DiagnosticAnnotations.github([Self.unknownField], workspace: "marketing")[0].hasPrefix("::error file=marketing/campaigns/restock.yml,"))
        #expect(DiagnosticAnnotations.path("campaigns/x.yml", workspace: "./marketing/") == "marketing/campaigns/x.yml")
        #expect(DiagnosticAnnotations.path("herald.yml", workspace: "/repo/marketing", currentDirectory: "/repo") == "marketing/herald.yml")
        #expect(DiagnosticAnnotations.path("herald.yml", workspace: "/repo", currentDirectory: "/repo") == "herald.yml")
        #expect(DiagnosticAnnotations.path("herald.yml", workspace: "/elsewhere/ws", currentDirectory: "/repo") == "/elsewhere/ws/herald.yml")
    }

    /// A value quoted in a message must not end the command or start another: the runner reads
    /// `%0A` as a line break inside the message, and `%3A`/`%2C` inside a property.
    @Test func hostileTextCannotBreakOutOfTheCommand() {
        let hostile = Diagnostic(
            "unknown template '100%\n::error::forged'", at: SourceLocation(file: "campaigns/a,b:c.yml", line: 2, column: 11)
        )
        let line = DiagnosticAnnotations.github([hostile], workspace: ".")[0]
        #expect(line == "::error file=campaigns/a%2Cb%3Ac.yml,line=2,col=11,title=herald validate::unknown template '100%25%0A::error::forged'")
        #expect(!line.contains("\n"))
    }

    @Test func aDiagnosticWithoutAFileIsAnAnnotationWithoutOne() {
        let missing = Diagnostic("workspace directory 'nowhere' not found", at: nil)
        #expect(DiagnosticAnnotations.github([missing], workspace: "nowhere") == [
            "::error title=herald validate::workspace directory 'nowhere' not found",
        ])
    }

    @Test func sarifHasOneResultPerDiagnosticWithItsRuleLevelAndRegion() throws {
        let warning = Diagnostic("unused", at: SourceLocation(file: "templates/my promo.yml", line: 4, column: 2), severity: .warning)
        let text = DiagnosticAnnotations.sarif([Self.unknownField, warning], workspace: "marketing", toolVersion: "0.1.0")
        let log = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(log["version"] as? String == "2.1.0")
        let run = try #require((log["runs"] as? [[String: Any]])?.first)
        let driver = try #require((run["tool"] as? [String: Any])?["driver"] as? [String: Any])
        #expect(driver["name"] as? String == "herald")
        let rules = try #require(driver["rules"] as? [[String: Any]])
        let results = try #require(run["results"] as? [[String: Any]])
        #expect(results.count == 2)

        #expect(results[0]["ruleId"] as? String == "herald/campaign")
        #expect(results[0]["level"] as? String == "error")
        #expect((results[0]["message"] as? [String: Any])?["text"] as? String == "unknown field 'chanels' (did you mean 'channels'?)")
        let index = try #require(results[0]["ruleIndex"] as? Int)
        #expect(rules[index]["id"] as? String == "herald/campaign")
        let physical = try #require(((results[0]["locations"] as? [[String: Any]])?.first)?["physicalLocation"] as? [String: Any])
        #expect((physical["artifactLocation"] as? [String: Any])?["uri"] as? String == "marketing/campaigns/restock.yml")
        #expect((physical["region"] as? [String: Any])?["startLine"] as? Int == 3)
        #expect((physical["region"] as? [String: Any])?["startColumn"] as? Int == 1)

        #expect(results[1]["ruleId"] as? String == "herald/template")
        #expect(results[1]["level"] as? String == "warning")
        let uri = ((((results[1]["locations"] as? [[String: Any]])?.first)?["physicalLocation"] as? [String: Any])?["artifactLocation"] as? [String: Any])?["uri"]
        #expect(uri as? String == "marketing/templates/my%20promo.yml")
    }

    /// GitHub code scanning refuses a whole log when one result has no location.
    @Test func aProblemWithoutAFileIsAtTheWorkspacesHeraldYml() throws {
        let missing = Diagnostic("no herald.yml in 'marketing'", at: nil)
        let text = DiagnosticAnnotations.sarif([missing], workspace: "marketing", toolVersion: "0.1.0")
        let log = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let result = try #require(((log["runs"] as? [[String: Any]])?.first?["results"] as? [[String: Any]])?.first)
        let physical = try #require(((result["locations"] as? [[String: Any]])?.first)?["physicalLocation"] as? [String: Any])
        #expect((physical["artifactLocation"] as? [String: Any])?["uri"] as? String == "marketing/herald.yml")
        #expect((physical["region"] as? [String: Any])?["startLine"] as? Int == 1)
        #expect(result["ruleId"] as? String == "herald/workspace")
    }

    @Test func aCleanWorkspaceIsALogWithNoResults() throws {
        let text = DiagnosticAnnotations.sarif([], workspace: ".", toolVersion: "0.1.0")
        let log = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let run = try #require((log["runs"] as? [[String: Any]])?.first)
        #expect((run["results"] as? [Any])?.isEmpty == true)
    }
}
