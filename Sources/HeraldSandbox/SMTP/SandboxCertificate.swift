import Crypto
import Foundation
import SwiftASN1
import X509

/// The sandbox's certificate authority and a server certificate it signed for `127.0.0.1` and
/// `localhost`, made at start-up, so that a client can check the sandbox's TLS for real
/// (libcurl's CAINFO, the APNs transport's `ca_file`) instead of turning verification off.
///
/// The authority is fixed (``demoAuthorityPEM``, whose key is published here: SANDBOX ONLY, never
/// trust it for anything else), so that `herald init` can write it into a new workspace before
/// any sandbox runs, and a workspace keeps trusting every sandbox started later.
public struct SandboxCertificate: Sendable {
    /// The authority's certificate, PEM: what a client trusts.
    public let authorityPEM: String
    /// The server's certificate chain (server, then authority), PEM.
    public let chainPEM: String
    /// The server's private key, PKCS #8 PEM.
    public let privateKeyPEM: String

    /// The demo authority's certificate (P-256, valid to 2046), PEM. SANDBOX ONLY.
    public static let demoAuthorityPEM = """
        -----BEGIN CERTIFICATE-----
        MIIB2jCCAYGgAwIBAgIBATAKBggqhkjOPQQDAjBDMUEwPwYDVQQDDDhIZXJhbGQg
        c2FuZGJveCBDQSAoZGVtbyBvbmx5LCBuZXZlciB0cnVzdCBpbiBwcm9kdWN0aW9u
        KTAeFw0yNjEyMDIwMTQ2MzZaFw00NjExMjcwMTQ2MzZaMEMxQTA/BgNVBAMMOEhl
        cmFsZCBzYW5kYm94IENBIChkZW1vIG9ubHksIG5ldmVyIHRydXN0IGluIHByb2R1
        Y3Rpb24pMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEaQJqvtDpDXVXm8+jpbdm
        RwNcstxFtQ3//0fAAMYMOVSgMGV64qajRq0EF+gQw4Uoxpl8yubDbBGBjEeuUmzv
        GaNmMGQwHQYDVR0OBBYEFPBeuxXEbaSTuiPymImlXTGuJd5bMB8GA1UdIwQYMBaA
        FPBeuxXEbaSTuiPymImlXTGuJd5bMBIGA1UdEwEB/wQIMAYBAf8CAQAwDgYDVR0P
        AQH/BAQDAgEGMAoGCCqGSM49BAMCA0cAMEQCIDTe+Zi+n2LXWUomRaiVGRF9MNhD
        S9QKdnvLrD5RO7gyAiBzkGc0qNYgy2l+Wf/DFEKlXCNla8M6sWp0S7FS/V7nig==
        -----END CERTIFICATE-----
        """

    /// The demo authority's private key, published on purpose: SANDBOX ONLY.
    static let demoAuthorityKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgarl3gaiCXcbYDQoC
        yZuhS4bekX9hNZPcpqh5hxGK1YahRANCAARpAmq+0OkNdVebz6Olt2ZHA1yy3EW1
        Df//R8AAxgw5VKAwZXripqNGrQQX6BDDhSjGmXzK5sNsEYGMR65SbO8Z
        -----END PRIVATE KEY-----
        """

    public static func generate(validFor days: Int = 30) throws -> SandboxCertificate {
        let now = Date()
        let authorityKey = try P256.Signing.PrivateKey(pemRepresentation: demoAuthorityKeyPEM)
        let authority = try Certificate(pemEncoded: demoAuthorityPEM)
        let authorityName = authority.subject
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
        let authorityPEM = demoAuthorityPEM + "\n"
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
