import Crypto
import Foundation
import HeraldCore

/// The sandbox's browsers: Web Push subscriptions whose keys the sandbox can derive again from
/// the endpoint alone, so that it decrypts what was sent to users generated long before it
/// started (and on another port).
///
/// A subscription's private key and auth secret are HKDF-SHA256 outputs of a fixed sandbox seed
/// and the endpoint's id, the last path segment of `…/webpush/push/{id}`. They are demo keys:
/// anyone with this source can read what is sent to them.
///
/// ```swift
/// let subscription = SandboxWebPush.subscription(endpointBase: sandbox.baseURL(for: .webpush), id: "u-42-web")
/// // endpoint http://127.0.0.1:PORT/webpush/push/u-42-web, p256dh and auth in base64url
/// ```
public enum SandboxWebPush {
    /// The fixed seed all sandbox subscription keys come from (SANDBOX ONLY).
    static let seed = SymmetricKey(data: SHA256.hash(data: Data("herald sandbox web push subscriptions, not a secret".utf8)))

    /// The endpoint of subscription `id` below a sandbox's Web Push base URL
    /// (`http://127.0.0.1:PORT/webpush`): `…/push/{id}`.
    public static func endpoint(base: String, id: String) -> String {
        var base = base
        while base.hasSuffix("/") { base.removeLast() }
        return "\(base)/push/\(id)"
    }

    /// The subscription a browser would hand over for endpoint `id`: endpoint, `p256dh` (the
    /// uncompressed P-256 public key) and `auth` (16 bytes), both base64url without padding.
    ///
    /// - Parameters:
    ///   - endpointBase: the sandbox's Web Push base URL, `RunningSandbox.baseURL(for: .webpush)`;
    ///     the keys do not depend on it, only the endpoint does.
    ///   - id: letters, digits, `-` and `_`, at most 128 characters (a user id and a device number,
    ///     say).
    public static func subscription(endpointBase: String, id: String) -> WebPushSubscription {
        let keys = keys(id: id)
        return WebPushSubscription(
            endpoint: endpoint(base: endpointBase, id: id),
            p256dh: SandboxBase64URL.encode(keys.privateKey.publicKey.x963Representation),
            auth: SandboxBase64URL.encode(keys.authSecret)
        )
    }

