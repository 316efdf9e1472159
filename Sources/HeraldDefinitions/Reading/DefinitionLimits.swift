/// The limits that keep a bad or hostile workspace file from exhausting memory or time.
public enum DefinitionLimits {
    /// The largest workspace file read, in bytes: 1 MiB. No campaign, template or body needs more;
    /// anything larger is refused before it is parsed.
    public static let maximumFileSize = 1 << 20

    /// The deepest nesting of lists and mappings accepted in campaign `params`.
    public static let maximumParamsDepth = 32

    /// The most values (scalars, lists and mappings) accepted in one campaign's `params`, which
    /// also bounds YAML aliases that would otherwise expand exponentially.
    public static let maximumParamsValues = 10_000
}
