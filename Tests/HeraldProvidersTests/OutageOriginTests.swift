import Foundation
@testable import HeraldSandbox
import Testing

/// Outages counted from the sandbox's first provider request (`outages_from: first_request`), so
/// that a test which plans for a while before sending still sends through the outage.
@Suite struct OutageOriginTests {
    @Test func outagesCountFromTheFirstProviderRequestWhenTheFaultsFileSaysSo() throws {
        let plan = try FaultPlan.load(yaml: """
            outages_from: first_request
            twilio: {outages: [{from: 5s, to: 35s}]}
            """, file: "faults.yml")
        #expect(plan.outagesFrom == .firstRequest)
        var draw = FaultDraw(seed: 1, outagesFrom: plan.outagesFrom)
        // The first request (to another provider) comes 100 s after the start: Twilio is down
        // from 105 s to 135 s.
        #expect(draw.status(for: plan[.vonage], elapsed: 100) == nil)
        #expect(draw.status(for: plan[.twilio], elapsed: 104.9) == nil)
        #expect(draw.status(for: plan[.twilio], elapsed: 105) == 503)
        #expect(draw.status(for: plan[.twilio], elapsed: 134.9) == 503)
        #expect(draw.status(for: plan[.twilio], elapsed: 135) == nil)
    }

    @Test func byDefaultOutagesCountFromTheStart() throws {
        let plan = try FaultPlan.load(yaml: "twilio: {outages: [{from: 5s, to: 35s}]}\n", file: "faults.yml")
        #expect(plan.outagesFrom == .start)
        var draw = FaultDraw(seed: 1, outagesFrom: plan.outagesFrom)
        #expect(draw.status(for: plan[.twilio], elapsed: 10) == 503)
        #expect(draw.status(for: plan[.twilio], elapsed: 105) == nil)
        #expect(throws: SandboxError.self) { try FaultPlan.load(yaml: "outages_from: later\n", file: "faults.yml") }
    }
}
