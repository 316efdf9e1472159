import Foundation
import HeraldCore
import HeraldDefinitions
import Testing

/// Bad input never crashes, hangs or half-applies: whatever the text, a parser returns either a
/// value and no errors, or no value and at least one error placed in the file.
struct RobustnessTests {
    /// A small deterministic generator, so that a failure can be replayed.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let fragments = [
        ":", ": ", "-", "- ", "[", "]", "{", "}", ",", "\"", "'", "#", " #", "&a ", "*a", "!", "!!str ", "|", ">", "|-\n",
        "\t", "\n", "\n  ", " ", "%", "@", "`", "\\", "\u{0}", "\u{7}", "\u{FEFF}", "é", "한", "🙂", "${", "${X}", "}", "?", "? ",
        "~", "null", "true", "0", "-1", "99999999999999999999", "1e999", "2026-13-45", "0 0 * * *", "---\n", "...\n", "<<: ", "\r\n",
    ]

    static func mutations(of text: String, count: Int, seed: UInt64) -> [String] {
        var generator = SplitMix64(state: seed)
        let base = Array(text.unicodeScalars)
        var results: [String] = []
        for _ in 0..<count {
            var scalars = base
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let position = Int.random(in: 0...scalars.count, using: &generator)
                let fragment = Array((fragments.randomElement(using: &generator) ?? ":").unicodeScalars)
                switch Int.random(in: 0..<4, using: &generator) {
                case 0:
                    scalars.insert(contentsOf: fragment, at: position)
                case 1:
                    let end = min(scalars.count, position + Int.random(in: 1...8, using: &generator))
                    scalars.replaceSubrange(position..<end, with: fragment)
                case 2:
                    let end = min(scalars.count, position + Int.random(in: 1...40, using: &generator))
                    scalars.removeSubrange(position..<end)
                default:
                    let end = min(scalars.count, position + Int.random(in: 1...60, using: &generator))
                    let copied = Array(scalars[position..<end])
                    let target = Int.random(in: 0...scalars.count, using: &generator)
                    scalars.insert(contentsOf: copied, at: target)
                }
            }
            results.append(String(String.UnicodeScalarView(scalars)))
        }
        return results
    }

    /// Every prefix of `text`, cut at each Unicode scalar.
    static func truncations(of text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        return (0...scalars.count).map { String(String.UnicodeScalarView(scalars[..<$0])) }
    }

    static func checkConsistent<Value>(_ value: Value?, _ diagnostics: [Diagnostic], file: String, input: String) {
        let errors = diagnostics.filter { $0.severity == .error }
        #expect((value == nil) == !errors.isEmpty, "value and errors disagree for input:\n\(input)\n\(diagnostics)")
        for diagnostic in diagnostics {
            let location = diagnostic.location
            #expect(location?.file.hasPrefix(file.split(separator: "/").first.map(String.init) ?? file) == true, "\(diagnostic)")
            #expect((location?.line ?? 0) >= 1 && (location?.column ?? 0) >= 1, "\(diagnostic)")
            #expect(!diagnostic.message.isEmpty)
        }
    }

    @Test(.tags(.slow)) func truncatedAndMutatedCampaignsOnlyGiveDiagnostics() {
        let parser = CampaignParser()
        let file = "campaigns/restock-air-max.yml"
        let inputs = Self.truncations(of: SampleWorkspace.campaign) + Self.mutations(of: SampleWorkspace.campaign, count: 1500, seed: 1)
        var parsed = 0
        for input in inputs {
            let (campaign, diagnostics) = parser.parse(text: input, file: file)
            Self.checkConsistent(campaign, diagnostics, file: file, input: input)
            if campaign != nil { parsed += 1 }
        }
        // Sanity: the whole file and some harmless mutations (inside comments, say) still parse.
        #expect(parsed > 1)
    }

    @Test(.tags(.slow)) func mutatedConfigurationsTemplatesAndSegmentsOnlyGiveDiagnostics() {
        let loader = ConfigurationLoader(environment: SampleWorkspace.environment)
        for input in Self.mutations(of: SampleWorkspace.configuration, count: 600, seed: 2) {
            let (configuration, diagnostics) = loader.load(text: input)
            Self.checkConsistent(configuration, diagnostics, file: "herald.yml", input: input)
        }
        let templates = TemplateParser(bodyFiles: ["templates/restock.html": "<p>hi</p>", "templates/restock.txt": "hi"])
        for input in Self.truncations(of: SampleWorkspace.template) + Self.mutations(of: SampleWorkspace.template, count: 600, seed: 3) {
            let (content, diagnostics) = templates.parse(text: input, file: "templates/restock.yml")
            Self.checkConsistent(content, diagnostics, file: "templates/restock.yml", input: input)
        }
        for input in Self.mutations(of: SampleWorkspace.segment, count: 300, seed: 4) {
            let (segment, diagnostics) = SegmentParser().parse(text: input, file: "segments/wishlisters.yml")
            Self.checkConsistent(segment, diagnostics, file: "segments/wishlisters.yml", input: input)
        }
    }

    @Test func corruptedBytesOnDiskOnlyGiveDiagnostics() throws {
        var generator = SplitMix64(state: 5)
        let original = Array(SampleWorkspace.campaign.utf8)
        try withSampleWorkspace { workspace in
            for _ in 0..<40 {
                var bytes = original
                for _ in 0..<Int.random(in: 1...3, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
                try workspace.write("campaigns/restock-air-max.yml", bytes: Data(bytes))
                let (loaded, diagnostics) = workspace.load()
                #expect((loaded == nil) == diagnostics.contains { $0.severity == .error })
                #expect(diagnostics.allSatisfy { $0.location?.file == "campaigns/restock-air-max.yml" })
            }
        }
    }

    // MARK: large and deep inputs

    /// A hang fails through the time limit rather than a timed assertion.
    @Test(.tags(.slow), .timeLimit(.minutes(4))) func hugeAndDeepInputsAreRefused() async {
        let parser = CampaignParser()
        let file = "campaigns/big.yml"

        let tenMegabyteLine = "description: " + String(repeating: "x", count: 10 * 1024 * 1024)
        #expect(parser.parse(text: tenMegabyteLine, file: file).diagnostics.map(\.description) == [
            "campaigns/big.yml:1:1: file is too large: 10485773 bytes (at most 1 MiB, 1048576 bytes)",
        ])

        let longDescription = "campaign: big\nchannels: [sms]\ntemplate: t\ndescription: " + String(repeating: "word ", count: 200_000) + "\n"
        #expect(parser.parse(text: longDescription, file: file).campaign?.description?.count == 999_999)

        let longKey = String(repeating: "k", count: 1_000_000) + ": 1\n"
        #expect(parser.parse(text: longKey, file: file).diagnostics.map(\.description) == [
            "campaigns/big.yml:1:1: invalid YAML: a field name of 1000000 characters (YAML allows at most 1024 characters before the ':' of a field; shorten it)",
        ])

        let longUnknownKey = "? " + String(repeating: "k", count: 900_000) + "\n: 1\n"
        let unknown = parser.parse(text: longUnknownKey, file: file).diagnostics.map(\.description)
        // The message quotes the start of the key only, and offers no suggestion for it.
        #expect(unknown.last == "campaigns/big.yml:1:3: unknown field '" + String(repeating: "k", count: 57)
            + "…' (expected one of: campaign, description, category, audience, channels, delivery, template, params, locale_params, schedule, frequency_caps, quiet_hours, throttle, expires_after, variants, holdout, conversion)")

        #expect(parser.parse(text: String(repeating: "[", count: 1_000_000), file: file).diagnostics.map(\.description) == [
            "campaigns/big.yml:1:1: invalid YAML: nesting is too deep (at most 1000 levels of lists and mappings)",
        ])
        #expect(parser.parse(text: String(repeating: "- ", count: 500_000), file: file).diagnostics.map(\.description) == [
            "campaigns/big.yml:1:1999: invalid YAML: nesting is too deep (at most 1000 levels of lists and mappings)",
        ])
        let deepButAllowed = String(repeating: "[", count: 990) + String(repeating: "]", count: 990)
        #expect(parser.parse(text: "params: {p: \(deepButAllowed)}\n", file: file).diagnostics.map(\.description).contains(
            "campaigns/big.yml:1:45: params are nested too deeply (at most 32 levels)"
        ))

        let manyParams = "params:\n" + (0..<12_000).map { "  p\($0): \($0)\n" }.joined()
        #expect(parser.parse(text: manyParams, file: file).diagnostics.map(\.description).contains(
            "campaigns/big.yml:10002:11: params have too many values (at most 10000 values in all)"
        ))
    }

    // MARK: anchors

    @Test(arguments: [
        ("params:\n  a: &x 1\n", "2:6"),
        ("params:\n  a:\n    - &x 1\n", "3:7"),
        ("params: {a: [&x 1]}\n", "1:14"),
        ("params: {a: {b: &x 1}}\n", "1:17"),
        ("params:\n  a: !!str &x 1\n", "2:12"),
        ("? &x a\n: 1\n", "1:3"),
        ("params:\n  a: \"q\" \n  b: &x 1\n", "3:6"),
        // A quote that may continue a plain value from the line above does not hide what follows.
        ("description: b -\n  'hide\nparams: &z [x]\n", "3:9"),
        ("params: [a\n'x\n, &b [y]]\n", "3:3"),
        ("--- &a {campaign: x}\n", "1:5"),
        ("{\"params\":&b x}\n", "1:11"),
        ("params:\n  a: !!str\n    &x 1\n", "3:5"),
    ])
    func anchorsAreRefused(yaml: String, position: String) {
        #expect(CampaignParser().parse(text: yaml, file: "campaigns/a.yml").diagnostics.map(\.description) == [
            "campaigns/a.yml:\(position): YAML anchors are not supported (write the value out in full; Herald files do not use &anchors and *aliases)",
        ])
    }

    @Test func ampersandsInTextAreNotAnchors() throws {
        let yaml = """
        campaign: a
        channels: [push]
        template: t
        description: Fish &amp; chips & more, Q&A
        params:
          quoted: "Tom &Jerry"
          single: 'it''s &fine'
          block: |
            &nbsp;
              &copy; 2026
          folded: >
            &hellip;
          after: &ok is not an anchor in a comment # &not
          list: [a & b, "&c"]
        schedule:
          cron: 0 9 * * MON

        """
        let (campaign, diagnostics) = CampaignParser().parse(text: yaml, file: "campaigns/a.yml")
        // `after: &ok …` is a real anchor; everything above it is text.
        #expect(diagnostics.map(\.description) == [
            "campaigns/a.yml:13:10: YAML anchors are not supported (write the value out in full; Herald files do not use &anchors and *aliases)",
        ])
        #expect(campaign == nil)
        let withoutAnchor = yaml.replacingOccurrences(of: "after: &ok", with: "after: ok &")
        let parsed = try #require(CampaignParser().parse(text: withoutAnchor, file: "campaigns/a.yml").campaign)
        #expect(parsed.description == "Fish &amp; chips & more, Q&A")
        #expect(parsed.params["quoted"] == .string("Tom &Jerry"))
        #expect(parsed.params["single"] == .string("it's &fine"))
        #expect(parsed.params["block"] == .string("&nbsp;\n  &copy; 2026\n"))
        #expect(parsed.params["list"] == .list([.string("a & b"), .string("&c")]))
        guard case .cron(let cron) = parsed.schedule else {
            Issue.record("expected a cron schedule, got \(parsed.schedule)")
            return
        }
        #expect(cron.expression.source == "0 9 * * MON")
    }
}

