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
    /// The envelope senders (MAIL FROM) the SMTP user may send as, as a submission server that
    /// checks sender ownership (Postfix's `reject_sender_login_mismatch`); another sender gets
    /// `553 5.7.1 … not owned by user`. Nil allows any sender. Default nil.
    public var smtpAllowedSenders: Set<String>?
    /// The FCM service account whose assertions the token endpoint accepts. Default
    /// ``SandboxFCMServiceAccount/demo`` (SANDBOX ONLY).
    public var fcmServiceAccount: SandboxFCMServiceAccount
    /// The VAPID public key (base64url, uncompressed P-256) Web Push requests must be signed
    /// with, as when browsers subscribed with it as `applicationServerKey`; nil accepts any key
    /// whose signature verifies. Default ``SandboxAccounts/demoVAPIDPublicKey`` (SANDBOX ONLY).
    public var webPushVAPIDPublicKey: String?
    /// APNs: the key id (`kid`), team id (`iss`) and bundle id (`apns-topic`) the sandbox
    /// accepts. Defaults ``sandboxAPNsKeyID``, ``sandboxAPNsTeamID``, ``sandboxAPNsTopic``.
    public var apnsKeyID: String
    public var apnsTeamID: String
    public var apnsTopic: String
    /// The public key (PEM) that APNs JWTs must verify against. Default the public half of
    /// ``sandboxAPNsPrivateKeyPEM``.
    public var apnsPublicKeyPEM: String
    /// JPush appKey and masterSecret. Default `sandboxjpushappkey000001`, `sandbox-jpush-master-secret`.
    public var jpushAppKey: String
    public var jpushMasterSecret: String
    /// Pushy's Secret API Key (`?api_key=`). Default `sandboxpushyapikey0000000000000001`.
    public var pushyAPIKey: String

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
        webPushVAPIDPublicKey: String? = SandboxAccounts.demoVAPIDPublicKey,
        apnsKeyID: String = SandboxAccounts.sandboxAPNsKeyID,
        apnsTeamID: String = SandboxAccounts.sandboxAPNsTeamID,
        apnsTopic: String = SandboxAccounts.sandboxAPNsTopic,
        apnsPublicKeyPEM: String = SandboxAccounts.sandboxAPNsPublicKeyPEM,
        jpushAppKey: String = "sandboxjpushappkey000001",
        jpushMasterSecret: String = "sandbox-jpush-master-secret",
        pushyAPIKey: String = "sandboxpushyapikey0000000000000001",
        smtpAllowedSenders: Set<String>? = nil
    ) {
        self.smtpAllowedSenders = smtpAllowedSenders
        self.fcmServiceAccount = fcmServiceAccount
        self.webPushVAPIDPublicKey = webPushVAPIDPublicKey
        self.apnsKeyID = apnsKeyID
        self.apnsTeamID = apnsTeamID
        self.apnsTopic = apnsTopic
        self.apnsPublicKeyPEM = apnsPublicKeyPEM
        self.jpushAppKey = jpushAppKey
        self.jpushMasterSecret = jpushMasterSecret
        self.pushyAPIKey = pushyAPIKey
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
