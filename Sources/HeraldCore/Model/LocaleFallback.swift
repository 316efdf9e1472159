/// The lookup order by which a recipient's locale picks locale-specific values: the exact
/// locale, then its language, then the base. Template variants and campaign `locale_params` both
/// follow it, key by key, so that `ko-KR` takes what `ko-KR` gives, the rest from `ko`, and the
/// rest from the base.
public enum LocaleFallback {
    /// The keys of `available` to lay over the base for `locale`, in order (language first, exact
    /// locale last, so that the exact one wins); matched without regard to case.
    ///
    /// ```swift
    /// LocaleFallback.keys(for: "ko-KR", in: ["ko", "ja"]) // ["ko"]
    /// LocaleFallback.keys(for: "pt-br", in: ["pt", "pt-BR"]) // ["pt", "pt-BR"]
    /// ```
    public static func keys(for locale: String?, in available: some Collection<String>) -> [String] {
        guard let locale, !locale.isEmpty, !available.isEmpty else { return [] }
        func key(named name: String) -> String? {
            if available.contains(name) { return name }
            let lowercased = name.lowercased()
            return available.first { $0.lowercased() == lowercased }
        }
        var keys: [String] = []
        let language = self.language(of: locale)
        if language != locale, let name = key(named: language) {
            keys.append(name)
        }
        if let name = key(named: locale), !keys.contains(name) {
            keys.append(name)
        }
        return keys
    }

    /// The language subtag of a locale: `ko` for `ko-KR`; the locale itself when it has none.
    public static func language(of locale: String) -> String {
        String(locale.split(separator: "-").first ?? Substring(locale))
    }
}
