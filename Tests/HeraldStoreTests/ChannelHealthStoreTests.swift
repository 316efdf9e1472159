import Foundation
import HeraldCore
@testable import HeraldStore
import HeraldTesting
import Testing

/// The store query behind three alert kinds (failure rate, dead letters, oldest due), on a real
/// SQLite file with outcomes recorded through the store's own claim and resolve.
@Suite struct ChannelHealthStoreTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// Eleven emails and two texts planned due at `now` (and one email due at +600 s); nine
    /// emails claimed at +30 s, eight of them resolved: 3 sent, 1 to retry, 1 dead, 1 refused,
    /// 1 sent to a dead address, 1 skipped at send time; one stays leased, two wait. SendGrid then
    /// reports a bounce of one sent email and a deferral of another.
    func makeFixture(_ directory: TemporaryDirectory) async throws -> SQLiteStore {
        let store = try makeStore(directory)
        let occurrence = try await store.beginOccurrence(campaignID: "spring", fireAt: now, definitionHash: "h", at: now)
        var batch = (1...11).map { planned(user: "u-\($0)", due: now, occurrence: occurrence.id) }
        batch.append(planned(user: "u-later", due: now.addingTimeInterval(600), occurrence: occurrence.id))
        for user in ["s-1", "s-2"] {
            var sms = planned(user: user, channel: .sms, due: now, occurrence: occurrence.id)
            sms.provider = "twilio"
            sms.address = "+821012345678"
            sms.decision = .send(.sms(SMSContent(body: "Hi")))
            batch.append(sms)
        }
        _ = try await store.savePlanned(batch, at: now)

        let claimedAt = now.addingTimeInterval(30)
        let emails = try await store.claim(channel: .email, limit: 9, leaseOwner: "a", lease: .seconds(600), at: claimedAt)
        try #require(emails.count == 9)
        try await store.resolve([
            (emails[0], .sent(providerMessageID: "sg-1", provider: "sendgrid")),
            (emails[1], .sent(providerMessageID: "sg-2", provider: "sendgrid")),
            (emails[2], .sent(providerMessageID: "sg-3", provider: "sendgrid")),
            (emails[3], .retry(at: now.addingTimeInterval(900), reason: "503 unavailable")),
            (emails[4], .dead(reason: "gave up after 3 attempts: 503")),
            (emails[5], .failed(reason: "400 invalid from address")),
            (emails[6], .failed(reason: "550 no such mailbox", deactivateAddress: true)),
            (emails[7], .skipped(.expired, detail: "expired before it was sent")),
        ], at: claimedAt)
        // What SendGrid reports later about two sent emails, a bounce and a deferral, are not
        // attempts of their own.
        let summary = try await store.applyProviderEvents([
            ProviderEvent(target: .providerMessage("sg-1"), kind: .bounced(hard: true), provider: "sendgrid", eventKey: "b-1", at: claimedAt, detail: "550 no such user"),
            ProviderEvent(target: .providerMessage("sg-2"), kind: .deferred, provider: "sendgrid", eventKey: "d-2", at: claimedAt, detail: "421 try later"),
        ], at: claimedAt)
        #expect(summary.applied == 2)
        return store
    }

    @Test func attemptsFailuresDeadLettersAndTheOldestDueAgeAreCountedPerChannel() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await makeFixture(directory)
            let health = try await store.channelHealth(window: 120, at: now.addingTimeInterval(60))
            #expect(health.map(\.channel) == Channel.allCases)
            let byChannel = Dictionary(uniqueKeysWithValues: health.map { ($0.channel, $0) })
            // Attempts: every outcome of a send (not the skip, nor SendGrid's later bounce and
            // deferral). Failures: the retry, the dead letter, the refused message and the dead
            // address: a channel's failure rate counts every send it did not carry. The two waiting emails have been due for 60 s (the
            // leased one and the one due later do not count).
            #expect(byChannel[.email] == ChannelHealthSnapshot(channel: .email, attempts: 7, failures: 4, deadLetters: 1, oldestDueAge: 60))
            #expect(byChannel[.sms] == ChannelHealthSnapshot(channel: .sms, attempts: 0, failures: 0, deadLetters: 0, oldestDueAge: 60))
            #expect(byChannel[.push] == ChannelHealthSnapshot(channel: .push))
        }
    }

    @Test func outcomesBeforeTheWindowDoNotCount() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await makeFixture(directory)
            // The outcomes were recorded at +30 s: a 100 s window at +200 s starts after them.
            let later = try await store.channelHealth(window: 100, at: now.addingTimeInterval(200))
            let email = try #require(later.first { $0.channel == .email })
            #expect(email.attempts == 0 && email.failures == 0 && email.deadLetters == 0)
            #expect(email.oldestDueAge == 200)
            // Once nothing waits (the leased one is sent, the rest too), there is no oldest age.
            let end = now.addingTimeInterval(1000)
            let rest = try await store.claim(channel: .email, limit: 100, leaseOwner: "b", lease: .seconds(60), at: end)
            try await store.resolve(rest.map { ($0, .sent(providerMessageID: "x-\($0.message.notificationID)", provider: "sendgrid")) }, at: end)
            let done = try await store.channelHealth(window: 100, at: end)
            #expect(done.first { $0.channel == .email }?.oldestDueAge == nil)
            #expect(done.first { $0.channel == .email }?.attempts == rest.count)
        }
    }
}
