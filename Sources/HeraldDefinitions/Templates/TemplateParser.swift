import Foundation
import HeraldCore
import Yams

/// Reads one template file, `templates/<name>.yml` or its locale variant
/// `templates/<name>.<locale>.yml`, and the body files its `email.html` and `email.text` name.
///
/// A base file must say `template: <name>` and give complete sections (push needs a title or a
/// body, sms a body, email a subject and an html or text body); a variant may leave out any field
/// and inherits it from the base. A base file may say which language it is written in
/// (`locale: en`, the default), so that values are formatted in it for recipients who get the
/// base text; a variant's locale is its file name's. Assembling the base and variants into a `Template` and checking
/// that every variant has a base is `WorkspaceLoader`'s job.
///
/// ```swift
/// let parser = TemplateParser(bodyFiles: ["templates/restock.html": "<p>{{item_name}} is back</p>"])
/// let (content, diagnostics) = parser.parse(text: text, file: "templates/restock.yml")
/// ```
public struct TemplateParser: Sendable {
    /// What reading a body file found.
    public enum BodyFile: Sendable {
        /// The file's text.
        case text(String)
        /// No such file.
        case notFound
        /// The file exists but cannot be used (too large, not UTF-8, unreadable).
        case unreadable(Diagnostic)
    }

    /// Reads a body file by its path relative to the workspace root (`templates/restock.html`).
    public typealias BodyReader = @Sendable (_ path: String) -> BodyFile

    /// The fields a template file may have.
    public static let fields = WorkspaceSchema.template(isBase: true).names
    /// The fields of the `push` section.
    public static let pushFields = WorkspaceSchema.push(isBase: true).names
    /// The fields of the `sms` section.
    public static let smsFields = WorkspaceSchema.sms(isBase: true).names
    /// The fields of the `email` section; `html` and `text` name body files.
    public static let emailFields = WorkspaceSchema.email(isBase: true).names

    private let readBody: BodyReader

    /// - Parameter readBody: reads the body files that `email.html` and `email.text` name.
    public init(readBody: @escaping BodyReader) {
        self.readBody = readBody
    }

    /// Body files held in memory, by path relative to the workspace root; for tests and previews.
    public init(bodyFiles: [String: String]) {
        self.readBody = { path in bodyFiles[path].map(BodyFile.text) ?? .notFound }
    }

    /// Parses the text of a template file; its name and locale come from `file`.
    ///
    /// - Parameter file: the path relative to the workspace root (`templates/restock.ko.yml`).
    /// - Returns: the content, `nil` when any error was found, and every problem found.
    public func parse(text: String, file: String) -> (content: TemplateContent?, diagnostics: [Diagnostic]) {
        let reader = YAMLReader(file: file, text: text)
        guard let fileName = TemplateFileName(fileName: file) else {
            reader.error("a template file is named <name>.yml or <name>.<locale>.yml", at: reader.startOfFile, hint: "e.g. restock.yml or restock.ko.yml")
            return (nil, reader.sortedDiagnostics)
        }
        let content = reader.root(expected: "a template such as {template: \(fileName.name), push: {title: …, body: …}}", known: Self.fields)
            .flatMap { decode($0, fileName: fileName, reader: reader) }
        return (reader.hasErrors ? nil : content, reader.sortedDiagnostics)
    }

