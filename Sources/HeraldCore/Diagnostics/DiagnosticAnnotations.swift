import Foundation

/// Diagnostics written for a CI system to show on the lines of a pull request: GitHub Actions
/// workflow commands, or a SARIF 2.1.0 log (GitHub code scanning, GitLab, Azure DevOps).
///
/// A diagnostic's file is relative to the workspace; CI systems want it relative to the
/// repository, so every path is first joined to the workspace directory as it was given on the
/// command line (`herald validate marketing` gives `marketing/campaigns/x.yml`).
///
/// ```swift
/// let lines = DiagnosticAnnotations.github(diagnostics, workspace: "marketing")
/// ```
public enum DiagnosticAnnotations {
    /// One workflow command per diagnostic:
    /// `::error file=campaigns/x.yml,line=3,col=1,title=herald validate::unknown field 'chanels' (did you mean 'channels'?)`.
    ///
    /// Property values and the message are escaped as the Actions runner reads them (`%`, CR and
    /// LF everywhere; `:` and `,` in property values too), so that a message quoting a hostile
    /// value cannot end the command early or start another one.
    public static func github(_ diagnostics: [Diagnostic], workspace: String) -> [String] {
        diagnostics.map { diagnostic in
            var properties: [(String, String)] = []
            if let location = diagnostic.location {
                properties.append(("file", path(location.file, workspace: workspace)))
                properties.append(("line", String(location.line)))
                properties.append(("col", String(location.column)))
            }
            properties.append(("title", "herald validate"))
            let command = diagnostic.severity == .error ? "error" : "warning"
            let list = properties.map { "\($0.0)=\(escapeProperty($0.1))" }.joined(separator: ",")
            return "::\(command) \(list)::\(escapeData(text(of: diagnostic)))"
        }
    }

    /// A SARIF 2.1.0 log with one run of `herald`, one result per diagnostic.
    ///
    /// Each result's rule says which kind of file it is in (`herald/campaign`, `herald/template`,
    /// `herald/segment`, `herald/configuration`, `herald/workspace`), so that code scanning can
    /// group and filter them; the message is the line `herald validate` prints, without the
    /// position.
    public static func sarif(_ diagnostics: [Diagnostic], workspace: String, toolVersion: String) -> String {
        let rules = Rule.allCases
        let results: [[String: Any]] = diagnostics.map { diagnostic in
            let rule = Rule(file: diagnostic.location?.file)
            var result: [String: Any] = [
                "ruleId": rule.id,
                "ruleIndex": rules.firstIndex(of: rule) ?? 0,
                "level": diagnostic.severity == .error ? "error" : "warning",
                "message": ["text": text(of: diagnostic)],
            ]
            // GitHub code scanning refuses a log with a result that has no location: a problem
            // of the workspace as a whole (no herald.yml, no such directory) points at its herald.yml.
            let location = diagnostic.location ?? SourceLocation(file: "herald.yml", line: 1, column: 1)
            result["locations"] = [[
                "physicalLocation": [
                    "artifactLocation": ["uri": uri(path(location.file, workspace: workspace)), "uriBaseId": "%SRCROOT%"],
                    "region": ["startLine": location.line, "startColumn": location.column],
                ] as [String: Any],
            ]]
            return result
        }
        let driver: [String: Any] = [
            "name": "herald",
            "fullName": "herald validate",
            "version": toolVersion,
            "semanticVersion": toolVersion,
            "rules": rules.map { rule in
                [
                    "id": rule.id,
                    "name": rule.name,
                    "shortDescription": ["text": rule.summary],
                    "defaultConfiguration": ["level": "error"],
                ] as [String: Any]
            },
        ]
        let log: [String: Any] = [
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [[
                "tool": ["driver": driver],
                "columnKind": "unicodeCodePoints",
                "results": results,
            ] as [String: Any]],
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: log, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]) else {
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The kinds of workspace file a diagnostic can be in: SARIF's rules.
    enum Rule: String, CaseIterable {
        case configuration, campaign, segment, template, workspace

        init(file: String?) {
            guard let file else {
                self = .workspace
                return
            }
            if file == "herald.yml" {
                self = .configuration
            } else if file.hasPrefix("campaigns/") {
                self = .campaign
            } else if file.hasPrefix("segments/") {
                self = .segment
            } else if file.hasPrefix("templates/") {
                self = .template
            } else {
                self = .workspace
            }
        }

        var id: String { "herald/\(rawValue)" }

        var name: String {
            switch self {
            case .configuration: "InvalidConfiguration"
            case .campaign: "InvalidCampaign"
            case .segment: "InvalidSegment"
            case .template: "InvalidTemplate"
            case .workspace: "InvalidWorkspace"
            }
        }

        var summary: String {
            switch self {
            case .configuration: "herald.yml has a problem"
            case .campaign: "A campaign file has a problem"
            case .segment: "A segment file has a problem"
            case .template: "A template or one of its body files has a problem"
            case .workspace: "The workspace has a problem"
            }
        }
    }

    /// The message and hint as `herald validate` prints them, without the position.
    static func text(of diagnostic: Diagnostic) -> String {
        var copy = diagnostic
        copy.location = nil
        copy.severity = .error
        return copy.description
    }

    /// The file's path from where the command ran: the workspace directory as given, joined to
    /// the file, without `./` steps; an absolute workspace under the current directory is made
    /// relative to it.
    public static func path(_ file: String, workspace: String, currentDirectory: String = FileManager.default.currentDirectoryPath) -> String {
        var directory = workspace
        if directory.hasPrefix("/") {
            let base = currentDirectory.hasSuffix("/") ? currentDirectory : currentDirectory + "/"
            if directory == currentDirectory || directory + "/" == base {
                directory = "."
            } else if directory.hasPrefix(base) {
                directory = String(directory.dropFirst(base.count))
            }
        }
        let parts = (directory.split(separator: "/", omittingEmptySubsequences: true) + file.split(separator: "/"))
            .filter { $0 != "." }
        let joined = parts.joined(separator: "/")
        return directory.hasPrefix("/") ? "/" + joined : joined
    }

    /// A relative path as a URI reference: each segment percent-encoded where RFC 3986 requires.
    static func uri(_ path: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: ";?#[]")
        return path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
    }

    static func escapeData(_ text: String) -> String {
        text.replacingOccurrences(of: "%", with: "%25")
            .replacingOccurrences(of: "\r", with: "%0D")
            .replacingOccurrences(of: "\n", with: "%0A")
    }

    static func escapeProperty(_ text: String) -> String {
        escapeData(text)
            .replacingOccurrences(of: ":", with: "%3A")
            .replacingOccurrences(of: ",", with: "%2C")
    }
}
