import Foundation
import HeraldCore
import Yams

/// Reads one `campaigns/<id>.yml` and checks its shape.
///
/// What needs other files (the template exists and has every channel's content, the segment
/// exists, ids are unique) is checked by `WorkspaceLoader`; the audience expression is kept as
/// text with its file position for the rules module.
///
/// ```swift
/// let (campaign, diagnostics) = CampaignParser().parse(text: text, file: "campaigns/restock.yml")
/// ```
public struct CampaignParser: Sendable {
    /// The zone of an `at` or `cron` schedule written without `timezone:`: herald.yml's
    /// `default_timezone`. Default `UTC`.
    public var defaultTimezone: String

    /// The fields a campaign file may have.
    public static let fields = WorkspaceSchema.campaign.names

    /// - Parameter defaultTimezone: herald.yml's `default_timezone`, for schedules without
    ///   `timezone:`.
    public init(defaultTimezone: String = "UTC") {
        self.defaultTimezone = defaultTimezone
    }

    /// Parses the text of a campaign file.
    ///
    /// - Parameter file: the path relative to the workspace root (`campaigns/restock.yml`); the
    ///   campaign id must equal its name.
    /// - Returns: the campaign, `nil` when any error was found, and every problem found.
    public func parse(text: String, file: String) -> (campaign: Campaign?, diagnostics: [Diagnostic]) {
        let parsed = parseDetails(text: text, file: file)
        return (parsed.campaign, parsed.diagnostics)
    }

    /// The campaign and the parts the workspace checks need, even when the campaign has errors, so
    /// that one error does not hide another.
    struct Details {
        var campaign: Campaign?
        var diagnostics: [Diagnostic]
        var id: (name: String, location: SourceLocation)?
        var template: (name: String, location: SourceLocation)?
        var segment: (name: String, location: SourceLocation)?
        /// The `where:` rule, kept even when the campaign has other errors so that its own
        /// problems are reported in the same run.
        var rule: RuleSource?
        var channels: [(channel: Channel, location: SourceLocation)] = []
        /// The templates the variants name instead of the campaign's.
        var variantTemplates: [(name: String, location: SourceLocation)] = []
    }

    func parseDetails(text: String, file: String) -> Details {
        let reader = YAMLReader(file: file, text: text)
        var details = Details(diagnostics: [])
        if let root = reader.root(expected: "a campaign such as {campaign: restock, channels: [push], template: restock, …}", known: Self.fields) {
            details.campaign = decode(root, reader: reader, details: &details)
        }
        details.diagnostics = reader.sortedDiagnostics
        if reader.hasErrors { details.campaign = nil }
        details.campaign?.definitionHash = DefinitionHash.fnv1a64(text.utf8)
        details.campaign?.definitionText = text
        return details
    }

