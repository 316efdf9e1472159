/// The credentials the sandbox accepts, one set per provider, as the real services would check
/// them. The defaults are fixed, documented test values, so a workspace can be pointed at the
/// sandbox without real secrets.
public struct SandboxAccounts: Sendable, Hashable {
    /// Twilio account SID (`AC` + 32 hex digits). Default `AC` + 32 zeros... with a final `1`.
    public var twilioAccountSID: String
    /// Twilio auth token. Default `sandbox-twilio-auth-token`.
    public var twilioAuthToken: String
    /// A Twilio API key (`SK…`) and its secret, accepted in place of the account credentials.
    /// Default `SK` + 31 zeros + `1`, `sandbox-twilio-api-secret`.
    public var twilioAPIKeySID: String
    public var twilioAPIKeySecret: String
    /// Vonage api_key and api_secret. Default `sandboxkey`, `sandbox-vonage-secret`.
    public var vonageAPIKey: String
    public var vonageAPISecret: String
    /// SendGrid API key. Default `SG.sandbox.sendgrid-api-key`.
    public var sendGridAPIKey: String
    /// Mailchimp Transactional (Mandrill) API key. Default `md-sandbox-mandrill-key`.
    public var mandrillAPIKey: String
    /// SMTP AUTH user and password. Default `herald`, `sandbox-smtp-password`.
    public var smtpUsername: String
    public var smtpPassword: String
    /// The FCM service account whose assertions the token endpoint accepts. Default
    /// ``SandboxFCMServiceAccount/demo`` (SANDBOX ONLY).
    public var fcmServiceAccount: SandboxFCMServiceAccount
    /// The VAPID public key (base64url, uncompressed P-256) Web Push requests must be signed
    /// with, as when browsers subscribed with it as `applicationServerKey`; nil accepts any key
    /// whose signature verifies. Default ``SandboxAccounts/demoVAPIDPublicKey`` (SANDBOX ONLY).
    public var webPushVAPIDPublicKey: String?

    public init(
        twilioAccountSID: String = "AC00000000000000000000000000000001",
        twilioAuthToken: String = "sandbox-twilio-auth-token",
        twilioAPIKeySID: String = "SK00000000000000000000000000000001",
        twilioAPIKeySecret: String = "sandbox-twilio-api-secret",
        vonageAPIKey: String = "sandboxkey",
        vonageAPISecret: String = "sandbox-vonage-secret",
        sendGridAPIKey: String = "SG.sandbox.sendgrid-api-key",
        mandrillAPIKey: String = "md-sandbox-mandrill-key",
        smtpUsername: String = "herald",
        smtpPassword: String = "sandbox-smtp-password",
        fcmServiceAccount: SandboxFCMServiceAccount = .demo,
        webPushVAPIDPublicKey: String? = SandboxAccounts.demoVAPIDPublicKey
    ) {
        self.fcmServiceAccount = fcmServiceAccount
        self.webPushVAPIDPublicKey = webPushVAPIDPublicKey
        self.twilioAccountSID = twilioAccountSID
        self.twilioAuthToken = twilioAuthToken
        self.twilioAPIKeySID = twilioAPIKeySID
        self.twilioAPIKeySecret = twilioAPIKeySecret
        self.vonageAPIKey = vonageAPIKey
        self.vonageAPISecret = vonageAPISecret
        self.sendGridAPIKey = sendGridAPIKey
        self.mandrillAPIKey = mandrillAPIKey
        self.smtpUsername = smtpUsername
        self.smtpPassword = smtpPassword
    }
}
