import Foundation
import HeraldCore

/// Reads and checks `herald.yml`.
///
/// Every string value may use `${NAME}`, replaced from `environment`; a variable that is not set
/// is an error at its position, so that a missing secret stops `herald validate` and start-up
/// rather than the first send.
///
/// ```swift
/// let (configuration, diagnostics) = ConfigurationLoader(environment: ["TWILIO_AUTH_TOKEN": "…"])
///     .load(text: try String(contentsOfFile: "herald.yml", encoding: .utf8))
/// ```
public struct ConfigurationLoader: Sendable {
    /// The variables `${NAME}` reads.
    public var environment: [String: String]
    /// Where relative file paths in herald.yml (an SMTP `ca_file`) are looked up; the current
    /// directory when nil.
    public var workspaceRoot: String?
    /// Parses the key and certificate files providers name; without it only their outline is
    /// checked (see ``CredentialFileInspector``).
    public var credentials: CredentialFileInspector?

    /// - Parameter environment: the variables `${NAME}` reads; the process environment by default.
    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment, workspaceRoot: String? = nil,
        credentials: CredentialFileInspector? = nil
    ) {
        self.environment = environment
        self.workspaceRoot = workspaceRoot
        self.credentials = credentials
    }

    /// The fields herald.yml may have, in the order the documentation lists them.
    public static let fields = WorkspaceSchema.configuration.names

    /// Parses the text of herald.yml. An empty file is the default configuration.
    ///
    /// - Parameter file: the path printed in diagnostics, relative to the workspace root.
    /// - Returns: the configuration, `nil` when any error was found, and every problem found.
    public func load(text: String, file: String = "herald.yml") -> (configuration: HeraldConfiguration?, diagnostics: [Diagnostic]) {
        let reader = YAMLReader(file: file, text: text, environment: environment)
        let configuration = reader.root(expected: "the Herald configuration (store, providers, channels, …)", known: Self.fields, allowEmpty: true)
            .map { ConfigurationDecoder(reader: reader, workspaceRoot: workspaceRoot, credentials: credentials).decode($0) }
        return (reader.hasErrors ? nil : configuration, reader.sortedDiagnostics)
    }
}
