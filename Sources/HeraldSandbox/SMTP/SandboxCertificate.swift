import Crypto
import Foundation
import SwiftASN1
import X509

/// A throwaway certificate authority and a server certificate it signed for `127.0.0.1` and
/// `localhost`, made at start-up, so that a client can check the sandbox's TLS for real
/// (libcurl's CAINFO) instead of turning verification off.
public struct SandboxCertificate: Sendable {
    /// The authority's certificate, PEM: what a client trusts.
    public let authorityPEM: String
    /// The server's certificate chain (server, then authority), PEM.
    public let chainPEM: String
    /// The server's private key, PKCS #8 PEM.
    public let privateKeyPEM: String

    public static func generate(validFor days: Int = 30) throws -> SandboxCertificate {
        let now = Date()
        let authorityKey = P256.Signing.PrivateKey()
        let authorityName = try DistinguishedName { CommonName("Herald sandbox CA") }
        let authority = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(authorityKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(Double(days) * 86_400),
            issuer: authorityName, subject: authorityName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: Certificate.PrivateKey(authorityKey)
        )
        let serverKey = P256.Signing.PrivateKey()
        let server = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(serverKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(Double(days) * 86_400),
            issuer: authorityName, subject: try DistinguishedName { CommonName("127.0.0.1") }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
            },
            issuerPrivateKey: Certificate.PrivateKey(authorityKey)
        )
        let authorityPEM = try authority.serializeAsPEM().pemString
        return SandboxCertificate(
            authorityPEM: authorityPEM, chainPEM: try server.serializeAsPEM().pemString + "\n" + authorityPEM,
            privateKeyPEM: serverKey.pemRepresentation
        )
    }

    /// Writes the authority's certificate where a client can read it; returns the path.
    @discardableResult
    public func writeAuthority(to path: String) throws -> String {
        try authorityPEM.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
