/// Well-formed BCP 47 language tags (RFC 5646), as locale variants of templates are named:
/// `ko`, `ko-KR`, `pt-BR`, `zh-Hant-TW`, `es-419`.
///
/// The check is for form, not registration, except that the language must be a two- or
/// three-letter ISO 639 code: the 5–8 letter languages RFC 5646 reserves would let `korean`
/// through, which is a mistake rather than a locale.
public enum LocaleTag {
    /// Whether `tag` is well formed: language (2–3 letters, with up to three 3-letter extlangs),
    /// then optional script (4 letters), region (2 letters or 3 digits), variants, extensions and
    /// a private-use part, separated by `-`.
    public static func isWellFormed(_ tag: String) -> Bool {
        guard !tag.isEmpty, tag.count <= 64, tag.unicodeScalars.allSatisfy({ $0.isASCII }) else { return false }
        let subtags = tag.split(separator: "-", omittingEmptySubsequences: false).map { Array($0.utf8) }
        var index = 0
        func next() -> [UInt8]? { index < subtags.count ? subtags[index] : nil }

        guard let language = next(), (2...3).contains(language.count), language.allSatisfy(isLetter) else { return false }
        index += 1
        var extlangs = 0
        while language.count <= 3, extlangs < 3, let subtag = next(), subtag.count == 3, subtag.allSatisfy(isLetter) {
            extlangs += 1
            index += 1
        }
        if let subtag = next(), subtag.count == 4, subtag.allSatisfy(isLetter) {
            index += 1
        }
        if let subtag = next(), (subtag.count == 2 && subtag.allSatisfy(isLetter)) || (subtag.count == 3 && subtag.allSatisfy(isDigit)) {
            index += 1
        }
        while let subtag = next(), isVariant(subtag) {
            index += 1
        }
        while let subtag = next(), subtag.count == 1, let singleton = subtag.first, isAlphanumeric(singleton),
              singleton != UInt8(ascii: "x"), singleton != UInt8(ascii: "X") {
            index += 1
            var parts = 0
            while let part = next(), (2...8).contains(part.count), part.allSatisfy(isAlphanumeric) {
                parts += 1
                index += 1
            }
            guard parts > 0 else { return false }
        }
        if let subtag = next(), subtag == [UInt8(ascii: "x")] || subtag == [UInt8(ascii: "X")] {
            index += 1
            var parts = 0
            while let part = next(), (1...8).contains(part.count), part.allSatisfy(isAlphanumeric) {
                parts += 1
                index += 1
            }
            guard parts > 0 else { return false }
        }
        return index == subtags.count
    }

    private static func isVariant(_ subtag: [UInt8]) -> Bool {
        guard subtag.allSatisfy(isAlphanumeric) else { return false }
        if (5...8).contains(subtag.count) { return true }
        return subtag.count == 4 && isDigit(subtag[0])
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isLetter(byte) || isDigit(byte)
    }
}
