import Crypto
import Foundation

/// RFC 8291 message encryption for Web Push, in RFC 8188's `aes128gcm` content coding: pure
/// functions of the keys, the salt and the plaintext, so that the RFC's test vector can be
/// reproduced byte for byte.
///
/// ```swift
/// let body = try WebPushEncryptor.encrypt(Data(json.utf8), userAgentPublicKey: p256dh, authSecret: auth)
/// // POST body with `Content-Encoding: aes128gcm`
/// ```
///
/// The body is `salt (16) | record size (4, big-endian) | key id length (1) = 65 | the sender's
/// public key (65) | one AES-128-GCM record`; the record is the plaintext, the padding delimiter
/// 0x02 and optional zero padding, sealed with a 16-byte tag.
public enum WebPushEncryptor {
    /// The record size written in the header. RFC 8291 §4 fixes 4096 for one record.
    public static let recordSize = 4096
    /// Salt, record size, key id length and key id: 86 bytes before the record.
    public static let headerSize = 16 + 4 + 1 + 65
    /// The most plaintext that keeps the body within the 4,096 bytes every push service must
    /// accept (RFC 8291 §4): 4096 − 86 (header) − 1 (delimiter) − 16 (tag).
    public static let maximumPlaintextSize = 3993

    /// Why a body could not be encrypted or decrypted.
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Encrypts `plaintext` for the subscription whose keys are given.
    ///
    /// - Parameters:
    ///   - userAgentPublicKey: the subscription's `p256dh`, a 65-byte uncompressed P-256 point.
    ///   - authSecret: the subscription's `auth`, 16 bytes.
    ///   - senderKey: the application server's ephemeral key; a fresh one per message unless a
    ///     test vector fixes it.
    ///   - salt: 16 bytes; fresh random bytes per message unless a test vector fixes them.
    ///   - padding: zero bytes added after the delimiter, to hide the plaintext's length.
    /// - Throws: ``Failure`` when a key is not valid or the record would not fit.
    public static func encrypt(
        _ plaintext: some DataProtocol, userAgentPublicKey: Data, authSecret: Data,
        senderKey: P256.KeyAgreement.PrivateKey = P256.KeyAgreement.PrivateKey(), salt: Data? = nil, padding: Int = 0
    ) throws(Failure) -> Data {
        let userAgentKey = try publicKey(userAgentPublicKey)
        guard authSecret.count == 16 else { throw Failure("the auth secret has \(authSecret.count) bytes; RFC 8291 needs 16") }
        let salt = salt ?? randomBytes(16)
        guard salt.count == 16 else { throw Failure("the salt has \(salt.count) bytes; RFC 8188 needs 16") }
        guard plaintext.count + 1 + padding + 16 <= recordSize else {
            throw Failure("\(plaintext.count) bytes of plaintext do not fit one \(recordSize)-byte record")
        }
        let senderPublic = senderKey.publicKey.x963Representation
        let keys = try contentKeys(
            privateKey: senderKey, peer: userAgentKey, userAgentPublic: userAgentPublicKey, senderPublic: senderPublic,
            authSecret: authSecret, salt: salt
        )
        var record = Data(plaintext)
        record.append(0x02)
        if padding > 0 { record.append(Data(repeating: 0, count: padding)) }
        let sealed: AES.GCM.SealedBox
        do {
            sealed = try AES.GCM.seal(record, using: keys.key, nonce: AES.GCM.Nonce(data: keys.nonce))
        } catch {
            throw Failure("AES-128-GCM failed: \(error)")
        }
        var body = Data(capacity: headerSize + record.count + 16)
        body.append(salt)
        body.append(contentsOf: withUnsafeBytes(of: UInt32(recordSize).bigEndian) { Array($0) })
        body.append(UInt8(senderPublic.count))
        body.append(senderPublic)
        body.append(sealed.ciphertext)
        body.append(sealed.tag)
        return body
    }