    private func decode(_ fields: Fields, fileName: TemplateFileName, reader: YAMLReader) -> TemplateContent? {
        let isBase = fileName.locale == nil
        let expectedName = "the template's name, equal to the file name: template: \(fileName.name)"
        let nameNode = isBase ? reader.required(fields, "template", expected: expectedName) : fields["template"]
        if let nameNode, let name = reader.text(nameNode, name: "'template'", expected: expectedName), name != fileName.name {
            reader.error(
                "template name \(reader.quoted(name)) does not match the file name '\(fileName.name)'", at: nameNode,
                hint: "write template: \(fileName.name)"
            )
        }
        var locale: String?
        if let entry = fields.entry("locale") {
            if let variantLocale = fileName.locale {
                reader.error(
                    "'locale' is given by the file name of a variant", at: entry.keyNode,
                    hint: "remove it: \(YAMLReader.stem(of: reader.file)).yml is the \(variantLocale) variant"
                )
            } else if let text = reader.text(entry.value, name: "'locale'", expected: "the language of the base file, e.g. locale: en") {
                if LocaleTag.isWellFormed(text) {
                    locale = text
                } else {
                    let corrected = text.replacingOccurrences(of: "_", with: "-")
                    reader.error(
                        "invalid locale \(reader.quoted(text))", at: entry.value,
                        hint: corrected != text && LocaleTag.isWellFormed(corrected)
                            ? "did you mean '\(corrected)'?" : "expected a BCP 47 language tag such as en, en-US or ko"
                    )
                }
            }
        }
        let push = fields["push"].map { pushTemplate($0, isBase: isBase, reader: reader) }
        let sms = fields["sms"].map { smsTemplate($0, isBase: isBase, reader: reader) }
        let email = fields["email"].map { emailTemplate($0, isBase: isBase, reader: reader) }
        if isBase, push == nil, sms == nil, email == nil {
            reader.error("template has no content", at: fields.location, hint: "expected at least one of the sections push, sms, email")
            return nil
        }
        guard push != .some(nil), sms != .some(nil), email != .some(nil) else { return nil }
        return TemplateContent(push: push ?? nil, sms: sms ?? nil, email: email ?? nil, file: reader.file, locale: locale)
    }

    private func pushTemplate(_ node: Node, isBase: Bool, reader: YAMLReader) -> PushTemplate? {
        let expected = "{title: …, body: …, url: …, data: {key: value}, badge: 1, sound: default, ttl: 4h, priority: high}"
        guard let fields = reader.fields(node, name: "'push'", expected: expected, known: Self.pushFields) else { return nil }
        let title = fields["title"].map { templateText($0, name: "'title'", reader: reader) }
        let body = fields["body"].map { templateText($0, name: "'body'", reader: reader) }
        let url = fields["url"].map { templateText($0, name: "'url'", reader: reader) }
        let data = fields["data"].map { node -> [String: TemplateText]? in
            guard let entries = reader.mapping(node, name: "'data'", expected: "a mapping of keys to text, e.g. {sku: sku-123}") else { return nil }
            var data: [String: TemplateText] = [:]
            for entry in entries {
                guard let text = templateText(entry.value, name: reader.quoted(entry.key), reader: reader) else { return nil }
                data[entry.key] = text
            }
            return data
        }
        let texts = ["sound", "category", "thread_id", "image", "collapse_key"].map { key in
            fields[key].map { templateText($0, name: "'\(key)'", reader: reader) }
        }
        let badge = fields["badge"].map { reader.integer($0, name: "'badge'", minimum: 0) }
        let ttl = fields["ttl"].map { node -> Int? in
            // APNs, FCM and Web Push keep a push for at most four weeks.
            guard let duration = reader.duration(node, name: "'ttl'", allowZero: true) else { return nil }
            guard duration.seconds <= 28 * 86_400 else {
                reader.error("'ttl' is at most 4 weeks (28d), found \(duration)", at: node, hint: "push services keep an undelivered push 4 weeks at most")
                return nil
            }
            return Int(duration.seconds)
        }
        let priority = fields["priority"].map { reader.choice($0, name: "'priority'", kind: "priority") as PushPriority? }
        let silent = fields["silent"].map { reader.bool($0, name: "'silent'") }
        guard title != .some(nil), body != .some(nil), url != .some(nil), data != .some(nil), !texts.contains(.some(nil)),
              badge != .some(nil), ttl != .some(nil), priority != .some(nil), silent != .some(nil)
        else { return nil }
        if isBase, title == nil, body == nil, silent != .some(true) {
            reader.error("push has neither a title nor a body", at: fields.location, hint: "add title: or body: (or silent: true for a data-only push)")
            return nil
        }
        if silent == .some(true), let node = fields["title"] ?? fields["body"] {
            reader.error("a silent push shows nothing: it has no title or body", at: node, hint: "remove it, or remove silent: true")
            return nil
        }
        return PushTemplate(
            title: title ?? nil, body: body ?? nil, url: url ?? nil, data: data ?? nil, badge: badge ?? nil,
            sound: texts[0] ?? nil, category: texts[1] ?? nil, threadID: texts[2] ?? nil, image: texts[3] ?? nil, ttl: ttl ?? nil,
            collapseKey: texts[4] ?? nil, priority: priority ?? nil, silent: silent ?? nil
        )
    }

