/// A whole workspace, loaded and checked: herald.yml, campaigns, segments and templates.
public struct Workspace: Sendable, Hashable {
    /// The workspace directory, as given.
    public var root: String
    public var configuration: HeraldConfiguration
    /// Sorted by id.
    public var campaigns: [Campaign]
    public var segments: [String: Segment]
    public var templates: [String: Template]
    /// Campaigns left out because they cannot be sent as they are, by id (or by file when the
    /// id could not be read), with the reason: their file has errors, or the template or
    /// segment they use does. Empty for a workspace without errors.
    public var unusableCampaigns: [String: String]

    public init(
        root: String, configuration: HeraldConfiguration, campaigns: [Campaign] = [], segments: [String: Segment] = [:],
        templates: [String: Template] = [:], unusableCampaigns: [String: String] = [:]
    ) {
        self.root = root
        self.configuration = configuration
        self.campaigns = campaigns
        self.segments = segments
        self.templates = templates
        self.unusableCampaigns = unusableCampaigns
    }

    /// The preference keys users of this workspace may set: channels, `marketing`, the
    /// categories of herald.yml and of every campaign, and `channel:category`.
    public var preferenceKeys: PreferenceVocabulary {
        PreferenceVocabulary(categories: configuration.categories + campaigns.map(\.category))
    }

    public func campaign(id: String) -> Campaign? {
        campaigns.first { $0.id == id }
    }
}
