import Foundation
import HeraldTesting
import Testing

/// What a marketer's pull request gets: `herald validate` as GitHub annotations and as a SARIF
/// log (checked against SARIF's published schema by an independent validator), and the JSON
/// Schemas editors check campaign files with.
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct ReviewToolsTests {
    /// A workspace in a subdirectory of the "repository", as teams keep it, with two problems.
    static func brokenRepository(_ directory: TemporaryDirectory) async throws {
        #expect(try await HeraldBinary.run(["init", "marketing"], in: directory.path).status == 0)
        try directory.write("marketing/campaigns/flash.yml", "campaign: flash\nchanels: [push]\ntemplate: winter-sale\n")
        try directory.write("marketing/campaigns/winter-sale.yml", (try directory.read("marketing/campaigns/winter-sale.yml")).replacingOccurrences(of: "throttle: 2000/min", with: "throttle: 2000 a minute"))
    }

    @Test func githubAnnotationsPointAtTheLinesFromTheRepositoryRoot() async throws {
        try await withTemporaryDirectory { directory in
            try await Self.brokenRepository(directory)
            let run = try await HeraldBinary.run(["validate", "marketing", "--format", "github"], in: directory.path)
            #expect(run.status == 1)
            let lines = run.stdout.split(separator: "\n").map(String.init)
            #expect(lines.contains("::error file=marketing/campaigns/flash.yml,line=2,col=1,title=herald validate::unknown field 'chanels' (did you mean 'channels'?)"), "\(run.stdout)")
            #expect(lines.contains { $0.hasPrefix("::error file=marketing/campaigns/flash.yml,line=1,col=1,title=herald validate::missing field 'channels'") } == false, "a misspelled field is not also missing: \(run.stdout)")
            #expect(lines.contains { $0.hasPrefix("::error file=marketing/campaigns/winter-sale.yml,line=") && $0.contains("::invalid rate '2000 a minute' for 'throttle'") }, "\(run.stdout)")
            #expect(lines.last == "2 errors, 0 warnings", "\(run.stdout)")
        }
    }

    @Test func theSARIFLogMatchesSARIFsPublishedSchemaAndHoldsEachProblem() async throws {
        let python = try #require(ProcessInfo.processInfo.environment["HERALD_PYTHON"] ?? Self.python(), "run scripts/python-venv (make test does)")
        try await withTemporaryDirectory { directory in
            try await Self.brokenRepository(directory)
            let run = try await HeraldBinary.run(["validate", "marketing", "--format", "sarif"], in: directory.path)
            #expect(run.status == 1)
            try directory.write("herald.sarif", run.stdout)
            let schema = HeraldBinary.repositoryRoot.appendingPathComponent("Tests/Fixtures/sarif-schema-2.1.0.json").path
            let script = HeraldBinary.repositoryRoot.appendingPathComponent("scripts/schema-validate.py").path
            let check = try await HeraldBinary.runProgram(python, [script, "--schema", schema, directory.file("herald.sarif")], in: directory.path)
            #expect(check.status == 0, "\(check.stderr)")
            #expect(check.stdout.contains("\"valid\": true"), "the log does not match SARIF 2.1.0's schema: \(check.stdout)")

            let log = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            let results = try #require(((log["runs"] as? [[String: Any]])?.first)?["results"] as? [[String: Any]])
            let located = results.compactMap { result -> String? in
                guard let location = ((result["locations"] as? [[String: Any]])?.first)?["physicalLocation"] as? [String: Any],
                      let uri = (location["artifactLocation"] as? [String: Any])?["uri"] as? String,
                      let line = (location["region"] as? [String: Any])?["startLine"] as? Int
                else { return nil }
                return "\(result["ruleId"] ?? ""):\(uri):\(line)"
            }
            #expect(located.contains("herald/campaign:marketing/campaigns/flash.yml:2"), "\(located)")
            #expect(located.contains { $0.hasPrefix("herald/campaign:marketing/campaigns/winter-sale.yml:") }, "\(located)")
            #expect(results.count == 2)
        }
    }

    @Test func theSchemaCommandWritesWhatInitShipsAndTheSampleNamesThem() async throws {
        try await withTemporaryDirectory { directory in
            #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
            let run = try await HeraldBinary.run(["schema", "--output", "fresh"], in: directory.path)
            #expect(run.status == 0, "\(run.stderr)")
            for name in ["herald", "campaign", "segment", "template", "template-variant"] {
                let written = try directory.read("fresh/\(name).schema.json")
                #expect(try directory.read("schemas/\(name).schema.json") == written, "init and schema write different \(name).schema.json")
                let schema = try #require(try JSONSerialization.jsonObject(with: Data(written.utf8)) as? [String: Any])
                #expect(schema["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
                // The repository's own sample workspace carries them too, and they are current.
                let committed = try String(contentsOf: HeraldBinary.repositoryRoot.appendingPathComponent("schemas/\(name).schema.json"), encoding: .utf8)
                #expect(committed == written, "schemas/\(name).schema.json is stale: run herald schema --output schemas")
            }
            // Each sample file names its schema, by a path that exists from the file.
            for file in ["herald.yml", "campaigns/winter-sale.yml", "segments/newsletter-readers.yml", "templates/winter-sale.yml", "templates/winter-sale.ko.yml"] {
                let first = try #require(try directory.read(file).split(separator: "\n").first.map(String.init))
                #expect(first.hasPrefix("# yaml-language-server: $schema="), "\(file): \(first)")
                let target = URL(fileURLWithPath: directory.file(file)).deletingLastPathComponent().appendingPathComponent(String(first.dropFirst("# yaml-language-server: $schema=".count)))
                #expect(FileManager.default.fileExists(atPath: target.standardized.path), "\(file) names \(target.path), which is missing")
            }
            // The sample workspace `herald init` writes is valid to an independent validator too.
            let python = try #require(Self.python(), "run scripts/python-venv (make test does)")
            let script = HeraldBinary.repositoryRoot.appendingPathComponent("scripts/schema-validate.py").path
            let check = try await HeraldBinary.runProgram(python, [script, "--schemas", directory.file("schemas"), directory.path], in: directory.path)
            #expect(check.status == 0, "\(check.stderr)")
            let verdicts = check.stdout.split(separator: "\n")
            #expect(verdicts.count == 10, "\(check.stdout)")
            #expect(verdicts.allSatisfy { $0.contains("\"valid\": true") }, "\(check.stdout)")
            let campaign = try directory.read("schemas/campaign.schema.json")
            #expect(campaign.contains("\"first_available\""))
            #expect(try directory.read("templates/winter-sale.ko.yml").hasPrefix("# yaml-language-server: $schema=../schemas/template-variant.schema.json\n"))
        }
    }

    static func python() -> String? {
        let venv = HeraldBinary.repositoryRoot.appendingPathComponent(".build/python-venv/bin/python3").path
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
    }
}

private extension TemporaryDirectory {
    func read(_ name: String) throws -> String {
        try String(contentsOfFile: file(name), encoding: .utf8)
    }
}
