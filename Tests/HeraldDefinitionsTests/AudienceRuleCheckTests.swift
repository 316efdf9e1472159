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
