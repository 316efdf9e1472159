import ArgumentParser
import Foundation
import HeraldDefinitions

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Write JSON Schemas of herald.yml, campaigns, segments and templates, for editors.",
        discussion: """
        The schemas (draft 2020-12) come from the definitions herald validate checks files with. \
        Point an editor at them with a first line such as \
        `# yaml-language-server: $schema=../schemas/campaign.schema.json` (the sample workspace has them), \
        or map them to file patterns in its settings. herald validate still checks what a schema cannot: \
        templates and segments that exist, audience rules, Mustache and secrets.
        """
    )

    @Option(help: "The directory to write the schemas into; created if missing.")
    var output: String = "schemas"

    func run() throws {
        let written = try SchemaWriter.write(into: output)
        for path in written {
            print("wrote \(path)")
        }
    }
}

/// Writes the workspace's JSON Schemas.
enum SchemaWriter {
    /// The schema files, by path under a workspace: `schemas/campaign.schema.json`, …
    static var files: [(path: String, contents: String)] {
        WorkspaceSchema.File.allCases.map { ("schemas/\($0.fileName)", WorkspaceSchema.json(for: $0)) }
    }

    /// Writes every schema into `directory`; returns the paths written.
    static func write(into directory: String) throws -> [String] {
        let root = URL(fileURLWithPath: directory)
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        } catch {
            throw CLIError("cannot create \(directory): \(error.localizedDescription)")
        }
        return try WorkspaceSchema.File.allCases.map { file in
            let url = root.appendingPathComponent(file.fileName)
            do {
                try Data(WorkspaceSchema.json(for: file).utf8).write(to: url, options: .atomic)
            } catch {
                throw CLIError("cannot write \(url.path): \(error.localizedDescription)")
            }
            return (directory as NSString).appendingPathComponent(file.fileName)
        }
    }
}
