/// The name and locale a template file's name gives: `restock.yml` is the base of template
/// `restock`, `restock.ko-KR.yml` its `ko-KR` variant.
public struct TemplateFileName: Sendable, Hashable {
    /// The template name: everything before the first `.`.
    public var name: String
    /// The locale between the name and `.yml`; `nil` for the base file. Not checked here (see
    /// `LocaleTag.isWellFormed`).
    public var locale: String?

    /// A name and locale as they are; `init?(fileName:)` reads them from a file name.
    public init(name: String, locale: String? = nil) {
        self.name = name
        self.locale = locale
    }

    /// Splits a file name (`restock.ko.yml`) or a path ending in one; `nil` when it does not end in
    /// `.yml` or has no name before the first dot.
    public init?(fileName: String) {
        let last = fileName.split(separator: "/").last.map(String.init) ?? fileName
        guard last.hasSuffix(".yml") else { return nil }
        let stem = last.dropLast(4)
        guard let dot = stem.firstIndex(of: ".") else {
            guard !stem.isEmpty else { return nil }
            self.init(name: String(stem))
            return
        }
        let name = stem[..<dot]
        guard !name.isEmpty else { return nil }
        self.init(name: String(name), locale: String(stem[stem.index(after: dot)...]))
    }

    /// Whether a template name is usable: at most 64 letters, digits, `-` and `_`.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_")
        }
    }
}
