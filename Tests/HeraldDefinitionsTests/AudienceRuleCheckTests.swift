import Foundation
import HeraldCore
import HeraldDefinitions
import Testing

/// Audience rules are type-checked when the workspace loads, with errors at their file position.
@Suite struct AudienceRuleCheckTests {
    @Test func aRuleErrorIsReportedWhereItIsWrittenAlsoInsideABlock() throws {
        let campaign = """
            campaign: restock-air-max
            channels: [push, email]
            template: restock
            audience:
              where: |
                country in ["KR", "JP"]
                and contry == "KR"
                and lifetime_value > "100"
            """
        try withSampleWorkspace(["campaigns/restock-air-max.yml": campaign]) { workspace in
            let (loaded, diagnostics) = workspace.load()
            #expect(loaded == nil)
            #expect(diagnostics.map(\.description) == [
                "campaigns/restock-air-max.yml:7:9: unknown attribute 'contry' (did you mean 'country'?)",
                "campaigns/restock-air-max.yml:8:24: '>' cannot compare number with string (write numbers without quotes)",
            ])
        }
    }

    @Test func aSegmentRuleIsCheckedToo() throws {
        try withSampleWorkspace(["segments/wishlisters.yml": "segment: wishlisters\nwhere: plan == \"gold\"\n"]) { workspace in
            let messages = workspace.load().diagnostics.map(\.description)
            #expect(messages.count == 1)
            #expect(messages.first?.hasPrefix("segments/wishlisters.yml:2:16: ") == true, "\(messages)")
        }
    }
}

/// One run of validation reports every problem: a campaign's audience rule is checked even when
/// the campaign has other errors.
@Suite struct EveryErrorInOneRunTests {
    @Test func anAudienceErrorIsReportedBesideTheCampaignsOtherErrors() throws {
        let campaign = """
            campaign: restock-air-max
            channels: [push, pigeon]
            template: restock
            audience:
              where: contry == "KR"
            schedule:
              at: tomorrow
            """
        try withSampleWorkspace(["campaigns/restock-air-max.yml": campaign]) { workspace in
            let (loaded, diagnostics) = workspace.load()
            #expect(loaded == nil)
            let messages = diagnostics.map(\.description).filter { $0.hasPrefix("campaigns/restock-air-max.yml") }
            #expect(messages.count == 3, "\(messages)")
            #expect(messages.contains { $0.hasPrefix("campaigns/restock-air-max.yml:2:18: unknown channel 'pigeon'") }, "\(messages)")
            #expect(messages.contains("campaigns/restock-air-max.yml:5:10: unknown attribute 'contry' (did you mean 'country'?)"), "\(messages)")
            #expect(messages.contains { $0.hasPrefix("campaigns/restock-air-max.yml:7:7: ") }, "\(messages)")
        }
    }

    @Test func aBadCampaignLeavesTheOthersUsable() throws {
        try withSampleWorkspace(["campaigns/broken.yml": "campaign: broken\nchannels: [push]\ntemplate: restock\nexpires_after: 12 hours\n"]) { workspace in
            let (usable, diagnostics) = WorkspaceLoader(environment: SampleWorkspace.environment).loadUsable(directory: workspace.root.path)
            #expect(diagnostics.contains { $0.severity == .error && $0.location?.file == "campaigns/broken.yml" })
            let loaded = try #require(usable)
            #expect(loaded.campaign(id: "broken") == nil)
            #expect(loaded.unusableCampaigns == ["broken": "campaigns/broken.yml has errors"])
            #expect(!loaded.campaigns.isEmpty)
        }
    }
}
