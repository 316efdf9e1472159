import ArgumentParser
import Foundation
import HeraldContent
import HeraldCore
import HeraldDefinitions
import HeraldPostgres
import HeraldProviders
import HeraldStore

/// Where the workspace is: the option every command that reads one shares.
struct WorkspaceLocation: ParsableArguments {
    @Option(name: [.short, .customLong("workspace")], help: "The workspace directory (the one with herald.yml).")
    var workspace: String = "."
}

/// The options every command that reads a workspace or the store shares.
struct WorkspaceOptions: ParsableArguments {
    @OptionGroup var location: WorkspaceLocation

    @Option(name: .customLong("database"), help: "A SQLite database file, instead of the `store:` of herald.yml (a sqlite: path relative to the workspace, or a postgres:// URL).")
    var database: String?

    var workspace: String { location.workspace }

    /// Loads the workspace and keeps what is usable: herald.yml must be valid; a campaign that
    /// has errors (in its file, its template or its segment) is left out, with its problems
    /// printed, so that the other campaigns still work.
    func loadWorkspace() throws -> Workspace {
        let (workspace, diagnostics) = Self.loadUsable(directory: self.workspace)
        for diagnostic in diagnostics {
            printError(diagnostic.description)
        }
        let errors = diagnostics.filter { $0.severity == .error }.count
        guard let workspace else {
            throw CLIError("the workspace '\(self.workspace)' cannot be used: herald.yml has \(plural(errors, "error")); run `herald validate` after fixing \(errors == 1 ? "it" : "them")")
        }
        if errors > 0 {
            let left = workspace.unusableCampaigns.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }
            printError("note: \(plural(errors, "error")) in the workspace; " + (left.isEmpty
                ? "nothing depends on \(errors == 1 ? "it" : "them") here"
                : "left out until fixed: \(left.joined(separator: ", "))") + "; run `herald validate`")
        }
        return workspace
    }

    /// The campaign with this id, or an error that says why it cannot be used, or the nearest id.
    func campaign(_ id: String, in workspace: Workspace) throws -> Campaign {
        if let campaign = workspace.campaign(id: id) { return campaign }
        if let reason = workspace.unusableCampaigns[id] {
            throw CLIError("campaign '\(id)' cannot be used until it is fixed: \(reason) (printed above)")
        }
        throw CLIError("unknown campaign \(Quoted.visible(id)) (\(Suggestion.hint(for: id, in: workspace.campaigns.map(\.id) + workspace.unusableCampaigns.keys)))")
    }

    /// The workspace without the campaigns that have errors (in their file, template or
    /// segment), and every problem found; `nil` when herald.yml itself cannot be used.
    static func loadUsable(directory: String) -> (workspace: Workspace?, diagnostics: [Diagnostic]) {
        let (loaded, found) = WorkspaceLoader(credentials: CredentialFiles.inspector).loadUsable(directory: directory)
        guard let loaded else { return (nil, found) }
        let checked = TemplateChecker.usable(loaded)
        return (checked.workspace, found + checked.diagnostics)
    }

    /// The database path: `--database`, else the `sqlite:` path of herald.yml relative to the workspace.
    func databasePath(for workspace: Workspace) throws -> String {
        try databasePath(configuration: workspace.configuration)
    }

    private func databasePath(configuration: HeraldConfiguration) throws -> String {
        if let database { return database }
        guard let path = Self.sqlitePath(of: configuration.store, in: workspace) else {
            // Never the URL itself: it may hold the password.
            throw CLIError("this command works on a SQLite store only, and herald.yml's store is a postgres:// URL (see \"Running on PostgreSQL\" in the README; --database FILE reads a SQLite file instead)")
        }
        return path
    }

    /// The store to open: `--database` (a SQLite file), else herald.yml's `store:`, a `sqlite:`
    /// path made relative to the workspace.
    func storeLocation(configuration: HeraldConfiguration) throws -> StoreLocation {
        if let database { return .sqlite(path: database) }
        if let path = Self.sqlitePath(of: configuration.store, in: workspace) { return .sqlite(path: path) }
        do {
            return try StoreLocation(configuration.store)
        } catch {
            // herald.yml's decoder refuses a bad URL at its line; this is the last guard.
            throw CLIError("herald.yml's store: \(error.message)")
        }
    }

    /// Opens the store of `workspace`, SQLite or PostgreSQL as herald.yml says (`access` is
    /// SQLite's; PostgreSQL is always shared).
    func openAnyStore(for workspace: Workspace, access: SQLiteStore.Configuration.Access = .readWrite) async throws -> OpenedStore {
        try await Self.open(
            storeLocation(configuration: workspace.configuration), schema: workspace.configuration.attributes,
            defaultTimezone: workspace.configuration.defaultTimezone, access: access
        )
    }

    /// Opens the store at `location`.
    static func open(
        _ location: StoreLocation, schema: AttributeSchema, defaultTimezone: String = "UTC", access: SQLiteStore.Configuration.Access = .readWrite
    ) async throws -> OpenedStore {
        switch location {
        case .sqlite(let path):
            return .sqlite(try open(path: path, schema: schema, configuration: SQLiteStore.Configuration(defaultTimezone: defaultTimezone, access: access)))
        case .postgres(let postgres):
            // A few connections: a CLI process runs one dispatcher per channel and a planner.
            return .postgres(try await PostgresStore(location: postgres, attributes: schema, maximumConnections: 8, defaultTimezone: defaultTimezone))
        }
    }

    /// The file of a `sqlite:PATH` store, relative to `workspace` unless absolute; nil for
    /// another kind of store.
    static func sqlitePath(of store: String, in workspace: String) -> String? {
        guard store.hasPrefix("sqlite:") else { return nil }
        let path = String(store.dropFirst("sqlite:".count))
        return path.hasPrefix("/") ? path : URL(fileURLWithPath: workspace).appendingPathComponent(path).path
    }

    /// Opens the store of `workspace`. A command that only reads opens it `.readOnly`: it never
    /// creates a file, works on a read-only one, and never waits for another process's writes.
    func openStore(for workspace: Workspace, access: SQLiteStore.Configuration.Access = .readWrite) throws -> SQLiteStore {
        try Self.open(
            path: databasePath(for: workspace), schema: workspace.configuration.attributes,
            configuration: SQLiteStore.Configuration(defaultTimezone: workspace.configuration.defaultTimezone, access: access)
        )
    }

    /// Opens a store; a missing file next to the demo's database says so.
    static func open(path: String, schema: AttributeSchema, configuration: SQLiteStore.Configuration) throws -> SQLiteStore {
        do {
            return try SQLiteStore(path: path, schema: schema, configuration: configuration)
        } catch let error as StoreError where error.code == .missing {
            let demo = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(DemoCommand.defaultDatabase).path
            guard FileManager.default.fileExists(atPath: demo), !path.hasSuffix(DemoCommand.defaultDatabase) else { throw error }
            throw StoreError(.missing, error.message + " (`herald demo` wrote its users and sends to \(DemoCommand.defaultDatabase): add --database \(DemoCommand.defaultDatabase) to read them)")
        }
    }

    /// Opens the store without loading the workspace: `--database`, else the store that
    /// herald.yml names (only herald.yml is read, so a bad campaign file changes nothing).
    /// Read-only unless `access` says otherwise (the operator commands that change a few rows).
    func openStoreForReading(access: SQLiteStore.Configuration.Access = .readOnly) async throws -> OpenedStore {
        let location: StoreLocation
        if let database {
            location = .sqlite(path: database)
        } else {
            let (configuration, diagnostics) = WorkspaceLoader(credentials: CredentialFiles.inspector).loadConfiguration(directory: workspace)
            guard let configuration else {
                for diagnostic in diagnostics { printError(diagnostic.description) }
                let hasFile = FileManager.default.fileExists(atPath: URL(fileURLWithPath: workspace).appendingPathComponent("herald.yml").path)
                throw CLIError(!hasFile
                    ? "no database to read: name it with --database FILE, or run in a workspace whose herald.yml names it (`store: sqlite:herald.db`)"
                    : "herald.yml cannot be used (its problems are above), so its store is unknown; fix it, or name a SQLite file with --database FILE")
            }
            location = try storeLocation(configuration: configuration)
        }
        return try await Self.open(location, schema: AttributeSchema(), access: access)
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