/// What cannot be seen on screen is named in the message, at its own column.
@Suite struct VisibleCharacterTests {
    @Test(arguments: [
        ("campaign: winter\u{2010}sale\n", "campaigns/winter-sale.yml:1:17: invalid campaign id 'winter<U+2010>sale': U+2010 HYPHEN is not allowed (use at most 64 lowercase letters, digits and '-', e.g. restock-air-max)"),
        ("campaign: \"winter-sale\u{200B}\"\n", "campaigns/winter-sale.yml:1:23: invalid campaign id 'winter-sale<U+200B>': U+200B ZERO WIDTH SPACE is not allowed (use at most 64 lowercase letters, digits and '-', e.g. restock-air-max)"),
        ("campaign: Winter-sale\n", "campaigns/winter-sale.yml:1:11: invalid campaign id 'Winter-sale': 'W' is not allowed (use at most 64 lowercase letters, digits and '-', e.g. restock-air-max)"),
    ])
    func aBadIdNamesItsFirstBadCharacter(text: String, expected: String) throws {
        try withSampleWorkspace(["campaigns/winter-sale.yml": text + "channels: [push, email]\ntemplate: restock\n"]) { workspace in
            let messages = workspace.load().diagnostics.map(\.description).filter { $0.hasPrefix("campaigns/winter-sale.yml") }
            #expect(messages == [expected])
        }
    }

    @Test func aKeyTooLongForYAMLIsCalledThat() throws {
        let key = String(repeating: "k", count: 1_000_000)
        for text in ["\(key): 1\n", "campaign: winter-sale\n\(key): 1\nchannels: [push]\n"] {
            try withSampleWorkspace(["campaigns/winter-sale.yml": text]) { workspace in
                let messages = workspace.load().diagnostics.map(\.description).filter { $0.hasPrefix("campaigns/winter-sale.yml") }
                let line = text.hasPrefix("campaign") ? 2 : 1
                #expect(messages == [
                    "campaigns/winter-sale.yml:\(line):1: invalid YAML: a field name of 1000000 characters (YAML allows at most 1024 characters before the ':' of a field; shorten it)",
                ])
            }
        }
    }

    @Test func quotingShowsInvisibleAndLookAlikeCharacters() {
        #expect(Quoted.visible("a\u{00A0}b\u{2212}c\u{FEFF}d\té") == "'a<U+00A0>b<U+2212>c<U+FEFF>d<U+0009>é'")
        #expect(Quoted.visible("시우님") == "'시우님'")
    }
}
