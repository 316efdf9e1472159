import ArgumentParser
import Foundation
import HeraldCore
import HeraldDefinitions
import HeraldStore

/// The options every command that reads a workspace or the store shares.
struct WorkspaceOptions: ParsableArguments {
    @Option(name: [.short, .customLong("workspace")], help: "The workspace directory (the one with herald.yml).")
    var workspace: String = "."

    @Option(name: .customLong("database"), help: "The SQLite database file. Default: the `store:` of herald.yml, relative to the workspace.")
    var database: String?

    /// Loads and validates the workspace, or prints every problem and fails.
    func loadWorkspace() throws -> Workspace {
        let (workspace, diagnostics) = WorkspaceLoader().load(directory: self.workspace)
        for diagnostic in diagnostics where diagnostic.severity == .warning {
            printError(diagnostic.description)
        }
        guard let workspace, diagnostics.allSatisfy({ $0.severity != .error }) else {
            for diagnostic in diagnostics where diagnostic.severity == .error {
                printError(diagnostic.description)
            }
            let count = diagnostics.filter { $0.severity == .error }.count
            throw CLIError("the workspace '\(self.workspace)' has \(count) error\(count == 1 ? "" : "s"); run `herald validate` after fixing them")
        }
        return workspace
    }

    /// The database path: `--database`, else the `sqlite:` path of herald.yml relative to the workspace.
    func databasePath(for workspace: Workspace) throws -> String {
        if let database { return database }
        let store = workspace.configuration.store
        guard store.hasPrefix("sqlite:") else {
            throw CLIError("store '\(store)' in herald.yml is not supported yet (use sqlite:PATH)")
        }
        let path = String(store.dropFirst("sqlite:".count))
        return path.hasPrefix("/") ? path : URL(fileURLWithPath: self.workspace).appendingPathComponent(path).path
    }

    func openStore(for workspace: Workspace) throws -> SQLiteStore {
        try SQLiteStore(path: databasePath(for: workspace), schema: workspace.configuration.attributes)
    }
}

/// A failure the user can act on; printed as `error: <message>` with exit code 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Writes a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
