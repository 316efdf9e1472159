import Foundation

/// Parses a credential file that herald.yml names (an APNs `.p8` key, a VAPID key, an FCM
/// service-account file, a CA certificate) and says what is wrong with it, so that `herald
/// validate` refuses a key the transport could not use instead of the first send discovering it.
///
/// HeraldDefinitions reads herald.yml but cannot parse keys (it does not depend on a crypto
/// library); without an inspector it checks only a file's outline (a PEM block, a JSON object
/// with the right fields). The CLI passes the transports' own parser (HeraldProviders'
/// `CredentialFiles.inspector`).
public struct CredentialFileInspector: Sendable {
    /// What is wrong with the contents of `field` of a provider of `kind`, as a hint
    /// ("is not a P-256 private key: …"), or nil when a transport can use it.
    public let problem: @Sendable (_ kind: ProviderKind, _ field: String, _ contents: Data) -> String?

    public init(_ problem: @escaping @Sendable (_ kind: ProviderKind, _ field: String, _ contents: Data) -> String?) {
        self.problem = problem
    }
}
