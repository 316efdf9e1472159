extension RulePattern {
    /// The pattern as a PostgreSQL regular expression (`text ~ pattern`) that matches exactly the
    /// texts `matches(_:)` matches.
    ///
    /// It is written only of what means the same in every locale and collation: scalars as
    /// `\uXXXX` escapes (ASCII letters and digits as themselves), classes as explicit ranges of
    /// scalar values (`\d` is `[\u0030-\u0039]`, never PostgreSQL's locale-dependent `\d`), `.`
    /// as "anything but a newline", non-capturing groups, and the anchors `^` and `$`, which
    /// PostgreSQL also reads as the start and end of the whole text. Repeats above PostgreSQL's
    /// limit of 255 are nested (`a{1000}` is `(?:(?:a){255}){3}(?:a){235}`). PostgreSQL texts
    /// hold no NUL and no surrogate, so those leave classes, and a pattern scalar NUL matches
    /// nothing.
    package var postgresSource: String {
        var parser = PatternParser(Array(source.unicodeScalars))
        // The pattern parsed when it was made; parsing it again cannot fail.
        guard let node = try? parser.parse() else { return PostgresPatternWriter.nothing }
        var out = ""
        PostgresPatternWriter.write(node, to: &out)
        return out
    }
}

/// Writes a `PatternNode` in PostgreSQL's ARE syntax (see `RulePattern.postgresSource`).
enum PostgresPatternWriter {
    /// A class no scalar of a PostgreSQL text is in.
    static let nothing = #"[^\u0001-\U0010FFFF]"#

    /// PostgreSQL's largest repeat count (RE_DUP_MAX).
    static let maximumRepeat = 255

    static func write(_ node: PatternNode, to out: inout String) {
        switch node {
        case .empty:
            out += "(?:)"
        case .scalar(let value):
            out += value == 0 ? nothing : literal(value)
        case .any:
            out += #"[^\u000A]"#
        case .set(let set):
            out += bracket(set)
        case .start:
            out += "^"
        case .end:
            out += "$"
        case .sequence(let items):
            for item in items { write(item, to: &out) }
        case .alternatives(let branches):
            out += "(?:"
            for (index, branch) in branches.enumerated() {
                if index > 0 { out += "|" }
                write(branch, to: &out)
            }
            out += ")"
        case .repeated(let item, let minimum, let maximum):
            var inner = "(?:"
            write(item, to: &inner)
            inner += ")"
            repeatWritten(inner, minimum: minimum, maximum: maximum, to: &out)
        }
    }

    /// `atom` repeated `minimum` to `maximum` times (`nil`: without bound), nested where a count
    /// passes 255: `{n,m}` is `n` times, then up to `m - n` more.
    private static func repeatWritten(_ atom: String, minimum: Int, maximum: Int?, to out: inout String) {
        if minimum <= maximumRepeat, (maximum ?? 0) <= maximumRepeat {
            out += atom + quantifier(minimum: minimum, maximum: maximum)
            return
        }
        // The required repeats: 255 at a time, then the rest.
        let (fullRequired, restRequired) = minimum.quotientAndRemainder(dividingBy: maximumRepeat)
        if fullRequired > 0 { out += "(?:\(atom){\(maximumRepeat)}){\(fullRequired)}" }
        if restRequired > 0 { out += "\(atom){\(restRequired)}" }
        guard let maximum else {
            out += atom + "*"
            return
        }
        // Up to `optional` more: (x{0,255}){0,q} gives 0 to 255·q, and x{0,r} up to r more.
        let (fullOptional, restOptional) = (maximum - minimum).quotientAndRemainder(dividingBy: maximumRepeat)
        if fullOptional > 0 { out += "(?:\(atom){0,\(maximumRepeat)}){0,\(fullOptional)}" }
        if restOptional > 0 { out += "\(atom){0,\(restOptional)}" }
    }

    private static func quantifier(minimum: Int, maximum: Int?) -> String {
        switch (minimum, maximum) {
        case (0, nil): "*"
        case (1, nil): "+"
        case (0, 1): "?"
        case (_, nil): "{\(minimum),}"
        case (_, let maximum?) where maximum == minimum: "{\(minimum)}"
        case (_, let maximum?): "{\(minimum),\(maximum)}"
        }
    }

    private static func literal(_ value: UInt32) -> String {
        if let scalar = Unicode.Scalar(value), scalar.isASCII,
           ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) {
            return String(scalar)
        }
        return escape(value)
    }

    private static func escape(_ value: UInt32) -> String {
        let hex = String(value, radix: 16, uppercase: true)
        if value <= 0xFFFF { return #"\u"# + String(repeating: "0", count: 4 - hex.count) + hex }
        return #"\U"# + String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// The set as a bracket of escaped ranges, without NUL and surrogates, which no PostgreSQL
    /// text holds.
    private static func bracket(_ set: ScalarSet) -> String {
        var ranges: [ClosedRange<UInt32>] = []
        for range in set.ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            for piece in [range.clamped(to: 1...0xD7FF), range.clamped(to: 0xE000...0x10FFFF)] where !piece.isEmpty {
                // clamped(to:) gives an empty-looking range at the bound when they do not overlap.
                guard piece.overlaps(range), range.contains(piece.lowerBound) else { continue }
                if let last = ranges.last, piece.lowerBound <= last.upperBound &+ 1 {
                    ranges[ranges.count - 1] = last.lowerBound...max(last.upperBound, piece.upperBound)
                } else {
                    ranges.append(piece)
                }
            }
        }
        guard !ranges.isEmpty else { return nothing }
        var out = "["
        for range in ranges {
            out += escape(range.lowerBound)
            if range.upperBound > range.lowerBound { out += "-" + escape(range.upperBound) }
        }
        return out + "]"
    }
}