    /// Decrypts an `aes128gcm` body sent to the subscription that owns `userAgentKey`: what a
    /// browser does, and what the sandbox and the tests do to read what was sent. Several
    /// records are read when the record size asks for them.
    ///
    /// - Throws: ``Failure`` when the header is malformed, a tag does not verify (wrong keys or a
    ///   changed body), or the padding is not RFC 8188's.
    public static func decrypt(_ body: Data, userAgentKey: P256.KeyAgreement.PrivateKey, authSecret: Data) throws(Failure) -> Data {
        let bytes = [UInt8](body)
        guard bytes.count >= 21 else { throw Failure("the body has \(bytes.count) bytes, shorter than an aes128gcm header") }
        let salt = Data(bytes[0..<16])
        let recordSize = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }
        let keyIDLength = Int(bytes[20])
        guard recordSize >= 18 else { throw Failure("the record size \(recordSize) is below RFC 8188's minimum of 18") }
        guard bytes.count >= 21 + keyIDLength else { throw Failure("the body ends inside its key id") }
        let senderPublic = Data(bytes[21..<(21 + keyIDLength)])
        let senderKey = try publicKey(senderPublic)
        let keys = try contentKeys(
            privateKey: userAgentKey, peer: senderKey, userAgentPublic: userAgentKey.publicKey.x963Representation,
            senderPublic: senderPublic, authSecret: authSecret, salt: salt
        )
        let ciphertext = bytes[(21 + keyIDLength)...]
        guard !ciphertext.isEmpty else { throw Failure("the body has no record") }
        var plaintext = Data()
        var start = ciphertext.startIndex
        var sequence: UInt64 = 0
        while start < ciphertext.endIndex {
            let end = min(start + recordSize, ciphertext.endIndex)
            let isLast = end == ciphertext.endIndex
            let record = ciphertext[start..<end]
            guard record.count > 16 else { throw Failure("record \(sequence) is shorter than its tag") }
            var nonce = [UInt8](keys.nonce)
            for index in 0..<8 { nonce[4 + index] ^= UInt8(truncatingIfNeeded: sequence >> (56 - 8 * index)) }
            let opened: Data
            do {
                let box = try AES.GCM.SealedBox(
                    nonce: AES.GCM.Nonce(data: nonce), ciphertext: record.dropLast(16), tag: record.suffix(16)
                )
                opened = try AES.GCM.open(box, using: keys.key)
            } catch {
                throw Failure("record \(sequence) does not decrypt: wrong keys or a changed body")
            }
            guard let delimiterIndex = opened.lastIndex(where: { $0 != 0 }) else {
                throw Failure("record \(sequence) has no padding delimiter")
            }
            let delimiter = opened[delimiterIndex]
            guard delimiter == (isLast ? 0x02 : 0x01) else {
                throw Failure("record \(sequence) ends with delimiter \(delimiter); RFC 8188 needs \(isLast ? 2 : 1) in this record")
            }
            plaintext.append(opened[opened.startIndex..<delimiterIndex])
            start = end
            sequence += 1
        }
        return plaintext
    }

    /// The content-encryption key and nonce of RFC 8291 §3.3–3.4 and RFC 8188 §2.2.
    static func contentKeys(
        privateKey: P256.KeyAgreement.PrivateKey, peer: P256.KeyAgreement.PublicKey, userAgentPublic: Data, senderPublic: Data,
        authSecret: Data, salt: Data
    ) throws(Failure) -> (key: SymmetricKey, nonce: Data) {
        let shared: SharedSecret
        do {
            shared = try privateKey.sharedSecretFromKeyAgreement(with: peer)
        } catch {
            throw Failure("ECDH failed: \(error)")
        }
        var info = Data("WebPush: info\0".utf8)
        info.append(userAgentPublic)
        info.append(senderPublic)
        let ikm = shared.hkdfDerivedSymmetricKey(using: SHA256.self, salt: authSecret, sharedInfo: info, outputByteCount: 32)
        let key = HKDF<SHA256>.deriveKey(inputKeyMaterial: ikm, salt: salt, info: Data("Content-Encoding: aes128gcm\0".utf8), outputByteCount: 16)
        let nonce = HKDF<SHA256>.deriveKey(inputKeyMaterial: ikm, salt: salt, info: Data("Content-Encoding: nonce\0".utf8), outputByteCount: 12)
        return (key, nonce.withUnsafeBytes { Data($0) })
    }

    static func publicKey(_ x963: Data) throws(Failure) -> P256.KeyAgreement.PublicKey {
        guard x963.count == 65, x963.first == 0x04 else {
            throw Failure("a P-256 public key here is a 65-byte uncompressed point, and this one has \(x963.count) bytes")
        }
        do {
            return try P256.KeyAgreement.PublicKey(x963Representation: x963)
        } catch {
            throw Failure("the public key is not a point on P-256")
        }
    }

    static func randomBytes(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