    private func decode(_ fields: Fields, reader: YAMLReader, details: inout Details) -> Campaign? {
        let stem = YAMLReader.stem(of: reader.file)
        let id = reader.required(fields, "campaign", expected: "the campaign id, equal to the file name: campaign: \(stem)")
            .flatMap { node -> String? in
                guard let id = reader.text(node, name: "'campaign'", expected: "the campaign id") else { return nil }
                guard YAMLReader.isSlug(id) else {
                    reader.slugError(id, node: node, what: "campaign id", example: "restock-air-max")
                    return nil
                }
                details.id = (id, reader.location(of: node))
                guard id == stem else {
                    reader.error(
                        "campaign id '\(id)' does not match the file name '\(stem).yml'", at: node,
                        hint: "rename the file to campaigns/\(id).yml, or write campaign: \(stem)"
                    )
                    return nil
                }
                return id
            }
        let description = fields["description"].flatMap { reader.text($0, name: "'description'", expected: "a sentence describing the campaign") }
        let category: String? = fields["category"].map { decodeCategory($0, reader: reader) } ?? Campaign.marketingCategory
        let audience: Audience? = fields["audience"].map { decodeAudience($0, reader: reader, details: &details) } ?? Audience.everyone
        let channels = reader.required(fields, "channels", expected: "a list of channels: push, sms, email")
            .flatMap { node -> [Channel]? in
                guard let list = reader.channels(node, name: "'channels'", expected: "a list of channels: push, sms, email") else { return nil }
                guard !list.isEmpty else {
                    reader.error("'channels' is empty", at: node, hint: "expected at least one of: push, sms, email")
                    return nil
                }
                details.channels = list.map { ($0.channel, reader.location(of: $0.node)) }
                return list.map(\.channel)
            }
        let delivery: DeliveryMode? = fields["delivery"].map { reader.choice($0, name: "'delivery'", kind: "delivery mode") } ?? .firstAvailable
        let template = reader.required(fields, "template", expected: "the name of a template in templates/, e.g. template: restock")
            .flatMap { node -> String? in
                guard let name = reader.text(node, name: "'template'", expected: "the name of a template in templates/") else { return nil }
                details.template = (name, reader.location(of: node))
                return name
            }
        var budget = DefinitionLimits.maximumParamsValues
        let params: [String: TemplateValue]? = fields["params"].map { decodeParams($0, budget: &budget, reader: reader) } ?? [:]
        let localeParams: [String: [String: TemplateValue]]? = fields["locale_params"].map { node in
            decodeLocaleParams(node, base: fields["params"], budget: &budget, reader: reader)
        } ?? [:]
        let schedule: Schedule? = fields["schedule"].map { decodeSchedule($0, reader: reader) } ?? Schedule.manual
        let caps: [FrequencyCap]? = fields["frequency_caps"].map { reader.frequencyCaps($0, name: "'frequency_caps'") } ?? []
        let quietHours = fields["quiet_hours"].map { reader.quietHours($0, name: "'quiet_hours'") }
        let throttle = fields["throttle"].map { reader.rate($0, name: "'throttle'") }
        let expiresAfter = fields["expires_after"].map { reader.duration($0, name: "'expires_after'") }
        let experiment = decodeExperiment(fields, category: category, budget: &budget, reader: reader, details: &details)

        guard let id, let category, let audience, let channels, let delivery, let template, let params, let localeParams, let schedule, let caps,
              quietHours != .some(nil), throttle != .some(nil), expiresAfter != .some(nil), let experiment
        else { return nil }
        return Campaign(
            id: id, description: description, category: category, audience: audience, channels: channels,
            delivery: delivery, template: template, params: params, localeParams: localeParams, schedule: schedule, frequencyCaps: caps,
            quietHours: quietHours ?? nil, throttle: throttle ?? nil, expiresAfter: expiresAfter ?? nil, file: reader.file,
            experiment: experiment
        )
    }

    // MARK: Variants, holdout, conversion

    /// `variants`, `holdout` and `conversion`; nil after an error.
    private func decodeExperiment(_ fields: Fields, category: String?, budget: inout Int, reader: YAMLReader, details: inout Details) -> Experiment? {
        var experiment = Experiment()
        var failed = false
        if let node = fields["variants"] {
            if let variants = decodeVariants(node, budget: &budget, reader: reader, details: &details) {
                experiment.variants = variants
            } else {
                failed = true
            }
        }
        if let node = fields["holdout"] {
            if let basisPoints = holdout(node, reader: reader) {
                experiment.holdoutBasisPoints = basisPoints
            } else {
                failed = true
            }
        }
        if let node = fields["conversion"] {
            let expected = "{event: purchase, within: 3d}"
            if let conversion = reader.fields(node, name: "'conversion'", expected: expected, known: WorkspaceSchema.conversion.names) {
                let event = reader.required(conversion, "event", expected: "the event the API receives when someone converts, e.g. event: purchase")
                    .flatMap { eventName($0, example: "purchase", reader: reader) }
                let within = reader.required(conversion, "within", expected: "how long after the send a conversion counts, e.g. within: 3d")
                    .flatMap { reader.duration($0, name: "'within'") }
                if let event, let within {
                    experiment.conversion = Conversion(event: event, within: within)
                } else {
                    failed = true
                }
            } else {
                failed = true
            }
        }
        if experiment.holdoutBasisPoints > 0, experiment.conversion == nil, fields["conversion"] == nil, let node = fields["holdout"] {
            // The holdout gets nothing to open or click: only a conversion can be compared with it.
            reader.warning(
                "a holdout without a conversion event measures nothing", at: node,
                hint: "add conversion: {event: purchase, within: 3d}: the holdout receives nothing to open or click, so only conversions compare with it"
            )
        }
        if experiment.splits, category == Campaign.transactionalCategory,
           let node = fields["variants"] ?? fields["holdout"] {
            reader.error(
                "a transactional campaign cannot hold recipients out or test variants", at: node,
                hint: "everyone must get a transactional message (an order confirmation, a code); test a marketing campaign instead"
            )
            failed = true
        }
        return failed ? nil : experiment
    }

