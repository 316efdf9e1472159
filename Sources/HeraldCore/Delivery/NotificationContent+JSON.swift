extension NotificationContent {
    /// The stored form: one flat object tagged with its channel, keys sorted, e.g.
    /// `{"body":"Hi","channel":"sms"}`. Written and read by hand because planning and delivery
    /// store and load one per notification, and Foundation's coders cost tens of microseconds
    /// each on Linux. Reads what the `Codable` conformance writes, and the reverse.
    public var jsonText: String {
        var fields: [(String, String?)] = [("channel", channel.rawValue), ("variant", variant?.description)]
        switch self {
        case .push(let push):
            fields += [("body", push.body), ("title", push.title), ("url", push.url)]
        case .sms(let sms):
            fields += [("body", sms.body)]
        case .email(let email):
            fields += [("html", email.html), ("subject", email.subject), ("text", email.text)]
        }
        var out = "{"
        var first = true
        var data: String?
        if case .push(let push) = self {
            var object = "{"
            for (index, key) in push.data.keys.sorted().enumerated() {
                if index > 0 { object += "," }
                UserJSONLinesWriter.appendString(key, to: &object)
                object += ":"
                UserJSONLinesWriter.appendString(push.data[key]!, to: &object)
            }
            data = object + "}"
        }
        for (key, value) in fields.sorted(by: { $0.0 < $1.0 }) {
            if key > "data", let object = data {
                out += (first ? "" : ",") + "\"data\":" + object
                first = false
                data = nil
            }
            guard let value else { continue }
            if !first { out += "," }
            first = false
            UserJSONLinesWriter.appendString(key, to: &out)
            out += ":"
            UserJSONLinesWriter.appendString(value, to: &out)
        }
        if let object = data { out += (first ? "" : ",") + "\"data\":" + object }
        return out + "}"
    }

    /// Reads the stored form; `nil` when it is not a content object. A row without `variant`
    /// (stored before Herald recorded it) reads with `variant == nil`.
    public init?(jsonText: String) {
        guard case .object(let members)? = try? ImportJSON.parse(Array(jsonText.utf8)).value else { return nil }
        var text: [String: String] = [:]
        var data: [String: String] = [:]
        for member in members {
            switch member.node.value {
            case .string(let value): text[member.key] = value
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
            self = .push(PushContent(title: text["title"], body: body, url: text["url"], data: data, variant: variant))
        case .sms:
            guard let body = text["body"] else { return nil }
            self = .sms(SMSContent(body: body, variant: variant))
        case .email:
            guard let subject = text["subject"], let plain = text["text"] else { return nil }
            self = .email(EmailContent(subject: subject, html: text["html"], text: plain, variant: variant))
        case nil:
            return nil
        }
    }
}
