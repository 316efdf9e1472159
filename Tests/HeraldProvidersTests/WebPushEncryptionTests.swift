import Crypto
import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox
import Testing

/// RFC 8291 and RFC 8292 without a network: the appendix vector, tampering, VAPID tokens.
@Suite struct WebPushEncryptionTests {
    /// RFC 8291 §5 (Appendix A), as providers.md lists it.
    enum Vector {
        static let plaintext = "When I grow up, I want to be a watermelon"
        static let userAgentPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
        static let userAgentPublic = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
        static let auth = "BTBZMqHH6r4Tts7J_aSIgg"
        static let senderPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
        static let senderPublic = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
        static let salt = "DGv6ra1nlYgDCS1FRnbzlw"
        static let body = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"

        static func bytes(_ text: String) throws -> Data { try #require(Base64URL.decode(text)) }
        static func userAgentKey() throws -> P256.KeyAgreement.PrivateKey {
            try P256.KeyAgreement.PrivateKey(rawRepresentation: bytes(userAgentPrivate))
        }
    }

    @Test func theRFC8291VectorEncryptsToTheRFCsBodyByteForByte() throws {
        let sender = try P256.KeyAgreement.PrivateKey(rawRepresentation: Vector.bytes(Vector.senderPrivate))
        #expect(Base64URL.encode(sender.publicKey.x963Representation) == Vector.senderPublic)
        #expect(Base64URL.encode(try Vector.userAgentKey().publicKey.x963Representation) == Vector.userAgentPublic)
        let body = try WebPushEncryptor.encrypt(
            Data(Vector.plaintext.utf8), userAgentPublicKey: Vector.bytes(Vector.userAgentPublic), authSecret: Vector.bytes(Vector.auth),
            senderKey: sender, salt: Vector.bytes(Vector.salt)
        )
        #expect(body.count == 144)
        #expect(Base64URL.encode(body) == Vector.body)
    }

    @Test func theRFC8291VectorDecryptsToItsPlaintextWithHeraldsCodeAndTheSandboxs() throws {
        let body = try Vector.bytes(Vector.body)
        let herald = try WebPushEncryptor.decrypt(body, userAgentKey: Vector.userAgentKey(), authSecret: Vector.bytes(Vector.auth))
        #expect(String(decoding: herald, as: UTF8.self) == Vector.plaintext)
        let sandbox = try SandboxWebPush.decrypt(body, privateKey: Vector.userAgentKey(), authSecret: Vector.bytes(Vector.auth))
        #expect(String(decoding: sandbox, as: UTF8.self) == Vector.plaintext)
    }