    private func decodeVariants(_ node: Node, budget: inout Int, reader: YAMLReader, details: inout Details) -> [Variant]? {
        let expected = "a list of variants such as {name: short, weight: 1, template: winter-sale-short} or {name: deeper, params: {discount: 40%}}"
        guard let items = reader.list(node, name: "'variants'", expected: expected) else { return nil }
        guard items.count >= 2 else {
            reader.error(
                "'variants' has \(items.count == 0 ? "no variant" : "one variant")", at: node,
                hint: "a test needs at least two variants; to compare one version with sending nothing, use holdout: 10% alone"
            )
            return nil
        }
        var variants: [Variant] = []
        var failed = false
        for item in items {
            guard let fields = reader.fields(item, name: "a variant", expected: expected, known: WorkspaceSchema.variant.names) else {
                failed = true
                continue
            }
            let name = reader.required(fields, "name", expected: "the variant's name, e.g. name: short")
                .flatMap { node -> String? in
                    guard let name = reader.text(node, name: "'name'", expected: "the variant's name") else { return nil }
                    guard YAMLReader.isSlug(name) else {
                        reader.slugError(name, node: node, what: "variant name", example: "short")
                        return nil
                    }
                    guard !Experiment.reservedNames.contains(name) else {
                        reader.error("'\(name)' is not a variant name: the report uses it for a group of its own", at: node, hint: "choose another name")
                        return nil
                    }
                    guard !variants.contains(where: { $0.name == name }) else {
                        reader.error("variant '\(name)' is listed twice", at: node, hint: "give each variant its own name")
                        return nil
                    }
                    return name
                }
            let weight = fields["weight"].map { node -> Int? in
                guard let weight = reader.integer(node, name: "'weight'", minimum: 1) else { return nil }
                guard weight <= Experiment.maximumWeight else {
                    reader.error("'weight' is at most \(Experiment.maximumWeight), found \(weight)", at: node, hint: "weights are relative: 1 and 3 split a quarter and three quarters")
                    return nil
                }
                return weight
            } ?? 1
            let template = fields["template"].map { node -> String? in
                guard let name = reader.text(node, name: "'template'", expected: "the name of a template in templates/") else { return nil }
                details.variantTemplates.append((name, reader.location(of: node)))
                return name
            }
            let params: [String: TemplateValue]? = fields["params"].map { decodeParams($0, budget: &budget, reader: reader) } ?? [:]
            guard let name, let weight, template != .some(nil), let params else {
                failed = true
                continue
            }
            variants.append(Variant(name: name, weight: weight, template: template ?? nil, params: params))
        }
        return failed ? nil : variants
    }

    /// `holdout: 10%`, in basis points; more than 0% and less than 100%, at most two decimals.
    private func holdout(_ node: Node, reader: YAMLReader) -> Int? {
        let expected = "a percentage of recipients who get nothing, e.g. holdout: 10%"
        guard let text = reader.text(node, name: "'holdout'", expected: expected) else { return nil }
        let number = text.hasSuffix("%") ? String(text.dropLast()) : ""
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard text.hasSuffix("%"), (1...2).contains(parts.count), !parts[0].isEmpty, parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              parts.count == 1 || (1...2).contains(parts[1].count), let whole = Int(parts[0]), whole <= 100
        else {
            reader.error("invalid holdout \(reader.quoted(text))", at: node, hint: "expected \(expected), with at most two decimals")
            return nil
        }
        let fraction = parts.count == 2 ? Int(parts[1].padding(toLength: 2, withPad: "0", startingAt: 0)) ?? 0 : 0
        let basisPoints = whole * 100 + fraction
        guard basisPoints > 0, basisPoints < 10_000 else {
            reader.error("holdout must be more than 0% and less than 100%, found \(text)", at: node, hint: "expected \(expected)")
            return nil
        }
        return basisPoints
    }

