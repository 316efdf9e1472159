import Foundation
import HeraldTesting
import Testing

/// The progress bar of `herald send … --plan-only` and `herald plan`, as the process writes it:
/// on standard error when that is a terminal (a pseudo-terminal here), with a rate and an ETA,
/// and nothing at all when it is a pipe or with `--quiet`.
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct PlanningProgressTests {
    /// A sample workspace with 3,000 users (three pages of the planner) and `news`, an email
    /// campaign to everyone with no schedule, so that `send --now` and `plan` both plan it now.
    static func workspace(_ directory: TemporaryDirectory) async throws {
        #expect(try await HeraldBinary.run(["init", "."], in: directory.path).status == 0)
        try routePushNowhere(inWorkspace: directory.path)
        try removeLimits(fromWorkspace: directory.path)
        try directory.write("campaigns/news.yml", """
            campaign: news
            channels: [email]
            template: weekly-digest
            params:
              issue_title: News
            """)
        let generate = try await HeraldBinary.run(["users", "generate", "--count", "3000", "--seed", "3"], in: directory.path)
        #expect(generate.status == 0, "\(generate.stderr)")
    }

    /// What a terminal shows in place: the text between carriage returns and newlines.
    static func screenLines(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }).map(String.init)
    }

    /// A progress line part way: `planning news 1,000/3,000 [███▍   ]  33%  15,568/s  ETA 0s`.
    static func isProgressWithRateAndETA(_ line: String, label: String) -> Bool {
        guard line.hasPrefix(label + " ") else { return false }
        return line.contains(try! Regex(#" [0-9,]+/3,000 .* [0-9,]+/s  ETA [0-9]"#))
    }

    @Test func withoutATerminalOrWithQuietPlanningWritesNoProgress() async throws {
        try await withTemporaryDirectory { directory in
            try await Self.workspace(directory)
            for arguments in [
                ["send", "news", "--now", "--plan-only"], ["send", "news", "--now", "--plan-only", "--again", "--quiet"],
                ["plan", "news"], ["plan", "news", "--quiet"],
            ] {
                let output = try await HeraldBinary.run(arguments, in: directory.path)
                #expect(output.status == 0, "\(arguments): \(output.stderr)")
                #expect(!output.stderr.contains("\r") && !output.stderr.contains("planning news"), "\(arguments) wrote progress to a pipe: \(output.stderr)")
            }
        }
    }

    @Test func onATerminalPlanningShowsProgressWithRateAndETAUnlessQuiet() async throws {
        try await withTemporaryDirectory { directory in
            try await Self.workspace(directory)
            for (arguments, label) in [(["send", "news", "--now", "--plan-only"], "planning news"), (["plan", "news"], "planning news (dry run)")] {
                let output = try await Self.runWithTerminalStandardError(arguments, in: directory.path)
                #expect(output.status == 0, "\(arguments): \(output.terminal)")
                let lines = Self.screenLines(output.terminal).filter { $0.hasPrefix(label + " ") }
                #expect(lines.contains { Self.isProgressWithRateAndETA($0, label: label) }, "\(arguments): \(output.terminal)")
                // The last line is the finished one, and the table or summary is on standard output, not mixed in.
                #expect(lines.last.map { $0.contains("3,000/3,000") && $0.contains(" in ") } == true, "\(arguments): \(output.terminal)")
                #expect(!output.stdout.contains("planning news"))

                let quiet = try await Self.runWithTerminalStandardError(arguments + ["--quiet"] + (arguments[0] == "send" ? ["--again"] : []), in: directory.path)
                #expect(quiet.status == 0, "\(arguments) --quiet: \(quiet.terminal)")
                #expect(!quiet.terminal.contains("planning news"), "\(arguments) --quiet: \(quiet.terminal)")
            }
        }
    }

    struct TerminalOutput {
        var status: Int32
        var stdout: String
        /// Everything the child wrote to standard error, as the terminal received it.
        var terminal: String
    }

    /// Runs the binary with standard error on a pseudo-terminal and standard output in a file,
    /// so that only standard error is a terminal (`isatty(2)`), as when a person runs it with
    /// its output redirected. The terminal is script(1)'s, from util-linux (Debian's bsdutils,
    /// an essential package); Glibc's module does not export posix_openpt or openpty to Swift.
    static func runWithTerminalStandardError(_ arguments: [String], in directory: String) async throws -> TerminalOutput {
        let script = "/usr/bin/script"
        try #require(FileManager.default.isExecutableFile(atPath: script), "script(1) from util-linux is needed to give herald a terminal")
        func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'" }
        let stdoutFile = URL(fileURLWithPath: directory).appendingPathComponent("stdout-\(UUID().uuidString).txt").path
        let command = "exec " + ([HeraldBinary.path] + arguments).map(quoted).joined(separator: " ") + " > " + quoted(stdoutFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        // -q: no "Script started" lines; -f: flush as written; -e: herald's exit status; the
        // typescript itself goes nowhere, what the terminal received comes on script's output.
        process.arguments = ["-qfec", command, "/dev/null"]
        var environment = ProcessInfo.processInfo.environment
        environment["COLUMNS"] = nil
        environment["SHELL"] = "/bin/sh"
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardInput = FileHandle.nullDevice
        let output = await HeraldBinary.finish(try HeraldBinary.launch(process))
        let stdout = (try? String(contentsOfFile: stdoutFile, encoding: .utf8)) ?? ""
        return TerminalOutput(status: output.status, stdout: stdout, terminal: output.stdout + output.stderr)
    }
}
