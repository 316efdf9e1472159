import HeraldCore

/// One text field of a template file, named as messages name it (`push.body`,
/// `push.data.sku`), with the escaping its channel uses.
struct TemplateField: Sendable {
    var name: String
    var text: TemplateText
    var escaping: Escaping
}

extension TemplateContent {
    /// The text fields of `channel` written in this content, in file order (push data by key).
    func fields(for channel: Channel) -> [TemplateField] {
        var fields: [TemplateField] = []
        func add(_ name: String, _ text: TemplateText?, _ escaping: Escaping = .none) {
            if let text { fields.append(TemplateField(name: name, text: text, escaping: escaping)) }
        }
        switch channel {
        case .push:
            add("push.title", push?.title)
            add("push.body", push?.body)
            add("push.url", push?.url)
            add("push.sound", push?.sound)
            add("push.category", push?.category)
            add("push.thread_id", push?.threadID)
            add("push.image", push?.image)
            add("push.collapse_key", push?.collapseKey)
            for (key, text) in (push?.data ?? [:]).sorted(by: { $0.key < $1.key }) {
                add("push.data.\(key)", text)
            }
        case .sms:
            add("sms.body", sms?.body)
        case .email:
            add("email.subject", email?.subject)
            add("email.html", email?.html, .html)
            add("email.text", email?.text)
        }
        return fields
    }

    /// The push url as a field: what the built-in `link` renders.
    var linkField: TemplateField? {
        push?.url.map { TemplateField(name: "push.url", text: $0, escaping: .none) }
    }
}