    private func decodeCategory(_ node: Node, reader: YAMLReader) -> String? {
        let expected = "marketing, transactional, or a topic of lowercase letters, digits, '-' and '_', e.g. price-alerts"
        guard let text = reader.text(node, name: "'category'", expected: expected) else { return nil }
        guard Preferences.isValidKey(text), !text.contains(":") else {
            reader.error("invalid category \(reader.quoted(text))", at: node, hint: "expected \(expected)")
            return nil
        }
        return text
    }

    private func decodeAudience(_ node: Node, reader: YAMLReader, details: inout Details) -> Audience? {
        let expected = "{where: <rule>} or {segment: <name>}"
        guard let fields = reader.fields(node, name: "'audience'", expected: expected, known: WorkspaceSchema.audience.names) else { return nil }
        switch (fields["where"], fields["segment"]) {
        case (let rule?, nil):
            let source = reader.ruleSource(rule, name: "'where'")
            details.rule = source
            return source.map(Audience.rule)
        case (nil, let segment?):
            guard let name = reader.text(segment, name: "'segment'", expected: "the name of a segment in segments/") else { return nil }
            let location = reader.location(of: segment)
            details.segment = (name, location)
            return .segment(name: name, location: location)
        case (.some, .some):
            reader.error("audience has both 'where' and 'segment'", at: fields.location, hint: "keep one of them")
            return nil
        case (nil, nil):
            reader.error("audience has neither 'where' nor 'segment'", at: fields.location, hint: "expected \(expected); leave out 'audience' to reach every user")
            return nil
        }
    }

    // MARK: params

    private func decodeParams(_ node: Node, budget: inout Int, reader: YAMLReader) -> [String: TemplateValue]? {
        guard let entries = reader.mapping(node, name: "'params'", expected: "a mapping of template parameters, e.g. item_name: Air Max 90") else {
            return nil
        }
        return paramValues(entries, budget: &budget, reader: reader)
    }

    private func paramValues(_ entries: [Fields.Entry], budget: inout Int, reader: YAMLReader) -> [String: TemplateValue]? {
        var params: [String: TemplateValue] = [:]
        var failed = false
        for entry in entries {
            guard let value = templateValue(entry.value, name: reader.quoted(entry.key), depth: 1, budget: &budget, reader: reader) else {
                failed = true
                if budget < 0 { break }
                continue
            }
            params[entry.key] = value
        }
        return failed ? nil : params
    }

    /// `locale_params: {ko: {ends_on: …}, pt-BR: {…}}`: values of some params for the recipients
    /// of a locale. Each locale is a well-formed BCP 47 tag, given once; each key is one of
    /// `params` (the value for every other locale), so that a misspelled override is an error
    /// rather than a variable that no template reads.
    private func decodeLocaleParams(_ node: Node, base: Node?, budget: inout Int, reader: YAMLReader) -> [String: [String: TemplateValue]]? {
        let expected = "a mapping of locales to params, e.g. ko: {item_name: 에어 맥스 90}"
        guard let locales = reader.mapping(node, name: "'locale_params'", expected: expected) else { return nil }
        // The names declared in params, even when one of their values has an error.
        var names: [String] = []
        if let base, case .mapping(let mapping) = base {
            for key in mapping.keys {
                if case .scalar(let scalar) = key { names.append(scalar.string) }
            }
        }
        var result: [String: [String: TemplateValue]] = [:]
        var seen: [String] = []
        var failed = false
        for locale in locales {
            guard LocaleTag.isWellFormed(locale.key) else {
                let corrected = locale.key.replacingOccurrences(of: "_", with: "-")
                let hint = corrected != locale.key && LocaleTag.isWellFormed(corrected)
                    ? "did you mean '\(corrected)'?"
                    : "expected a BCP 47 language tag such as ko, ko-KR, pt-BR or zh-Hant-TW"
                reader.error("invalid locale \(reader.quoted(locale.key)) in 'locale_params'", at: locale.keyNode, hint: hint)
                failed = true
                continue
            }
            if let other = seen.first(where: { $0.lowercased() == locale.key.lowercased() }) {
                reader.error("locale '\(locale.key)' is given twice in 'locale_params'", at: locale.keyNode, hint: "also as '\(other)'; keep one entry per locale")
                failed = true
                continue
            }
            seen.append(locale.key)
            let name = "'locale_params.\(locale.key)'"
            guard let entries = reader.mapping(locale.value, name: name, expected: "a mapping of params for \(locale.key), e.g. item_name: 에어 맥스 90") else {
                failed = true
                continue
            }
            var known: [Fields.Entry] = []
            for entry in entries {
                if names.contains(entry.key) {
                    known.append(entry)
                    continue
                }
                let suggestion = entry.key.count <= 64 ? Suggestion.closest(to: entry.key, in: names) : nil
                reader.error(
                    "unknown parameter \(reader.quoted(entry.key)) in \(name)", at: entry.keyNode,
                    hint: suggestion.map { "did you mean '\($0)'?" }
                        ?? "a locale can only give another value to a param of 'params', which holds the value for every other locale"
                )
                failed = true
            }
            guard let values = paramValues(known, budget: &budget, reader: reader) else {
                failed = true
                if budget < 0 { break }
                continue
            }
            result[locale.key] = values
        }
        return failed ? nil : result
    }

