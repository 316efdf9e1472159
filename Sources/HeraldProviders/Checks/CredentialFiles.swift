import Crypto
import _CryptoExtras
import Foundation
import HeraldCore
import NIOSSL

/// Parses the key and certificate files herald.yml's providers name with the same code the
/// transports use, so that `herald validate` refuses a file no transport could use.
///
/// ```swift
/// let loader = WorkspaceLoader(credentials: CredentialFiles.inspector)
/// // herald.yml:12:15: invalid key_file 'keys/AuthKey.p8' in provider 'apns'
/// //   (hint: …/keys/AuthKey.p8 is not a P-256 private key in PEM …)
/// ```
public enum CredentialFiles {
    public static let inspector = CredentialFileInspector { kind, field, contents in
        problem(kind: kind, field: field, contents: contents)
    }

    /// What is wrong with the contents of `field` of a provider of `kind`, or nil.
    public static func problem(kind: ProviderKind, field: String, contents: Data) -> String? {
        let text = String(decoding: contents.prefix(1_000_000), as: UTF8.self)
        switch (kind, field) {
        case (.apns, "key_file"):
            do {
                _ = try P256.Signing.PrivateKey(pemRepresentation: text)
                return nil
            } catch {
                return "is not a P-256 private key in PEM (the .p8 file from Apple's developer site): \(error)"
            }
        case (.webpush, "vapid_private_key_file"):
            do {
                _ = try VAPIDKey(parsing: text)
                return nil
            } catch {
                return "is unusable: \(error.description)"
            }
        case (.fcm, "service_account_file"):
            do {
                let account = try FCMServiceAccount(json: contents)
                _ = try FCMTransport.Configuration.privateKey(account.privateKey)
                return nil
            } catch {
                return "is unusable: \(error.description)"
            }
        case (_, "ca_file"):
            do {
                guard !(try NIOSSLCertificate.fromPEMBytes(Array(contents))).isEmpty else {
                    return "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
                }
                return nil
            } catch {
                return "holds a certificate that cannot be read: \(error)"
            }
        default:
            return nil
        }
    }
}
