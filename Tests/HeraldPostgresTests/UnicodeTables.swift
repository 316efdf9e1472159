import Foundation

/// What `lower()` and `len()` mean in Swift, read from this toolchain's standard library, and the
/// PostgreSQL functions that mean the same (`PostgresUnicodeFunctions`, which
/// `HERALD_WRITE_UNICODE_FUNCTIONS=1 swift test --filter UnicodeFunctionsTests` writes).
///
/// `lower` is `Unicode.Scalar.Properties.lowercaseMapping` scalar by scalar, which is what
/// `String.lowercased()` does. `len` is `String.count`, the number of extended grapheme clusters,
/// whose break properties the standard library does not publish: each scalar's is found by
/// asking `String.count` about it next to scalars of known properties, so that the table is
/// this standard library's, of whatever Unicode version it implements.
struct UnicodeTables {
    /// Scalars whose lowercase mapping is one other scalar.
    var lowercase: [(from: UInt32, to: UInt32)] = []
    /// Scalars whose lowercase mapping is several scalars (`İ` → `i̇`).
    var lowercaseExpanding: [(from: UInt32, to: [UInt32])] = []
    /// `(first scalar, property)` for each run of scalars with the same grapheme break
    /// properties, from 0: `GraphemeProperty.code`.
    var graphemeRuns: [(start: UInt32, code: Int)] = []

    /// Grapheme_Cluster_Break values, as numbered in the SQL.
    enum Break: Int, CaseIterable {
        case other = 0, cr, lf, control, extend, zwj, regionalIndicator, prepend, spacingMark, l, v, t, lv, lvt
    }

    /// Indic_Conjunct_Break values, as numbered in the SQL.
    enum Conjunct: Int {
        case none = 0, consonant, linker, extend
    }

    /// A scalar's three properties in one number: break + 16 × Extended_Pictographic + 32 × conjunct.
    static func code(_ gcb: Break, pictographic: Bool, conjunct: Conjunct) -> Int {
        gcb.rawValue + (pictographic ? 16 : 0) + 32 * conjunct.rawValue
    }