    /// A parameter value. Plain (unquoted) scalars are typed when they are `true`, `false`, a
    /// decimal number, a date (`2026-12-07`) or an instant with its zone
    /// (`2026-12-07T18:00:00+09:00`); a mapping of exactly `amount` and `currency` is money.
    /// Everything else, and every quoted scalar, stays text exactly as written, so `NO`,
    /// `+15005550006` and `"2026-12-07"` do not turn into a bool, a number or a date. A plain
    /// scalar shaped like a date that is not one (`2026-13-07`) is an error, since it is a typo
    /// more often than text.
    private func templateValue(_ node: Node, name: String, depth: Int, budget: inout Int, reader: YAMLReader) -> TemplateValue? {
        budget -= 1
        if budget == -1 {
            reader.error("params have too many values", at: node, hint: "at most \(DefinitionLimits.maximumParamsValues) values in all")
        }
        guard budget >= 0 else { return nil }
        if depth > DefinitionLimits.maximumParamsDepth {
            reader.error("params are nested too deeply", at: node, hint: "at most \(DefinitionLimits.maximumParamsDepth) levels")
            return nil
        }
        switch node {
        case .scalar(let scalar):
            if reader.isNull(node) {
                reader.error("no value for parameter \(name)", at: node, hint: "write \"\" for empty text, or remove the parameter")
                return nil
            }
            guard scalar.style == .plain || scalar.style == .any else { return .string(scalar.string) }
            switch scalar.string {
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            default:
                if Self.isDecimalNumber(scalar.string), let number = Double(scalar.string), number.isFinite {
                    return .number(number)
                }
                return dateValue(scalar.string, node: node, name: name, reader: reader)
            }
        case .sequence(let sequence):
            var values: [TemplateValue] = []
            for item in sequence {
                guard let value = templateValue(item, name: "an item of \(name)", depth: depth + 1, budget: &budget, reader: reader) else {
                    return nil
                }
                values.append(value)
            }
            return .list(values)
        case .mapping:
            guard let entries = reader.mapping(node, name: name, expected: "a mapping of values") else { return nil }
            if entries.count == 2, Set(entries.map(\.key)) == ["amount", "currency"] {
                return money(entries, name: name, reader: reader)
            }
            var values: [String: TemplateValue] = [:]
            for entry in entries {
                guard let value = templateValue(entry.value, name: reader.quoted(entry.key), depth: depth + 1, budget: &budget, reader: reader) else {
                    return nil
                }
                values[entry.key] = value
            }
            return .map(values)
        case .alias:
            reader.error("unsupported alias in parameter \(name)", at: node, hint: "write the value out")
            return nil
        }
    }

