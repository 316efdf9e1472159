import HeraldCore
import Testing

/// The lift against the holdout, against cases computed by hand with Agresti and Caffo's
/// interval: p̃ = (x+1)/(n+2), d̃ = p̃₁ − p̃₂, SE = √(p̃₁q̃₁/(n₁+2) + p̃₂q̃₂/(n₂+2)), 95% CI d̃ ± 1.96·SE.
struct LiftTests {
    @Test func twelvePercentAgainstNineOnAThousandEachIsSignificant() throws {
        // p̃₁ = 121/1002, p̃₂ = 91/1002: d̃ = 0.0299401, SE = 0.0137248.
        let lift = try #require(Lift(converted: 120, people: 1000, baselineConverted: 90, baselinePeople: 1000))
        #expect(abs(lift.difference - 0.03) < 1e-12)
        #expect(abs(lift.low - 0.0030400) < 1e-6)
        #expect(abs(lift.high - 0.0568402) < 1e-6)
        #expect(abs(lift.z - 2.18146) < 1e-5)
        #expect(abs((lift.relative ?? 0) - 1.0 / 3.0) < 1e-12)
        #expect(lift.isSignificant)
        #expect(lift.summary == "+3.0 pts (95% CI +0.3 to +5.7 pts), significant")
    }

    @Test func theSameRatesOnAHundredEachAreNotSignificantYet() throws {
        let lift = try #require(Lift(converted: 12, people: 100, baselineConverted: 9, baselinePeople: 100))
        #expect(abs(lift.low - -0.0572976) < 1e-6)
        #expect(abs(lift.high - 0.1161211) < 1e-6)
        #expect(abs(lift.z - 0.66482) < 1e-5)
        #expect(!lift.isSignificant)
        #expect(lift.summary == "+3.0 pts (95% CI -5.7 to +11.6 pts), not significant yet")
    }

    /// A holdout that converted no one adds nothing to Wald's standard error, which then calls
    /// 4 of 1,800 against 0 of 200 significant (z = 2.0); Fisher's exact test gives p = 1.
    @Test func aGroupThatConvertedNoOneIsNoEvidence() throws {
        let lift = try #require(Lift(converted: 4, people: 1800, baselineConverted: 0, baselinePeople: 200))
        #expect(abs(lift.low - -0.0121546) < 1e-6 && abs(lift.high - 0.0078030) < 1e-6)
        #expect(!lift.isSignificant)
        // Everyone against no one, on five people: the interval stays within ±100 points and holds 0.
        let tiny = try #require(Lift(converted: 3, people: 3, baselineConverted: 0, baselinePeople: 2))
        #expect(tiny.high == 1 && tiny.low < 0 && !tiny.isSignificant)
        #expect(tiny.summary == "+100.0 pts (95% CI -0.0 to +100.0 pts), not significant yet")
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
