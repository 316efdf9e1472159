import Foundation
import HeraldEngine
import Testing

@Suite struct CircuitBreakerTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func at(_ seconds: Double) -> Date {
        t0.addingTimeInterval(seconds)
    }

    /// A breaker opened at `t0` by five failures in a row (default configuration unless given).
    func opened(_ configuration: CircuitBreaker.Configuration = .init()) -> CircuitBreaker {
        var breaker = CircuitBreaker(configuration: configuration)
        for _ in 0..<configuration.failureThreshold { breaker.record(.failure, at: t0) }
        return breaker
    }

    @Test func theDefaultsAreDocumented() {
        let configuration = CircuitBreaker.Configuration()
        #expect(configuration.failureThreshold == 5)
        #expect(configuration.coolDown == .seconds(30))
        #expect(configuration.maximumCoolDown == .seconds(300))
        #expect(configuration.halfOpenProbes == 1)
        #expect(CircuitBreaker.State.allCases.map(\.rawValue) == ["closed", "open", "half_open"])
    }

    @Test func itOpensAfterFiveFailuresInARow() {
        var breaker = CircuitBreaker()
        for second in 0..<4 {
            breaker.record(.failure, at: at(Double(second)))
            #expect(breaker.admits(at: at(Double(second))) == .allowed)
        }
        #expect(breaker.state == .closed && breaker.consecutiveFailures == 4 && breaker.openedAt == nil)
        breaker.record(.failure, at: at(4))
        #expect(breaker.state == .open)
        #expect(breaker.openedAt == at(4))
        #expect(breaker.openedUntil == at(34))
        #expect(breaker.admits(at: at(4)) == .rejected(until: at(34)))
    }

    @Test func aSuccessStartsTheCountAgain() {
        var breaker = CircuitBreaker()
        for _ in 0..<4 { breaker.record(.failure, at: t0) }
        breaker.record(.success, at: t0)
        #expect(breaker.consecutiveFailures == 0)
        for _ in 0..<4 { breaker.record(.failure, at: t0) }
        #expect(breaker.state == .closed)
        #expect(breaker.admits(at: t0) == .allowed)
    }

    @Test func itRejectsEverythingWhileOpen() {
        var breaker = opened()
        for second in [0.0, 1, 15, 29.999] {
            #expect(breaker.admits(at: at(second)) == .rejected(until: at(30)), "at \(second) s")
            #expect(breaker.state(at: at(second)) == .open)
        }
        #expect(breaker.state == .open)
    }

    @Test func resultsOfSendsInFlightWhenItOpenedAreIgnored() {
        var breaker = opened()
        breaker.record(.success, at: at(1))
        breaker.record(.failure, at: at(2))
        #expect(breaker.state == .open && breaker.openedUntil == at(30))
    }

    @Test func afterTheCoolDownOneProbeGoesAndTheRestWait() {
        var breaker = opened()
        #expect(breaker.state(at: at(30)) == .halfOpen)
        #expect(breaker.state == .open)                                  // until someone asks
        #expect(breaker.admits(at: at(30)) == .probe)
        #expect(breaker.state == .halfOpen)
        #expect(breaker.admits(at: at(30)) == .rejected(until: at(60)))
        #expect(breaker.admits(at: at(45)) == .rejected(until: at(60)))
    }

    @Test func aProbeSuccessClosesIt() {
        var breaker = opened()
        #expect(breaker.admits(at: at(31)) == .probe)
        breaker.record(.success, at: at(32))
        #expect(breaker.state == .closed && breaker.openedAt == nil && breaker.openedUntil == nil)
        #expect(breaker.admits(at: at(32)) == .allowed)
        // Closed again, it takes five new failures to open, and the cool-down is back to 30 s.
        for _ in 0..<4 { breaker.record(.failure, at: at(40)) }
        #expect(breaker.state == .closed)
        breaker.record(.failure, at: at(40))
        #expect(breaker.admits(at: at(40)) == .rejected(until: at(70)))
        #expect(breaker.openedAt == at(40))
    }

    @Test func aProbeFailureReopensItForADoubledCoolDownUpToTheMaximum() throws {
        var breaker = opened()
        var now = at(30)
        var coolDowns: [Double] = []
        for _ in 0..<6 {
            #expect(breaker.admits(at: now) == .probe)
            breaker.record(.failure, at: now)
            #expect(breaker.state == .open)
            let until = try #require(breaker.openedUntil)
            coolDowns.append(until.timeIntervalSince(now))
            #expect(breaker.admits(at: now) == .rejected(until: until))
            now = until
        }
        #expect(coolDowns == [60, 120, 240, 300, 300, 300])
        // The outage began at the first opening: an alert can tell how long it has lasted.
        #expect(breaker.openedAt == t0)
        #expect(breaker.admits(at: now) == .probe)
        breaker.record(.success, at: now)
        // After closing, the next outage starts again from 30 s.
        for _ in 0..<5 { breaker.record(.failure, at: now) }
        #expect(breaker.openedUntil == now.addingTimeInterval(30))
    }

    @Test func aFixedCoolDownWhenTheMaximumEqualsIt() {
        var breaker = opened(.init(coolDown: .seconds(10), maximumCoolDown: .seconds(10)))
        #expect(breaker.admits(at: at(10)) == .probe)
        breaker.record(.failure, at: at(10))
        #expect(breaker.openedUntil == at(20))
    }

    @Test func aProbeThatNeverReportsDoesNotWedgeIt() {
        var breaker = opened()
        #expect(breaker.admits(at: at(30)) == .probe)
        #expect(breaker.admits(at: at(59)) == .rejected(until: at(60)))
        #expect(breaker.admits(at: at(60)) == .probe)
        #expect(breaker.admits(at: at(60)) == .rejected(until: at(90)))
    }

    @Test func withThreeProbesAllMustSucceedToClose() {
        var breaker = opened(.init(halfOpenProbes: 3))
        #expect([breaker.admits(at: at(30)), breaker.admits(at: at(30)), breaker.admits(at: at(30))] == [.probe, .probe, .probe])
        #expect(breaker.admits(at: at(30)) == .rejected(until: at(60)))
        breaker.record(.success, at: at(31))
        breaker.record(.success, at: at(31))
        #expect(breaker.state == .halfOpen)
        breaker.record(.success, at: at(31))
        #expect(breaker.state == .closed)

        var failing = opened(.init(halfOpenProbes: 3))
        for _ in 0..<3 { _ = failing.admits(at: at(30)) }
        failing.record(.success, at: at(31))
        failing.record(.success, at: at(31))
        failing.record(.failure, at: at(31))
        #expect(failing.state == .open && failing.openedUntil == at(91))
    }

    @Test func aThresholdOfOneOpensAtTheFirstFailure() {
        var breaker = CircuitBreaker(configuration: .init(failureThreshold: 1))
        breaker.record(.failure, at: t0)
        #expect(breaker.state == .open)
        #expect(breaker.admits(at: t0) == .rejected(until: at(30)))
    }
}