    /// A plain scalar that starts like a date: a date or an instant, or an error when it is not a
    /// valid one; any other text as it is.
    private func dateValue(_ text: String, node: Node, name: String, reader: YAMLReader) -> TemplateValue? {
        guard text.utf8.count >= 10, CalendarDate.looksLikeDate(String(text.prefix(10))) else { return .string(text) }
        let quote = "quote it to keep it as text"
        if text.utf8.count == 10 {
            guard let date = CalendarDate(text) else {
                reader.error("invalid date \(reader.quoted(text)) for parameter \(name)", at: node, hint: "a date is YYYY-MM-DD, e.g. 2026-12-07; \(quote)")
                return nil
            }
            return .date(date)
        }
        guard let separator = text.dropFirst(10).first, separator == "T" || separator == "t" else { return .string(text) }
        switch ISO8601.seconds(from: text) {
        case .success(let seconds):
            return .time(Date(timeIntervalSince1970: seconds))
        case .failure(let problem):
            let hint = problem.hint == ISO8601.expectedForm ? "expected an instant such as 2026-12-07T18:00:00+09:00" : problem.hint
            reader.error("invalid instant \(reader.quoted(text)) for parameter \(name)", at: node, hint: "\(hint); \(quote)")
            return nil
        }
    }

    /// `{amount: 129.00, currency: USD}`: a decimal amount and a currency Foundation knows.
    private func money(_ entries: [Fields.Entry], name: String, reader: YAMLReader) -> TemplateValue? {
        guard let amountNode = entries.first(where: { $0.key == "amount" })?.value,
              let currencyNode = entries.first(where: { $0.key == "currency" })?.value else { return nil }
        var amount: Decimal?
        if case .scalar(let scalar) = amountNode, scalar.style == .plain || scalar.style == .any, Self.isDecimalNumber(scalar.string) {
            amount = Decimal(string: scalar.string, locale: Locale(identifier: "en_US_POSIX"))
        }
        if amount == nil {
            reader.error("the amount of \(name) is not a number", at: amountNode, hint: "write money as {amount: 129.00, currency: USD}")
        }
        guard let code = reader.text(currencyNode, name: "the currency of \(name)", expected: "an ISO 4217 code such as USD, EUR or KRW") else { return nil }
        guard Money.knownCurrencies.contains(code) else {
            let suggestion = code.count <= 64 ? Suggestion.closest(to: code, in: Money.knownCurrencies) : nil
            reader.error(
                "unknown currency \(reader.quoted(code)) in \(name)", at: currencyNode,
                hint: suggestion.map { "did you mean '\($0)'?" } ?? "expected an ISO 4217 code such as USD, EUR or KRW"
            )
            return nil
        }
        guard let amount else { return nil }
        return .money(Money(amount: amount, currency: code))
    }

    /// `-12`, `3.5`, `1e3`; not `007` (a code, kept as text) nor `+1` (a phone number prefix).
    static func isDecimalNumber(_ text: String) -> Bool {
        var scalars = Substring(text).unicodeScalars[...]
        if scalars.first == "-" { scalars = scalars.dropFirst() }
        let digits = scalars.prefix { ("0"..."9").contains($0) }
        guard !digits.isEmpty, digits.count == 1 || digits.first != "0" else { return false }
        scalars = scalars.dropFirst(digits.count)
        if scalars.first == "." {
            scalars = scalars.dropFirst()
            let fraction = scalars.prefix { ("0"..."9").contains($0) }
            guard !fraction.isEmpty else { return false }
            scalars = scalars.dropFirst(fraction.count)
        }
        if scalars.first == "e" || scalars.first == "E" {
            scalars = scalars.dropFirst()
            if scalars.first == "-" || scalars.first == "+" { scalars = scalars.dropFirst() }
            let exponent = scalars.prefix { ("0"..."9").contains($0) }
            guard !exponent.isEmpty else { return false }
            scalars = scalars.dropFirst(exponent.count)
        }
        return scalars.isEmpty
    }

    // MARK: schedule

