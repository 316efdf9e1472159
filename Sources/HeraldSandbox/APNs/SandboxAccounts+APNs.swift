extension SandboxAccounts {
    /// SANDBOX-ONLY demo credentials for APNs token authentication: a P-256 key pair made for
    /// Herald's sandbox and published here, so that `herald init` can write a `.p8` for the demo
    /// and the sandbox can check the JWTs signed with it. Apple knows nothing of this key; never
    /// use it for anything but the sandbox.
    public static let sandboxAPNsKeyID = "SBXKEY0001"
    /// The demo team id (the JWT's `iss`). SANDBOX-ONLY.
    public static let sandboxAPNsTeamID = "SBXTEAM001"
    /// The bundle id the sandbox accepts as `apns-topic`.
    public static let sandboxAPNsTopic = "dev.herald.demo"

    /// The demo `.p8` key (PKCS #8 PEM). SANDBOX-ONLY: public, so worthless as a secret.
    public static let sandboxAPNsPrivateKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQglWnMwzOruv0EFT1Y
        BChInCKcx5/3+6NOyaZYW7YmChOhRANCAAROTsAyA34sfe+HGWkB6GGtc2yaNokq
        HCrhive5EXLLqMdjY9LIrv/FJHygvjXoDJT4qN7jqwiOIIc83UHGQFQp
        -----END PRIVATE KEY-----

        """

    /// The public half of ``sandboxAPNsPrivateKeyPEM`` (SubjectPublicKeyInfo PEM).
    public static let sandboxAPNsPublicKeyPEM = """
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAETk7AMgN+LH3vhxlpAehhrXNsmjaJ
        Khwq4Yr3uRFyy6jHY2PSyK7/xSR8oL416AyU+Kje46sIjiCHPN1BxkBUKQ==
        -----END PUBLIC KEY-----

        """
}
