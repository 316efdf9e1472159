import HeraldCore
import Testing

/// The lift against the holdout, against cases computed by hand:
/// d = p₁ − p₂, SE = √(p₁(1−p₁)/n₁ + p₂(1−p₂)/n₂), 95% CI d ± 1.96·SE, z = d / SE.
struct LiftTests {
    @Test func twelvePercentAgainstNineOnAThousandEachIsSignificant() throws {
        // p₁ = 0.12, p₂ = 0.09: d = 0.03, SE = √(0.1056 + 0.0819) / √1000 = 0.0136931.
        let lift = try #require(Lift(converted: 120, people: 1000, baselineConverted: 90, baselinePeople: 1000))
        #expect(abs(lift.difference - 0.03) < 1e-12)
        #expect(abs(lift.low - 0.0031621) < 1e-6)
        #expect(abs(lift.high - 0.0568379) < 1e-6)
        #expect(abs(lift.z - 2.19089) < 1e-5)
        #expect(abs((lift.relative ?? 0) - 1.0 / 3.0) < 1e-12)
        #expect(lift.isSignificant)
        #expect(lift.summary == "+3.0 pts (95% CI +0.3 to +5.7 pts), significant")
    }

    @Test func theSameRatesOnAHundredEachAreNotSignificantYet() throws {
        // SE = √(0.1056 + 0.0819) / 10 = 0.0433013: the interval −5.5 to +11.5 points holds 0.
        let lift = try #require(Lift(converted: 12, people: 100, baselineConverted: 9, baselinePeople: 100))
        #expect(abs(lift.low - -0.0548689) < 1e-6)
        #expect(abs(lift.high - 0.1148689) < 1e-6)
        #expect(abs(lift.z - 0.69282) < 1e-5)
        #expect(!lift.isSignificant)
        #expect(lift.summary == "+3.0 pts (95% CI -5.5 to +11.5 pts), not significant yet")
    }

    @Test func nothingToCompareGivesNoVerdict() throws {
        #expect(Lift(converted: 1, people: 0, baselineConverted: 0, baselinePeople: 10) == nil)
        let none = try #require(Lift(converted: 0, people: 50, baselineConverted: 0, baselinePeople: 50))
        #expect(none.difference == 0 && !none.isSignificant && none.relative == nil)
    }

    @Test func theHoldoutsTextIsAsWritten() {
        #expect(Experiment(holdoutBasisPoints: 1000).holdoutText == "10%")
        #expect(Experiment(holdoutBasisPoints: 1250).holdoutText == "12.5%")
        #expect(Experiment(holdoutBasisPoints: 5).holdoutText == "0.05%")
        #expect(DurationLiteral.describe(seconds: 259_200) == "3d")
        #expect(DurationLiteral.describe(seconds: 90) == "90s")
    }
}