    static func derive() -> UnicodeTables {
        var tables = UnicodeTables()
        var last = -1
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let mapping = Array(scalar.properties.lowercaseMapping.unicodeScalars).map(\.value)
            if mapping != [value] {
                if mapping.count == 1 { tables.lowercase.append((value, mapping[0])) } else { tables.lowercaseExpanding.append((value, mapping)) }
            }
            let code = graphemeCode(scalar)
            if code != last {
                tables.graphemeRuns.append((value, code))
                last = code
            }
        }
        return tables
    }

    private static func count(_ scalars: Unicode.Scalar...) -> Int {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view).count
    }

    /// The grapheme break properties of `x`, from where `String.count` breaks around it: next to
    /// `a` (Other), a combining acute accent (Extend), an emoji and a zero-width joiner (GB11),
    /// Hangul jamo (GB6 to GB8) and Devanagari ka and virama (GB9c).
    static func graphemeCode(_ x: Unicode.Scalar) -> Int {
        let a: Unicode.Scalar = "a", acute: Unicode.Scalar = "\u{301}", zwj: Unicode.Scalar = "\u{200D}", emoji: Unicode.Scalar = "\u{1F600}"
        let jamoL: Unicode.Scalar = "\u{1100}", jamoV: Unicode.Scalar = "\u{1161}", jamoT: Unicode.Scalar = "\u{11A8}"
        let ka: Unicode.Scalar = "\u{915}", virama: Unicode.Scalar = "\u{94D}"
        let gcb: Break
        if x == "\r" {
            gcb = .cr
        } else if x == "\n" {
            gcb = .lf
        } else if x == zwj {
            gcb = .zwj
        } else if count(x, acute) == 2 {
            gcb = .control  // GB5 only: nothing else breaks before an Extend.
        } else if count(a, x) == 1 {
            // Only an Extend continues an emoji's ZWJ sequence (GB11).
            gcb = count(emoji, x, zwj, emoji) == 1 ? .extend : .spacingMark
        } else if count(x, a) == 1 {
            gcb = .prepend
        } else if count(x, x) == 1, count(x, x, x) == 2 {
            gcb = .regionalIndicator
        } else if count(jamoL, x) == 1 {
            switch (count(x, jamoV), count(x, jamoT)) {
            case (1, 2): gcb = .l
            case (1, 1): gcb = count(jamoV, x) == 1 ? .v : .lv
            default: gcb = .lvt
            }
        } else if count(jamoT, x) == 1 {
            gcb = .t
        } else {
            gcb = .other
        }
        let pictographic = gcb == .other && count(x, zwj, emoji) == 1
        var conjunct = Conjunct.none
        if gcb == .other, count(ka, virama, x) == 1 {
            conjunct = .consonant
        } else if gcb == .extend || gcb == .zwj {
            if count(ka, x, ka) == 1 {
                conjunct = .linker
            } else if count(ka, x, virama, ka) == 1 {
                conjunct = .extend
            }
        }
        return code(gcb, pictographic: pictographic, conjunct: conjunct)
    }

    // MARK: SQL

    /// The SQL of the functions, each statement a `CREATE OR REPLACE FUNCTION`.
    var statements: [String] {
        lowerFunctions + [graphemeCodeFunction, graphemeCountFunction, lengthFunction]
    }

    /// Where `herald_lower_scripts` splits the non-ASCII mappings: `translate` looks each scalar
    /// up in its list one by one, so a text pays only for the lists of the scripts it holds
    /// (Latin, Greek and Cyrillic, then the rest of the BMP below U+2000, then the others).
    static let lowercaseGroups: [Range<UInt32>] = [0x80..<0x250, 0x250..<0x600, 0x600..<0x2000, 0x2000..<0x110000]

    /// The SQL of the case functions: `herald_lower(text)` leaves a text without any scalar to
    /// map as it is, and lowers ASCII text with `lower` in the "C" collation (ASCII only), both
    /// inlined into the query; other texts go to `herald_lower_scripts`, which expands the
    /// mappings of several scalars with `replace`, lowers ASCII, and maps each script present
    /// with `translate`.
    var lowerFunctions: [String] {
        let changing = Self.ranges(lowercase.map(\.from) + lowercaseExpanding.map(\.from))
        var mapped = "value"
        for (from, to) in lowercaseExpanding {
            mapped = "replace(\(mapped), \(Self.literal([from])), \(Self.literal(to)))"
        }
        var steps = ""
        for group in Self.lowercaseGroups {
            let pairs = lowercase.filter { group.contains($0.from) }
            guard !pairs.isEmpty else { continue }
            steps += """
                    IF result COLLATE "C" ~ \(Self.bracket(Self.ranges(pairs.map(\.from)))) THEN
                        result := translate(result, \(Self.literal(pairs.map(\.from))), \(Self.literal(pairs.map(\.to))));
                    END IF;

                """
        }
        let scripts = """
            CREATE OR REPLACE FUNCTION herald_lower_scripts(value text) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
            DECLARE
                result text := lower(\(mapped) COLLATE "C");
            BEGIN
            \(steps)    RETURN result;
            END
            $$
            """
        let lower = """
            CREATE OR REPLACE FUNCTION herald_lower(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT CASE
                WHEN value COLLATE "C" !~ \(Self.bracket(changing)) THEN value
                WHEN octet_length(value) = char_length(value) THEN lower(value COLLATE "C")
                ELSE herald_lower_scripts(value)
            END
            $$
            """
        return [scripts, lower]
    }

    /// `herald_len(text)`: when no two neighbouring scalars can be in one grapheme cluster (no
    /// Extend, ZWJ or SpacingMark, no Prepend before anything, no pair of regional indicators,
    /// no Hangul jamo that join), the scalars minus the CR LF pairs; else `herald_grapheme_count`.
    var lengthFunction: String {
        func scalars(_ breaks: Break...) -> [UInt32] {
            var values: [UInt32] = []
            for (index, run) in graphemeRuns.enumerated() where breaks.contains(Break(rawValue: run.code % 16)!) {
                let end = index + 1 < graphemeRuns.count ? graphemeRuns[index + 1].start : 0x110000
                values += Array(run.start..<end)
            }
            return values
        }
        let pairs = [
            Self.bracketPattern(Self.ranges(scalars(.extend, .zwj, .spacingMark))),
            Self.bracketPattern(Self.ranges(scalars(.prepend))) + ".",
            Self.bracketPattern(Self.ranges(scalars(.regionalIndicator))) + Self.bracketPattern(Self.ranges(scalars(.regionalIndicator))),
            Self.bracketPattern(Self.ranges(scalars(.l))) + Self.bracketPattern(Self.ranges(scalars(.l, .v, .lv, .lvt))),
            Self.bracketPattern(Self.ranges(scalars(.lv, .v))) + Self.bracketPattern(Self.ranges(scalars(.v, .t))),
            Self.bracketPattern(Self.ranges(scalars(.lvt, .t))) + Self.bracketPattern(Self.ranges(scalars(.t))),
        ]
        return """
            CREATE OR REPLACE FUNCTION herald_len(value text) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT CASE
                WHEN value COLLATE "C" !~ E'\(pairs.joined(separator: "|"))'
                    THEN char_length(value) - (octet_length(value) - octet_length(replace(value, E'\\r\\n', ''))) / 2
                ELSE herald_grapheme_count(value)
            END
            $$
            """
    }

    /// `herald_grapheme_code(scalar)`: a scalar's grapheme break properties, by `width_bucket`
    /// (a binary search in C) in the runs. A SQL expression on constant arrays, which PostgreSQL
    /// inlines where it is called: held in PL/pgSQL variables, the arrays were copied on every
    /// call, which cost 15 times the count itself.
    var graphemeCodeFunction: String {
        let starts = graphemeRuns.map { String($0.start) }.joined(separator: ",")
        let codes = graphemeRuns.map { String($0.code) }.joined(separator: ",")
        return """
            CREATE OR REPLACE FUNCTION herald_grapheme_code(scalar integer) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            -- The code of the run of scalars that holds `scalar`: its Grapheme_Cluster_Break (0 Other,
            -- 1 CR, 2 LF, 3 Control, 4 Extend, 5 ZWJ, 6 Regional_Indicator, 7 Prepend, 8 SpacingMark,
            -- 9 L, 10 V, 11 T, 12 LV, 13 LVT) + 16 for Extended_Pictographic + 32 × Indic_Conjunct_Break
            -- (1 Consonant, 2 Linker, 3 Extend). First the codes of the runs, then their first scalars.
            SELECT (CAST('{\(codes)}' AS integer[]))[width_bucket(scalar, CAST('{\(starts)}' AS integer[]))]
            $$
            """
    }

    /// `herald_grapheme_count(text)`: the extended grapheme clusters of UAX #29 (GB3 to GB999),
    /// scalar by scalar.
    var graphemeCountFunction: String {
        """
        CREATE OR REPLACE FUNCTION herald_grapheme_count(value text) RETURNS integer LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
        DECLARE
            clusters integer := 0;
            previous integer := -1;
            letter text;
            code integer;
            gcb integer;
            -- 1: Extended_Pictographic Extend*; 2: the same and a ZWJ (GB11).
            emoji integer := 0;
            -- 1: a consonant and conjunct extenders; 2: the same with a linker (GB9c).
            conjunct integer := 0;
            -- An odd number of regional indicators ends at the previous scalar (GB12, GB13).
            oddFlags boolean := false;
            joins boolean;
        BEGIN
            FOREACH letter IN ARRAY string_to_array(value, NULL) LOOP
                code := herald_grapheme_code(ascii(letter));
                gcb := code % 16;
                -- PL/pgSQL would end an IF condition at the first THEN inside a CASE.
                joins := CASE
                    WHEN previous < 0 THEN false
                    WHEN previous = 1 AND gcb = 2 THEN true
                    WHEN previous IN (1, 2, 3) OR gcb IN (1, 2, 3) THEN false
                    WHEN previous = 9 AND gcb IN (9, 10, 12, 13) THEN true
                    WHEN previous IN (10, 12) AND gcb IN (10, 11) THEN true
                    WHEN previous IN (11, 13) AND gcb = 11 THEN true
                    WHEN gcb IN (4, 5, 8) THEN true
                    WHEN previous = 7 THEN true
                    WHEN conjunct = 2 AND code / 32 = 1 THEN true
                    WHEN emoji = 2 AND (code / 16) % 2 = 1 THEN true
                    WHEN previous = 6 AND gcb = 6 AND oddFlags THEN true
                    ELSE false
                END;
                IF NOT joins THEN clusters := clusters + 1; END IF;
                emoji := CASE
                    WHEN (code / 16) % 2 = 1 THEN 1
                    WHEN emoji = 1 AND gcb = 4 THEN 1
                    WHEN emoji = 1 AND gcb = 5 THEN 2
                    ELSE 0
                END;
                conjunct := CASE code / 32
                    WHEN 1 THEN 1
                    WHEN 2 THEN CASE WHEN conjunct > 0 THEN 2 ELSE 0 END
                    WHEN 3 THEN conjunct
                    ELSE 0
                END;
                oddFlags := gcb = 6 AND NOT (previous = 6 AND oddFlags);
                previous := gcb;
            END LOOP;
            RETURN clusters;
        END
        $$
        """
    }

    /// Consecutive values as ranges.
    static func ranges(_ values: [UInt32]) -> [ClosedRange<UInt32>] {
        var result: [ClosedRange<UInt32>] = []
        for value in values.sorted() {
            if let last = result.last, last.upperBound &+ 1 == value {
                result[result.count - 1] = last.lowerBound...value
            } else {
                result.append(value...value)
            }
        }
        return result
    }

    /// A regular expression bracket in an escape string: `E'[\\u0041-\\u005A…]'`.
    static func bracket(_ ranges: [ClosedRange<UInt32>]) -> String {
        "E'" + bracketPattern(ranges) + "'"
    }

    /// The bracket's text inside an escape string, where each backslash is doubled.
    static func bracketPattern(_ ranges: [ClosedRange<UInt32>]) -> String {
        // No scalar of a PostgreSQL text is in the complement of 1...0x10FFFF.
        if ranges.isEmpty { return "[^" + escape(1, backslash: "\\\\") + "-" + escape(0x10FFFF, backslash: "\\\\") + "]" }
        var out = "["
        for range in ranges {
            out += escape(range.lowerBound, backslash: "\\\\")
            if range.upperBound > range.lowerBound { out += "-" + escape(range.upperBound, backslash: "\\\\") }
        }
        return out + "]"
    }

    /// Scalars as an escape string literal, `E'\u0130'`, which means the same whatever
    /// `standard_conforming_strings` says.
    static func literal(_ values: [UInt32]) -> String {
        "E'" + values.map { escape($0, backslash: "\\") }.joined() + "'"
    }

    private static func escape(_ value: UInt32, backslash: String) -> String {
        let hex = String(value, radix: 16, uppercase: true)
        if value <= 0xFFFF { return backslash + "u" + String(repeating: "0", count: 4 - hex.count) + hex }
        return backslash + "U" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// The Swift source of `PostgresUnicodeFunctions`.
    var source: String {
        var out = """
            // Generated by `HERALD_WRITE_UNICODE_FUNCTIONS=1 swift test --filter UnicodeFunctionsTests`
            // (Tests/HeraldPostgresTests/UnicodeTables.swift) from the Swift standard library's own
            // case mappings and grapheme breaking. Do not edit.
            //
            // The `v2-rules` migration runs these statements; a landed migration never changes. When
            // a new toolchain brings a new Unicode version, UnicodeFunctionsTests fails: keep these
            // statements for v2-rules, generate the new ones into a second enum and run them in a
            // new migration (they are CREATE OR REPLACE).

            /// `herald_lower`, `herald_len` and their helpers: Swift's `lowercased()` and
            /// `count` in PostgreSQL, for \(lowercase.count + lowercaseExpanding.count) case mappings and \(graphemeRuns.count) runs of grapheme break properties.
            package enum PostgresUnicodeFunctions {
                package static let statements: [String] = [

            """
        for statement in statements {
            out += "        #\"\"\"\n"
            for line in statement.split(separator: "\n", omittingEmptySubsequences: false) {
                out += line.isEmpty ? "\n" : "        \(line)\n"
            }
            out += "        \"\"\"#,\n"
        }
        out += "    ]\n}\n"
        return out
    }
}