    /// The private key and auth secret of endpoint `id`: what the browser keeps.
    public static func keys(id: String) -> (privateKey: P256.KeyAgreement.PrivateKey, authSecret: Data) {
        let auth = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: seed, salt: Data("herald-sandbox-webpush".utf8), info: Data("auth \(id)".utf8), outputByteCount: 16
        )
        // A 32-byte HKDF output is a valid P-256 scalar unless it is 0 or ≥ n, about 2^-32 of
        // the time; the counter takes the next output then, still deterministic.
        var counter = 0
        while true {
            let scalar = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: seed, salt: Data("herald-sandbox-webpush".utf8), info: Data("p256dh \(id) \(counter)".utf8), outputByteCount: 32
            )
            if let key = try? P256.KeyAgreement.PrivateKey(rawRepresentation: scalar.withUnsafeBytes { Data($0) }) {
                return (key, auth.withUnsafeBytes { Data($0) })
            }
            counter += 1
        }
    }

    /// Whether `id` can name a sandbox subscription.
    static func isID(_ id: Substring) -> Bool {
        (1...128).contains(id.utf8.count) && id.utf8.allSatisfy { byte in
            (65...90).contains(byte) || (97...122).contains(byte) || (48...57).contains(byte) || byte == 45 || byte == 95
        }
    }

    /// Decrypts an RFC 8291 `aes128gcm` body as a browser does. Written apart from Herald's
    /// sender (`HeraldProviders` is not imported here), so that a round trip through the sandbox
    /// checks one implementation against another.
    ///
    /// - Throws: ``SandboxError`` saying what did not match.
    public static func decrypt(_ body: Data, privateKey: P256.KeyAgreement.PrivateKey, authSecret: Data) throws -> Data {
        let bytes = [UInt8](body)
        guard bytes.count > 21 else { throw SandboxError("the body is \(bytes.count) bytes, too short for an aes128gcm header") }
        let salt = Data(bytes[0..<16])
        let recordSize = (Int(bytes[16]) << 24) | (Int(bytes[17]) << 16) | (Int(bytes[18]) << 8) | Int(bytes[19])
        let idLength = Int(bytes[20])
        guard recordSize >= 18 else { throw SandboxError("record size \(recordSize) is below 18") }
        guard idLength == 65, bytes.count > 21 + 65 else {
            throw SandboxError("the key id is \(idLength) bytes; RFC 8291 puts the 65-byte sender public key there")
        }
        let senderPublic = Data(bytes[21..<86])
        guard let sender = try? P256.KeyAgreement.PublicKey(x963Representation: senderPublic) else {
            throw SandboxError("the key id is not a P-256 public key")
        }
        guard let shared = try? privateKey.sharedSecretFromKeyAgreement(with: sender) else { throw SandboxError("ECDH failed") }
        let userAgentPublic = privateKey.publicKey.x963Representation
        let prk = HMAC<SHA256>.authenticationCode(for: shared.withUnsafeBytes { Data($0) }, using: SymmetricKey(data: authSecret))
        // IKM = HKDF-Expand(PRK, "WebPush: info" || 0x00 || ua_public || as_public, 32): one HMAC block.
        var keyInfo = Data("WebPush: info".utf8) + [0] + userAgentPublic + senderPublic
        keyInfo.append(1)
        let ikm = Data(HMAC<SHA256>.authenticationCode(for: keyInfo, using: SymmetricKey(data: Data(prk))))
        let prk2 = Data(HMAC<SHA256>.authenticationCode(for: ikm, using: SymmetricKey(data: salt)))
        let cek = Data(HMAC<SHA256>.authenticationCode(for: Data("Content-Encoding: aes128gcm".utf8) + [0, 1], using: SymmetricKey(data: prk2)).prefix(16))
        let nonce = [UInt8](HMAC<SHA256>.authenticationCode(for: Data("Content-Encoding: nonce".utf8) + [0, 1], using: SymmetricKey(data: prk2)).prefix(12))
        var plaintext = Data()
        var offset = 86
        var sequence = 0
        while offset < bytes.count {
            let end = min(offset + recordSize, bytes.count)
            guard end - offset > 16 else { throw SandboxError("record \(sequence) is shorter than its tag") }
            var recordNonce = nonce
            recordNonce[11] ^= UInt8(sequence & 0xFF)
            recordNonce[10] ^= UInt8((sequence >> 8) & 0xFF)
            recordNonce[9] ^= UInt8((sequence >> 16) & 0xFF)
            recordNonce[8] ^= UInt8((sequence >> 24) & 0xFF)
            let opened: Data
            do {
                let box = try AES.GCM.SealedBox(
                    nonce: AES.GCM.Nonce(data: recordNonce), ciphertext: Data(bytes[offset..<(end - 16)]), tag: Data(bytes[(end - 16)..<end])
                )
                opened = try AES.GCM.open(box, using: SymmetricKey(data: cek))
            } catch {
                throw SandboxError("record \(sequence) does not decrypt with this subscription's keys")
            }
            let content = [UInt8](opened)
            guard let last = content.lastIndex(where: { $0 != 0 }) else { throw SandboxError("record \(sequence) has no padding delimiter") }
            let isLast = end == bytes.count
            guard content[last] == (isLast ? 2 : 1) else {
                throw SandboxError("record \(sequence) has padding delimiter \(content[last]), expected \(isLast ? 2 : 1)")
            }
            plaintext.append(contentsOf: content[..<last])
            offset = end
            sequence += 1
        }
        return plaintext
    }
}