    @Test func aFreshKeyAndSaltPerMessageAndPaddingIsStrippedOnDecryption() throws {
        let browser = P256.KeyAgreement.PrivateKey()
        let auth = Data((0..<16).map { UInt8($0) })
        let plaintext = Data(#"{"title":"Größe 42","body":"is back 🎉"}"#.utf8)
        let first = try WebPushEncryptor.encrypt(plaintext, userAgentPublicKey: browser.publicKey.x963Representation, authSecret: auth)
        let second = try WebPushEncryptor.encrypt(plaintext, userAgentPublicKey: browser.publicKey.x963Representation, authSecret: auth, padding: 100)
        #expect(first.prefix(16) != second.prefix(16), "a new salt each time")
        #expect(first[21..<86] != second[21..<86], "a new sender key each time")
        #expect(second.count == first.count + 100)
        #expect(try WebPushEncryptor.decrypt(first, userAgentKey: browser, authSecret: auth) == plaintext)
        #expect(try WebPushEncryptor.decrypt(second, userAgentKey: browser, authSecret: auth) == plaintext)
        #expect(try SandboxWebPush.decrypt(second, privateKey: browser, authSecret: auth) == plaintext)
    }

    @Test func aChangedByteTheWrongAuthSecretOrTheWrongKeyDoNotDecrypt() throws {
        let body = try Vector.bytes(Vector.body)
        var tampered = body
        tampered[100] ^= 0x01
        #expect(throws: WebPushEncryptor.Failure.self) {
            try WebPushEncryptor.decrypt(tampered, userAgentKey: Vector.userAgentKey(), authSecret: Vector.bytes(Vector.auth))
        }
        #expect(throws: WebPushEncryptor.Failure.self) {
            try WebPushEncryptor.decrypt(body, userAgentKey: Vector.userAgentKey(), authSecret: Data(repeating: 7, count: 16))
        }
        #expect(throws: (any Error).self) {
            try SandboxWebPush.decrypt(body, privateKey: P256.KeyAgreement.PrivateKey(), authSecret: Vector.bytes(Vector.auth))
        }
    }

    @Test func keysThatAreNotP256OrAnAuthSecretOfTheWrongSizeAreRefused() throws {
        let auth = Data(repeating: 1, count: 16)
        #expect(throws: WebPushEncryptor.Failure.self) {
            try WebPushEncryptor.encrypt(Data("x".utf8), userAgentPublicKey: Data(repeating: 4, count: 65), authSecret: auth)
        }
        #expect(throws: WebPushEncryptor.Failure.self) {
            try WebPushEncryptor.encrypt(Data("x".utf8), userAgentPublicKey: Vector.bytes(Vector.userAgentPublic), authSecret: Data(repeating: 1, count: 12))
        }
        #expect(throws: WebPushEncryptor.Failure.self) {
            try WebPushEncryptor.encrypt(Data(count: 4096), userAgentPublicKey: Vector.bytes(Vector.userAgentPublic), authSecret: auth)
        }
    }

    @Test func theSandboxDerivesTheSameSubscriptionKeysFromTheEndpointIDAlone() throws {
        let one = SandboxWebPush.subscription(endpointBase: "http://127.0.0.1:1111/webpush", id: "u-42-web")
        let again = SandboxWebPush.subscription(endpointBase: "http://127.0.0.1:2222/webpush/", id: "u-42-web")
        let other = SandboxWebPush.subscription(endpointBase: "http://127.0.0.1:1111/webpush", id: "u-43-web")
        #expect(one.endpoint == "http://127.0.0.1:1111/webpush/push/u-42-web")
        #expect(again.endpoint == "http://127.0.0.1:2222/webpush/push/u-42-web")
        #expect(one.p256dh == again.p256dh && one.auth == again.auth)
        #expect(one.p256dh != other.p256dh && one.auth != other.auth)
        #expect(try #require(Base64URL.decode(one.p256dh)).count == 65)
        #expect(try #require(Base64URL.decode(one.auth)).count == 16)
        let keys = SandboxWebPush.keys(id: "u-42-web")
        #expect(Base64URL.encode(keys.privateKey.publicKey.x963Representation) == one.p256dh)
    }

    // MARK: VAPID

    @Test func theVAPIDTokenIsAnES256JWTForTheEndpointsOrigin() throws {
        let key = try VAPIDKey(parsing: SandboxAccounts.demoVAPIDPrivateKey)
        #expect(key.publicKeyBase64URL == SandboxAccounts.demoVAPIDPublicKey)
        let signer = VAPIDSigner(key: key, subject: "mailto:ops@example.com")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let header = signer.authorization(audience: "https://fcm.googleapis.com", now: now)
        let parts = header.split(separator: " ")
        #expect(parts.first == "vapid")
        let token = try #require(parts.first { $0.hasPrefix("t=") }).dropFirst(2).dropLast()
        #expect(header.hasSuffix("k=\(SandboxAccounts.demoVAPIDPublicKey)"))
        let segments = token.split(separator: ".").map(String.init)
        #expect(segments.count == 3)
        let claims = try #require(JSONSerialization.jsonObject(with: Base64URL.decode(segments[1])!) as? [String: Any])
        #expect(claims["aud"] as? String == "https://fcm.googleapis.com")
        #expect(claims["sub"] as? String == "mailto:ops@example.com")
        #expect((claims["exp"] as? Int) == 1_800_000_000 + 12 * 3600)
        let signature = try P256.Signing.ECDSASignature(rawRepresentation: Base64URL.decode(segments[2])!)
        #expect(key.privateKey.publicKey.isValidSignature(signature, for: Data("\(segments[0]).\(segments[1])".utf8)))
    }

    @Test func aVAPIDTokenIsReusedPerOriginUntilAnHourBeforeItExpires() throws {
        let signer = VAPIDSigner(key: try VAPIDKey(parsing: SandboxAccounts.demoVAPIDPrivateKey), subject: "mailto:ops@example.com")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let first = signer.authorization(audience: "https://a.example", now: now)
        #expect(signer.authorization(audience: "https://a.example", now: now.addingTimeInterval(10 * 3600)) == first)
        #expect(signer.authorization(audience: "https://b.example", now: now) != first)
        #expect(signer.authorization(audience: "https://a.example", now: now.addingTimeInterval(11 * 3600 + 1)) != first)
    }

    @Test(arguments: [
        ("https://fcm.googleapis.com/fcm/send/abc:def", "https://fcm.googleapis.com"),
        ("https://updates.push.services.mozilla.com/wpush/v2/gAAA", "https://updates.push.services.mozilla.com"),
        ("https://Push.Example.com:443/x", "https://push.example.com"),
        ("https://push.example.com:8443/x", "https://push.example.com:8443"),
        ("http://127.0.0.1:5000/webpush/push/u1", "http://127.0.0.1:5000"),
    ])
    func theAudienceIsTheEndpointsOrigin(endpoint: String, origin: String) {
        #expect(VAPIDSigner.audience(of: endpoint) == origin)
    }

    @Test func aVAPIDKeyIsReadFromPEMOrRawBase64URLAndAnythingElseIsAClearError() throws {
        let key = P256.Signing.PrivateKey()
        #expect(try VAPIDKey(parsing: key.pemRepresentation).publicKeyBase64URL == Base64URL.encode(key.publicKey.x963Representation))
        #expect(try VAPIDKey(parsing: Base64URL.encode(key.rawRepresentation)).publicKeyBase64URL == Base64URL.encode(key.publicKey.x963Representation))
        #expect(throws: WebPushConfigurationError.self) { try VAPIDKey(parsing: "not a key") }
        #expect(throws: WebPushConfigurationError.self) { try VAPIDKey(parsing: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----") }
    }

    @Test func aCollapseKeyIsKeptAsTopicWhenValidAndHashedOtherwise() {
        #expect(WebPushTransport.topic("order-42") == "order-42")
        let hashed = WebPushTransport.topic("order status for user 42, which is long")
        #expect(hashed.count == 32)
        #expect(hashed == WebPushTransport.topic("order status for user 42, which is long"))
        #expect(hashed.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        #expect(WebPushTransport.topic(String(repeating: "a", count: 33)).count == 32)
        #expect(WebPushTransport.topic(String(repeating: "a", count: 33)) != String(repeating: "a", count: 32))
    }
}
