import Foundation
import HeraldCore
import HeraldDefinitions
import HeraldTesting
import Testing

/// The JSON Schemas of `herald schema`, checked by an independent validator (Python's
/// `jsonschema`, through scripts/schema-validate.py) against the workspaces the loader's own
/// tests use: both must call the same files valid, except where a schema cannot see the problem.
@Suite(.tags(.slow))
struct SchemaAgreementTests {
    /// The broken workspaces of `DiagnosticTableTests` whose problem no JSON Schema can see,
    /// and why: for these the schema passes the file and only `herald validate` reports it.
    /// (A file that is not YAML, not UTF-8 or too large is refused by both: the validator cannot
    /// read it either.)
    static let beyondSchema: [String: String] = [
        "unknown template": "a reference to another file",
        "invalid IANA zone": "the zone database, which differs between machines",
        "invalid default zone": "the zone database, which differs between machines",
        "unknown template of a variant": "a reference to another file",
        "bad locale in a template file name": "a file name, not its content",
        "locale variant without a base template": "a file that is missing",
        "duplicate campaign ids": "a rule across files",
        "missing segment": "a reference to another file",
        "segment file whose name differs": "the file name",
        "channel not in the template": "a reference to another file",
        "provider of the wrong kind in channels": "a reference to another part of herald.yml",
        "unknown provider in channels": "a reference to another part of herald.yml",
        "missing body file": "a file that is missing",
        "body file that is not UTF-8": "the file's bytes",
        "YAML anchors": "YAML's aliases are resolved before a validator sees the document",
        "yaml file extension": "the file name",
        "bad cron": "the cron fields' ranges",
    ]

    /// Files the loader accepts that are written in less common ways: the schema must accept
    /// them too, or an editor would underline valid files.
    static let unusualButValid: [BadWorkspace] = [
        BadWorkspace(name: "numbers and booleans as text", changes: [
            "templates/restock.yml": .text("template: restock\npush: {title: 2026, body: true, badge: 0, ttl: 0s}\nsms: {body: 42}\nemail: {subject: 1.5, text: restock.txt}\n"),
        ], expected: []),
        BadWorkspace(name: "YAML 1.1 look-alikes are text", changes: [
            "campaigns/restock-air-max.yml": .text(DiagnosticTableTests.campaignHead + "quiet_hours: {from: 21:00, to: 08:00, then: drop}\nschedule: {at: 2026-12-01, timezone: recipient}\n"),
        ], expected: []),
        BadWorkspace(name: "an instant, a cron window, caps and fields without a value", changes: [
            "campaigns/restock-air-max.yml": .text(
                DiagnosticTableTests.campaignHead
                    + "description:\naudience: {segment: wishlisters}\nschedule: {cron: \"@daily\", between: {end: 2027-01-31T23:59}}\n"
                    + "frequency_caps:\n  - {max: 2, per: calendar_week, channel: sms, category: price-alerts}\nthrottle: 10/min\nexpires_after: 1w\n"
            ),
        ], expected: []),
        BadWorkspace(name: "names that YAML reads as numbers, and a zone by its canonical name", changes: [
            "campaigns/restock-air-max.yml": .text(
                DiagnosticTableTests.campaignHead
                    + "category: 2024\nschedule: {cron: \"0 9 * * *\", timezone: Asia/Kolkata}\n"
                    + "variants:\n  - {name: 30}\n  - {name: 40, weight: 3, params: {discount: 40%}}\nholdout: 12.5%\nconversion: {event: 2024, within: 3d}\n"
            ),
        ], expected: []),
        BadWorkspace(name: "typed params", changes: [
            "campaigns/restock-air-max.yml": .text(
                DiagnosticTableTests.campaignHead
                    + "params:\n  item_name: Air Max\n  n: 3\n  on: true\n  ends: 2026-12-07\n  at: 2026-12-07T18:00:00+09:00\n  price: {amount: 129.00, currency: USD}\n  tags: [a, b]\n"
                    + "locale_params:\n  ko-KR: {item_name: 에어 맥스}\n"
            ),
        ], expected: []),
        BadWorkspace(name: "a silent push and a variant with one field", changes: [
            "templates/silent.yml": .text("template: silent\nlocale: en-US\npush: {silent: true, data: {sku: \"123\"}, priority: high}\n"),
            "templates/restock.ko.yml": .text("email: {subject: 재입고}\n"),
        ], expected: []),
        BadWorkspace(name: "alerts, a price, a scalar route and quoted numbers", changes: [
            "herald.yml": .text(
                SampleWorkspace.configuration.replacingOccurrences(of: "sms:   [twilio, vonage]", with: "sms:   twilio")
                    + "alerts: {webhook: \"https://hooks.example.com/x\", failure_rate: 12.5%, min_attempts: 20, window: 5m}\n"
            ),
        ], expected: []),
    ]

