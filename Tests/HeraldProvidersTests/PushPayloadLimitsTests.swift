import HeraldCore
import HeraldProviders
import Testing

/// The limits `herald validate` checks are the ones the transports apply before sending.
@Suite struct PushPayloadLimitsTests {
    func body(_ bytes: Int) -> PushContent { PushContent(body: String(repeating: "x", count: bytes)) }

    @Test func eachServiceRefusesWhatIsOverItsOwnLimit() {
        // 2,100 bytes: only JPush's 2,000-byte iOS notification is exceeded.
        let medium = body(2100)
        #expect(PushPayloadLimits.refusal(medium, service: .jpush)?.hasPrefix("the JPush iOS notification is ") == true)
        for service in [PushService.apns, .fcm, .webpush, .pushy] {
            #expect(PushPayloadLimits.refusal(medium, service: service) == nil, "\(service)")
        }
        // 4,100 bytes: over every limit.
        let large = body(4100)
        #expect(PushPayloadLimits.refusal(large, service: .apns)?.hasPrefix("the APNs payload is ") == true)
        #expect(PushPayloadLimits.refusal(large, service: .fcm) == "the FCM payload has 4100 bytes of data and notification text; at most 4000 are sent")
        #expect(PushPayloadLimits.refusal(large, service: .webpush)?.hasPrefix("the Web Push payload is ") == true)
        #expect(PushPayloadLimits.refusal(large, service: .pushy)?.hasPrefix("the Pushy data is ") == true)
        // Exactly APNs' limit fits; one byte more does not.
        let empty = APNsPayload.encode(PushContent(body: "")).count
        #expect(PushPayloadLimits.refusal(body(APNsPayload.maximumSize - empty), service: .apns) == nil)
        #expect(PushPayloadLimits.refusal(body(APNsPayload.maximumSize - empty + 1), service: .apns) != nil)
    }

    @Test func collapseKeysAndReservedKeysAreRefusedAsTheTransportsRefuseThem() {
        let long = PushContent(body: "Hi", collapseKey: String(repeating: "k", count: 65))
        #expect(PushPayloadLimits.refusal(long, service: .apns) == "the collapse key is 65 bytes; APNs takes at most 64 (apns-collapse-id)")
        #expect(PushPayloadLimits.refusal(long, service: .jpush) == "the collapse key is 65 bytes; JPush takes at most 64 (apns_collapse_id)")
        #expect(PushPayloadLimits.refusal(long, service: .pushy) == "the collapse key has 65 characters; Pushy takes at most 32")
        #expect(PushPayloadLimits.refusal(PushContent(body: "Hi", data: ["aps": "x"]), service: .apns)?.contains("reserves") == true)
    }
}
