import Foundation
import HeraldCore
import HeraldDefinitions
import Testing

extension Tag {
    @Tag static var slow: Self
}

/// A workspace folder under the temporary directory, removed by `withTemporaryWorkspace`.
struct TemporaryWorkspace {
    let root: URL

    /// Writes `text` as UTF-8 to `path` (relative to the root), creating folders.
    func write(_ path: String, _ text: String) throws {
        try write(path, bytes: Data(text.utf8))
    }

    func write(_ path: String, bytes: Data) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try bytes.write(to: url)
    }

    func remove(_ path: String) throws {
        try FileManager.default.removeItem(at: root.appendingPathComponent(path))
    }

    func load(environment: [String: String] = SampleWorkspace.environment) -> (workspace: Workspace?, diagnostics: [Diagnostic]) {
        WorkspaceLoader(environment: environment).load(directory: root.path)
    }
}

/// Runs `body` with a fresh empty workspace folder and removes it afterwards, also on failure.
func withTemporaryWorkspace<T>(_ body: (TemporaryWorkspace) throws -> T) throws -> T {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("herald-definitions-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: root) }
    return try body(TemporaryWorkspace(root: root))
}

/// Runs `body` with the sample workspace written out, after applying `changes` (a path to new
/// text, or to `nil` to delete the file).
func withSampleWorkspace<T>(_ changes: [String: String?] = [:], _ body: (TemporaryWorkspace) throws -> T) throws -> T {
    try withTemporaryWorkspace { workspace in
        for (path, text) in SampleWorkspace.files {
            try workspace.write(path, text)
        }
        for (path, text) in changes {
            if let text {
                try workspace.write(path, text)
            } else {
                try workspace.remove(path)
            }
        }
        return try body(workspace)
    }
}