    /// Broken files for the parts of the schemas the diagnostic table does not reach.
    static let brokenParts: [BadWorkspace] = [
        ("a cap of zero", "campaigns/restock-air-max.yml", DiagnosticTableTests.campaignHead + "frequency_caps:\n  - {max: 0, per: 1d}\n"),
        ("a cap on transactional", "campaigns/restock-air-max.yml", DiagnosticTableTests.campaignHead + "frequency_caps:\n  - {max: 1, per: 1d, category: transactional}\n"),
        ("quiet hours at 25:00", "campaigns/restock-air-max.yml", DiagnosticTableTests.campaignHead + "quiet_hours: {from: \"25:00\", to: \"08:00\"}\n"),
        ("two schedules", "campaigns/restock-air-max.yml", DiagnosticTableTests.campaignHead + "schedule: {at: 2026-12-01T09:00, cron: \"0 9 * * *\"}\n"),
        ("a trigger with a zone", "campaigns/restock-air-max.yml", DiagnosticTableTests.campaignHead + "schedule: {trigger: {event: signup}, timezone: UTC}\n"),
        ("an instant with a zone", "campaigns/restock-air-max.yml", DiagnosticTableTests.campaignHead + "schedule: {at: \"2026-12-01T09:00:00Z\", timezone: UTC}\n"),
        ("between without cron", "campaigns/restock-air-max.yml", DiagnosticTableTests.campaignHead + "schedule: {at: 2026-12-01T09:00, between: {start: 2026-12-01T00:00}}\n"),
        ("a bad event name", "campaigns/restock-air-max.yml", DiagnosticTableTests.campaignHead + "schedule: {trigger: {event: \"cart abandoned\"}}\n"),
        ("a zero expiry", "campaigns/restock-air-max.yml", DiagnosticTableTests.campaignHead + "expires_after: 0h\n"),
        ("a channel twice", "campaigns/restock-air-max.yml", "campaign: restock-air-max\nchannels: [push, push]\ntemplate: restock\n"),
        ("an audience with both", "campaigns/restock-air-max.yml", DiagnosticTableTests.campaignHead + "audience: {where: \"country == 'KR'\", segment: wishlisters}\n"),
        ("a bad locale in locale_params", "campaigns/restock-air-max.yml", DiagnosticTableTests.campaignHead + "params: {a: b}\nlocale_params: {ko_KR: {a: c}}\n"),
        ("a bad push priority", "templates/restock.ko.yml", "push: {title: 재입고, priority: urgent}\n"),
        ("a silent push with a title", "templates/restock.ko.yml", "push: {title: 재입고, silent: true}\n"),
        ("a locale in a variant", "templates/restock.ko.yml", "locale: ko\npush: {title: 재입고}\n"),
        ("an email without a body", "templates/promo.yml", "template: promo\nemail: {subject: Hi}\n"),
        ("a template without content", "templates/promo.yml", "template: promo\n"),
        ("a body file outside", "templates/promo.yml", "template: promo\nemail: {subject: Hi, text: ../herald.yml}\n"),
        ("a segment without a rule", "segments/wishlisters.yml", "segment: wishlisters\n"),
        ("an unknown provider setting", "herald.yml", SampleWorkspace.configuration.replacingOccurrences(of: "{kind: fcm,", with: "{kind: fcm, region: eu,")),
        ("a malformed account SID", "herald.yml", SampleWorkspace.configuration.replacingOccurrences(of: "kind: twilio,", with: "kind: twilio, messaging_service_sid: MGnothex,")),
        ("an unknown attribute type", "herald.yml", SampleWorkspace.configuration.replacingOccurrences(of: "country: string", with: "country: text")),
        ("an attribute named like a field", "herald.yml", SampleWorkspace.configuration.replacingOccurrences(of: "country: string", with: "email: string")),
        ("a failure rate of 120%", "herald.yml", SampleWorkspace.configuration + "alerts: {webhook: \"https://hooks.example.com/x\", failure_rate: 120%}\n"),
        ("keys in herald.yml", "herald.yml", SampleWorkspace.configuration.replacingOccurrences(of: "api:\n", with: "api:\n  keys: [abc]\n")),
    ].map { name, path, text in BadWorkspace(name: name, changes: [path: .text(text)], expected: []) }

