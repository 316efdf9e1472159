/// A whole workspace, loaded and checked: herald.yml, campaigns, segments and templates.
public struct Workspace: Sendable, Hashable {
    /// The workspace directory, as given.
    public var root: String
    public var configuration: HeraldConfiguration
    /// Sorted by id.
    public var campaigns: [Campaign]
    public var segments: [String: Segment]
    public var templates: [String: Template]

    public init(root: String, configuration: HeraldConfiguration, campaigns: [Campaign] = [], segments: [String: Segment] = [:], templates: [String: Template] = [:]) {
        self.root = root
        self.configuration = configuration
        self.campaigns = campaigns
        self.segments = segments
        self.templates = templates
    }

    public func campaign(id: String) -> Campaign? {
        campaigns.first { $0.id == id }
    }
}
