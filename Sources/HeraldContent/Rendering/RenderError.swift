import HeraldCore

/// Why a template could not be rendered for a channel.
///
/// The code is stable (for metrics and tests); the description is the sentence a user sees.
public struct RenderError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case unknownTemplate = "unknown_template"
            case missingChannel = "missing_channel"
            case invalidTemplate = "invalid_template"
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// No template has the requested name.
        public static let unknownTemplate = Code(.unknownTemplate)
        /// The template has no content for the requested channel.
        public static let missingChannel = Code(.missingChannel)
        /// A field the channel needs is not valid Mustache.
        public static let invalidTemplate = Code(.invalidTemplate)

        /// `unknown_template`, `missing_channel`, `invalid_template`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is, for metrics and tests.
    public var code: Code
    /// The template that was asked for.
    public var template: String
    /// For `invalidTemplate`: each compile error, at its file position.
    public var diagnostics: [Diagnostic]
    private var message: String

    private init(code: Code, template: String, message: String, diagnostics: [Diagnostic] = []) {
        self.code = code
        self.template = template
        self.message = message
        self.diagnostics = diagnostics
    }

    static func unknownTemplate(_ name: String, known: some Sequence<String>) -> RenderError {
        var message = "unknown template '\(name)'"
        if let match = Suggestion.closest(to: name, in: known) {
            message += " (did you mean '\(match)'?)"
        }
        return RenderError(code: .unknownTemplate, template: name, message: message)
    }

    static func missingChannel(_ channel: Channel, template: String) -> RenderError {
        let needs = switch channel {
        case .push: "a push needs a title or a body"
        case .sms: "an sms needs a body"
        case .email: "an email needs a subject and an html or text body"
        }
        return RenderError(code: .missingChannel, template: template, message: "template '\(template)' has no \(channel) content (\(needs))")
    }

    static func invalidTemplate(_ template: String, diagnostics: [Diagnostic]) -> RenderError {
        RenderError(
            code: .invalidTemplate,
            template: template,
            message: diagnostics.map(\.description).joined(separator: "\n"),
            diagnostics: diagnostics
        )
    }

    /// `template 'restock' has no sms content (an sms needs a body)`, or for an invalid template
    /// each compile error on its own line: `templates/restock.yml:3:9: invalid Mustache in …`.
    public var description: String { message }
}
