import ArgumentParser
import Foundation

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write the sample workspace (herald.yml, campaigns, segments, templates, and the schemas editors check them with) into a directory."
    )

    @Argument(help: "The directory; created if missing.")
    var directory: String = "."

    @Flag(help: "Overwrite files that already exist.")
    var force = false

    func run() throws {
        let written = try SampleWorkspaceWriter.write(into: directory, overwrite: force)
        print("wrote \(written.count) files into \(directory): herald.yml, campaigns/, segments/, templates/, schemas/")
        print("next: herald validate \(directory)")
    }
}

/// Writes the embedded sample workspace to disk.
enum SampleWorkspaceWriter {
    /// Writes every sample file under `directory`. Refuses, before writing anything, when a file
    /// exists and `overwrite` is false, so a workspace is never half-replaced.
    static func write(into directory: String, overwrite: Bool) throws -> [String] {
        let files = SampleWorkspace.files + SchemaWriter.files
        let fileManager = FileManager.default
        let root = URL(fileURLWithPath: directory)
        if !overwrite {
            let existing = files.map(\.path).filter { fileManager.fileExists(atPath: root.appendingPathComponent($0).path) }
            guard existing.isEmpty else {
                throw CLIError("\(directory) already has \(existing.joined(separator: ", ")); use --force to overwrite")
            }
        }
        var written: [String] = []
        for (path, contents) in files {
            let url = root.appendingPathComponent(path)
            do {
                try fileManager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(contents.utf8).write(to: url, options: .atomic)
            } catch {
                throw CLIError("cannot write \(url.path): \(error.localizedDescription)")
            }
            written.append(path)
        }
        return written
    }
}
