extension NotificationContent {
    /// The stored form: one flat object tagged with its channel, keys sorted, e.g.
    /// `{"body":"Hi","channel":"sms"}`. Written and read by hand because planning and delivery
    /// store and load one per notification, and Foundation's coders cost tens of microseconds
    /// each on Linux. Reads what the `Codable` conformance writes, and the reverse.
    public var jsonText: String {
        // Each present field as its key and its JSON text, written in key order.
        var fields: [(key: String, json: String)] = []
        func string(_ key: String, _ value: String?) {
            guard let value else { return }
            var json = ""
            JSONText.appendString(value, to: &json)
            fields.append((key, json))
        }
        string("channel", channel.rawValue)
        string("variant", variant?.description)
        switch self {
        case .push(let push):
            string("body", push.body)
            string("title", push.title)
            string("url", push.url)
            string("sound", push.sound)
            string("category", push.category)
            string("thread_id", push.threadID)
            string("image", push.image)
            string("collapse_key", push.collapseKey)
            string("priority", push.priority?.rawValue)
            if let badge = push.badge { fields.append(("badge", String(badge))) }
            if let ttl = push.ttl { fields.append(("ttl", String(ttl))) }
            if let silent = push.silent { fields.append(("silent", silent ? "true" : "false")) }
            var object = "{"
            for (index, key) in push.data.keys.sorted().enumerated() {
                if index > 0 { object += "," }
                JSONText.appendString(key, to: &object)
                object += ":"
                JSONText.appendString(push.data[key]!, to: &object)
            }
            fields.append(("data", object + "}"))
        case .sms(let sms):
            string("body", sms.body)
        case .email(let email):
            string("from_email", email.fromEmail)
            string("from_name", email.fromName)
            string("html", email.html)
            string("subject", email.subject)
            string("text", email.text)
        }
        var out = "{"
        for (index, field) in fields.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { out += "," }
            JSONText.appendString(field.key, to: &out)
            out += ":" + field.json
        }
        return out + "}"
    }

    /// Reads the stored form; `nil` when it is not a content object. A row without `variant`
    /// (stored before Herald recorded it) reads with `variant == nil`.
    public init?(jsonText: String) {
        guard case .object(let members)? = try? ImportJSON.parse(Array(jsonText.utf8)).value else { return nil }
        var text: [String: String] = [:]
        var data: [String: String] = [:]
        var numbers: [String: Double] = [:]
        var flags: [String: Bool] = [:]
        for member in members {
            switch member.node.value {
            case .string(let value): text[member.key] = value
            case .number(let value): numbers[member.key] = value
            case .bool(let value): flags[member.key] = value
            case .object(let entries) where member.key == "data":
                for entry in entries {
                    if case .string(let value) = entry.node.value { data[entry.key] = value }
                }
            default: continue
            }
        }
        let variant = text["variant"].map(TemplateVariant.init(stored:))
        switch text["channel"].flatMap(Channel.init(rawValue:)) {
        case .push:
            guard let body = text["body"] else { return nil }
            self = .push(PushContent(
                title: text["title"], body: body, url: text["url"], data: data, variant: variant,
                badge: numbers["badge"].flatMap { Int(exactly: $0) }, sound: text["sound"], category: text["category"],
                threadID: text["thread_id"], image: text["image"], ttl: numbers["ttl"].flatMap { Int(exactly: $0) },
                collapseKey: text["collapse_key"], priority: text["priority"].flatMap(PushPriority.init(rawValue:)), silent: flags["silent"]
            ))
        case .sms:
            guard let body = text["body"] else { return nil }
            self = .sms(SMSContent(body: body, variant: variant))
        case .email:
            guard let subject = text["subject"], let plain = text["text"] else { return nil }
            self = .email(EmailContent(
                subject: subject, html: text["html"], text: plain, variant: variant, fromEmail: text["from_email"], fromName: text["from_name"]
            ))
        case nil:
            return nil
        }
    }
}