    private func decodeSchedule(_ node: Node, reader: YAMLReader) -> Schedule? {
        let expected = "one of {at: 2026-12-01T09:00}, {cron: \"0 9 * * MON\"} or {trigger: {event: cart_abandoned}}"
        guard let fields = reader.fields(node, name: "'schedule'", expected: expected, known: WorkspaceSchema.schedule.names) else {
            return nil
        }
        let kinds = ["at", "cron", "trigger"].filter { fields[$0] != nil }
        guard kinds.count == 1, let kind = kinds.first, let value = fields[kind] else {
            if kinds.isEmpty {
                reader.error("schedule has none of 'at', 'cron' or 'trigger'", at: fields.location, hint: "expected \(expected)")
            } else {
                let names = kinds.map { "'\($0)'" }
                let listed = names.dropLast().joined(separator: ", ") + " and " + (names.last ?? "")
                reader.error("schedule has \(listed)", at: fields.entry(kinds[1])?.keyNode ?? node, hint: "give exactly one of 'at', 'cron' or 'trigger'")
            }
            return nil
        }
        if kind == "trigger", let timezone = fields.entry("timezone") {
            reader.error("'timezone' does not apply to a trigger", at: timezone.keyNode, hint: "a trigger is sent when its event arrives; remove 'timezone'")
            return nil
        }
        if kind != "cron", let between = fields.entry("between") {
            reader.error("'between' applies only to a cron schedule", at: between.keyNode, hint: "remove 'between', or use 'cron'")
            return nil
        }
        if kind == "at", let timezone = fields.entry("timezone"), case .scalar(let scalar) = value, Self.instant(scalar.string) != nil {
            let instant = scalar.string
            reader.error(
                "'timezone' does not apply to an instant with an offset: \(reader.quoted(instant)) is already the same moment everywhere",
                at: timezone.keyNode,
                hint: "remove 'timezone', or write at: \(Self.wallClock(of: instant)) without the offset to read it in 'timezone'"
            )
            return nil
        }
        let zone: ScheduleZone? = fields["timezone"].map { node in
            guard let text = reader.text(node, name: "'timezone'", expected: "recipient, or \(YAMLReader.timeZoneExample)") else { return nil }
            if text == "recipient" { return .recipient }
            return reader.timeZone(node, name: "'timezone'").map(ScheduleZone.fixed)
        } ?? .fixed(defaultTimezone)
        switch kind {
        case "at":
            return at(value, zone: zone, reader: reader)
        case "cron":
            let expression = cron(value, reader: reader)
            var window: (start: LocalDateTime?, end: LocalDateTime?) = (nil, nil)
            var windowFailed = false
            if let node = fields["between"] {
                if let value = between(node, reader: reader) { window = value } else { windowFailed = true }
            }
            guard let expression, let zone, !windowFailed else { return nil }
            return .cron(CronSchedule(expression: expression, zone: zone, start: window.start, end: window.end))
        default:
            return trigger(value, reader: reader)
        }
    }

    /// `at:` is a wall-clock time read in `zone`, or an instant with an explicit offset
    /// (`2026-12-01T09:00:00Z`, `…+09:00`) that needs no zone.
    private func at(_ node: Node, zone: ScheduleZone?, reader: YAMLReader) -> Schedule? {
        let expected = "a wall-clock time such as 2026-12-01T09:00 (read in 'timezone:'), or an instant with an offset such as 2026-12-01T09:00:00Z or 2026-12-01T09:00:00+09:00"
        guard let text = reader.text(node, name: "'at'", expected: expected) else { return nil }
        if let time = LocalDateTime(text) {
            return zone.map { .at(time, zone: $0) }
        }
        if let instant = Self.instant(text) {
            return .instant(instant)
        }
        reader.error("invalid date and time \(reader.quoted(text)) for 'at'", at: node, hint: "expected \(expected)")
        return nil
    }

    /// The instant of an ISO 8601 date and time with `Z` or an offset; `nil` for anything else,
    /// a date alone included (that is a wall-clock midnight).
    static func instant(_ text: String) -> Date? {
        guard text.count > 10, LocalDateTime(text) == nil else { return nil }
        return ISO8601.date(from: text)
    }

    /// `2026-12-01T09:00:00+09:00` without its offset: `2026-12-01T09:00:00`.
    static func wallClock(of instant: String) -> String {
        guard let time = instant.firstIndex(where: { $0 == "T" || $0 == "t" }) else { return instant }
        let clock = instant[time...]
        let end = clock.firstIndex(where: { $0 == "Z" || $0 == "z" || $0 == "+" || $0 == "-" }) ?? instant.endIndex
        return String(instant[..<end])
    }