    @Test func theSchemaAndTheLoaderAgreeOnEveryBrokenAndValidWorkspaceOfTheTests() async throws {
        let python = try #require(Self.python(), "no Python with jsonschema and PyYAML: run scripts/python-venv (make test does)")
        let cases = DiagnosticTableTests.cases + Self.brokenParts + Self.unusualButValid
        let scratch = TemporaryWorkspace(root: FileManager.default.temporaryDirectory.appendingPathComponent("herald-definitions-\(UUID().uuidString)"))
        try FileManager.default.createDirectory(at: scratch.root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch.root) }
        do {
            for file in WorkspaceSchema.File.allCases {
                try scratch.write("schemas/\(file.fileName)", WorkspaceSchema.json(for: file))
            }
            var loaderErrors: [String: Set<String>] = [:]
            var schemaFiles: [String: Int] = [:]
            var directories: [String] = []
            for (index, bad) in cases.enumerated() {
                let directory = "case\(index)"
                let workspace = TemporaryWorkspace(root: scratch.root.appendingPathComponent(directory))
                for (path, text) in SampleWorkspace.files {
                    try workspace.write(path, text)
                }
                for (path, change) in bad.changes {
                    switch change {
                    case .text(let text): try workspace.write(path, text)
                    case .bytes(let bytes): try workspace.write(path, bytes: Data(bytes))
                    case .delete: try workspace.remove(path)
                    }
                }
                let (_, diagnostics) = workspace.load(environment: bad.environment)
                loaderErrors[directory] = Set(diagnostics.filter { $0.severity == .error }.compactMap(\.location?.file))
                try workspace.write(".environment.json", bytes: JSONEncoder().encode(bad.environment))
                directories.append(workspace.root.path)
                schemaFiles[directory] = try Self.filesWithASchema(in: workspace.root)
            }

            // Python takes tens of seconds over these workspaces: not on a thread of Swift's pool.
            let arguments = ["--schemas", scratch.root.appendingPathComponent("schemas").path] + directories
            let verdicts = try await onOwnThread { try Self.run(python, arguments) }
            for (index, bad) in cases.enumerated() {
                let directory = "case\(index)"
                let files = verdicts.filter { ($0.workspace as NSString).lastPathComponent == directory }
                #expect(files.count == schemaFiles[directory], "\(bad.name): the validator checked \(files.count) files of \(schemaFiles[directory] ?? 0)")
                let errors = loaderErrors[directory] ?? []
                let reason = Self.beyondSchema[bad.name]
                for verdict in files {
                    let loaderRefuses = errors.contains(verdict.file)
                    if !verdict.valid {
                        // An editor must never underline a file herald validate accepts.
                        #expect(loaderRefuses, "\(bad.name): herald validate accepts \(verdict.file), the schema refuses it: \(verdict.errors)")
                    } else if loaderRefuses {
                        #expect(reason != nil, "\(bad.name): herald validate refuses \(verdict.file), the schema accepts it")
                    }
                }
                if Self.brokenParts.contains(where: { $0.name == bad.name }) {
                    #expect(!errors.isEmpty, "\(bad.name): herald validate accepts it; the case is meant to be broken")
                }
                if Self.unusualButValid.contains(where: { $0.name == bad.name }) {
                    #expect(errors.isEmpty, "\(bad.name): herald validate refuses \(errors.sorted()); the case is meant to be valid")
                }
                if reason != nil {
                    // Listed as beyond a schema: the schema must indeed pass a file the loader refuses.
                    #expect(files.contains { $0.valid && errors.contains($0.file) } || errors.contains { WorkspaceSchema.File(path: $0) == nil },
                            "\(bad.name) is listed as beyond a schema, yet the schema refuses every file herald validate refuses")
                }
            }
        }
    }

    /// How many files of a workspace a schema describes.
    static func filesWithASchema(in root: URL) throws -> Int {
        let enumerator = FileManager.default.enumerator(atPath: root.path)
        var count = 0
        while let path = enumerator?.nextObject() as? String {
            if WorkspaceSchema.File(path: path) != nil { count += 1 }
        }
        return count
    }

    struct Verdict: Decodable {
        var workspace: String
        var file: String
        var valid: Bool
        var errors: [String]
    }

    /// The repository's Python environment (scripts/python-venv), or a `python3` on the path that
    /// has both packages.
    static func python() -> String? {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let venv = root.appendingPathComponent(".build/python-venv/bin/python3").path
        if FileManager.default.isExecutableFile(atPath: venv) { return venv }
        guard let result = try? runProcess("/usr/bin/env", ["python3", "-c", "import jsonschema, yaml"]), result.status == 0 else { return nil }
        return "/usr/bin/env python3"
    }

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/schema-validate.py").path
    }

    static func run(_ python: String, _ arguments: [String]) throws -> [Verdict] {
        let parts = python.split(separator: " ").map(String.init)
        let result = try runProcess(parts[0], Array(parts.dropFirst()) + [script] + arguments)
        guard result.status == 0 else {
            throw CheckFailure("schema-validate.py exited \(result.status): \(result.stderr)")
        }
        return try result.stdout.split(separator: "\n").map { try JSONDecoder().decode(Verdict.self, from: Data($0.utf8)) }
    }

    struct CheckFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

/// Runs a program to its end and returns its exit status and output. Its errors go to a file,
/// so that neither pipe can fill up while the other is read.
func runProcess(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("herald-process-\(UUID().uuidString).err")
    _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: errorFile) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = try FileHandle(forWritingTo: errorFile)
    try process.run()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let stderr = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
    return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), stderr)
}