    private func smsTemplate(_ node: Node, isBase: Bool, reader: YAMLReader) -> SMSTemplate? {
        guard let fields = reader.fields(node, name: "'sms'", expected: "{body: …}", known: Self.smsFields) else { return nil }
        let body = isBase
            ? reader.required(fields, "body", expected: "the text of the message, e.g. body: \"{{item_name}} is back\"").map { templateText($0, name: "'body'", reader: reader) }
            : fields["body"].map { templateText($0, name: "'body'", reader: reader) }
        guard body != .some(nil), !(isBase && body == nil) else { return nil }
        return SMSTemplate(body: body ?? nil)
    }

    private func emailTemplate(_ node: Node, isBase: Bool, reader: YAMLReader) -> EmailTemplate? {
        let expected = "{subject: …, html: restock.html, text: restock.txt}"
        guard let fields = reader.fields(node, name: "'email'", expected: expected, known: Self.emailFields) else { return nil }
        let subject = isBase
            ? reader.required(fields, "subject", expected: "the subject line, e.g. subject: \"{{item_name}} is back\"").map { templateText($0, name: "'subject'", reader: reader) }
            : fields["subject"].map { templateText($0, name: "'subject'", reader: reader) }
        let html = fields["html"].map { body($0, name: "'html'", reader: reader) }
        let text = fields["text"].map { body($0, name: "'text'", reader: reader) }
        guard subject != .some(nil), html != .some(nil), text != .some(nil), !(isBase && subject == nil) else { return nil }
        if isBase, html == nil, text == nil {
            reader.error("email has neither an html nor a text body", at: fields.location, hint: "add html: <file>.html or text: <file>.txt, files beside the template")
            return nil
        }
        return EmailTemplate(subject: subject ?? nil, html: html ?? nil, text: text ?? nil)
    }

    private func templateText(_ node: Node, name: String, reader: YAMLReader) -> TemplateText? {
        guard let text = reader.text(node, name: name, expected: "text") else { return nil }
        return TemplateText(text, at: reader.contentLocation(of: node))
    }

    /// A body file beside the template, read whole; its location is line 1, column 1 of that file.
    private func body(_ node: Node, name: String, reader: YAMLReader) -> TemplateText? {
        guard let fileName = reader.text(node, name: name, expected: "the name of a file beside the template, e.g. restock.html") else { return nil }
        let directory = reader.file.split(separator: "/").dropLast().joined(separator: "/")
        let components = fileName.split(separator: "/", omittingEmptySubsequences: false)
        guard !fileName.isEmpty, !fileName.hasPrefix("/"), !components.contains(where: { $0.isEmpty || $0 == ".." || $0 == "." }) else {
            reader.error("\(name) must name a file inside \(directory.isEmpty ? "the workspace" : directory + "/"), found \(reader.quoted(fileName))", at: node, hint: "e.g. restock.html")
            return nil
        }
        let path = directory.isEmpty ? fileName : directory + "/" + fileName
        switch readBody(path) {
        case .text(let text):
            return TemplateText(text, at: SourceLocation(file: path, line: 1, column: 1))
        case .notFound:
            reader.error("file '\(path)' not found", at: node, hint: "\(name) names a file beside the template")
            return nil
        case .unreadable(let diagnostic):
            reader.error(diagnostic.message, at: diagnostic.location ?? reader.location(of: node), hint: diagnostic.hint)
            return nil
        }
    }
}