    private func cron(_ node: Node, reader: YAMLReader) -> CronExpression? {
        let form = "5 fields: minute hour day-of-month month day-of-week, e.g. \"0 9 * * MON\""
        guard let text = reader.text(node, name: "'cron'", expected: form) else { return nil }
        let expression: CronExpression
        do {
            expression = try CronExpression(text)
        } catch {
            reader.error("invalid cron expression: \(error.message)", at: reader.contentLocation(of: node), hint: "expected \(form)")
            return nil
        }
        if let hint = Self.impossibleDays(expression) {
            reader.error("cron expression \(reader.quoted(text)) never matches a date", at: reader.contentLocation(of: node), hint: hint)
            return nil
        }
        return expression
    }

    /// Why a cron expression can never fire, when its days of month do not occur in any of its
    /// months ("0 0 30 2 *"): the hint for the error, or `nil` when some date matches. With the
    /// day of week also restricted, a day matches if either field does, so a weekday still fires.
    private static func impossibleDays(_ expression: CronExpression) -> String? {
        let months = expression.months.filter { (1...12).contains($0) }.sorted()
        guard expression.isDayOfMonthRestricted, !expression.isDayOfWeekRestricted,
              let firstDay = expression.daysOfMonth.min(), let lastMonth = months.last else { return nil }
        // February 29 occurs in leap years, so 29 counts as a day of February.
        let lengths = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        let longest = months.map { lengths[$0 - 1] }.max() ?? 31
        guard firstDay > longest else { return nil }
        let names = [
            "January", "February", "March", "April", "May", "June",
            "July", "August", "September", "October", "November", "December",
        ]
        let listed = months.map { names[$0 - 1] }
        let subject = listed.count == 1
            ? "\(names[lastMonth - 1]) has"
            : "\(listed.dropLast().joined(separator: ", ")) and \(names[lastMonth - 1]) have"
        return "\(subject) at most \(longest) days; use a day of month from 1 to \(longest)"
    }

    private func between(_ node: Node, reader: YAMLReader) -> (start: LocalDateTime?, end: LocalDateTime?)? {
        let expected = "{start: 2026-12-01T00:00, end: 2027-01-31T23:59}"
        guard let fields = reader.fields(node, name: "'between'", expected: expected, known: WorkspaceSchema.between.names) else { return nil }
        guard fields["start"] != nil || fields["end"] != nil else {
            reader.error("'between' has neither 'start' nor 'end'", at: fields.location, hint: "expected \(expected)")
            return nil
        }
        let start = fields["start"].map { reader.localDateTime($0, name: "'start'") }
        let end = fields["end"].map { reader.localDateTime($0, name: "'end'") }
        guard start != .some(nil), end != .some(nil) else { return nil }
        if let start = start ?? nil, let end = end ?? nil, end < start {
            reader.error("'between' ends (\(end)) before it starts (\(start))", at: fields["end"] ?? node, hint: "make end later than start")
            return nil
        }
        return (start ?? nil, end ?? nil)
    }

    private func trigger(_ node: Node, reader: YAMLReader) -> Schedule? {
        let expected = "{event: cart_abandoned, delay: 1h}"
        guard let fields = reader.fields(node, name: "'trigger'", expected: expected, known: WorkspaceSchema.trigger.names) else { return nil }
        let event = reader.required(fields, "event", expected: "the event name the API receives, e.g. event: cart_abandoned")
            .flatMap { eventName($0, example: "cart_abandoned", reader: reader) }
        let delay = fields["delay"].map { reader.duration($0, name: "'delay'", allowZero: true) }
        guard let event, delay != .some(nil) else { return nil }
        return .trigger(event: event, delay: delay ?? nil)
    }

    /// An `event:` value: a name the API can receive.
    private func eventName(_ node: Node, example: String, reader: YAMLReader) -> String? {
        guard let name = reader.text(node, name: "'event'", expected: "an event name") else { return nil }
        guard Self.isEventName(name) else {
            reader.error("invalid event name \(reader.quoted(name))", at: node, hint: "use letters, digits, '_', '-' and '.', e.g. \(example)")
            return nil
        }
        return name
    }

    static func isEventName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 128 && text.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" || $0 == ".")
        }
    }
}
