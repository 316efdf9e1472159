import Crypto
import Foundation

/// A Google service account as the sandbox's FCM emulator knows it: the project it may send
/// for, its email (the assertion's `iss`) and its RSA key.
public struct SandboxFCMServiceAccount: Sendable, Hashable {
    public var projectID: String
    public var clientEmail: String
    /// The key id written as `private_key_id` (the assertion header's `kid`).
    public var privateKeyID: String
    /// The RSA private key, PKCS#8 PEM, as in the JSON file Google hands out.
    public var privateKeyPEM: String

    public init(projectID: String, clientEmail: String, privateKeyID: String, privateKeyPEM: String) {
        self.projectID = projectID
        self.clientEmail = clientEmail
        self.privateKeyID = privateKeyID
        self.privateKeyPEM = privateKeyPEM
    }

    /// SANDBOX-ONLY demo credentials: a fixed 2048-bit RSA key published with Herald's source,
    /// so that `herald demo` can run FCM against the sandbox. Never valid at Google.
    public static let demo = SandboxFCMServiceAccount(
        projectID: "herald-sandbox-demo",
        clientEmail: "herald-sandbox@herald-sandbox-demo.iam.gserviceaccount.com",
        privateKeyID: "sandbox-demo-key-1",
        privateKeyPEM: """
        -----BEGIN PRIVATE KEY-----
        MIIEuwIBADANBgkqhkiG9w0BAQEFAASCBKUwggShAgEAAoIBAQDHp0NBP902TVh6
        0GGPx+JAdN3uOE1bfNiEG+B3ecI3YUsXPdB1Ksfw8q7MEjeAjyowqQbHcYEDYzgI
        82+ktdFgswRl9ZJQTj7NwuYz72xfAlv6sREsraiVrsrHWpw3xyRR+dojmAfOscS5
        ZHBzI0h2ZIVfiHEAynyui7elY/PBUdw5Gfbxf45CJITMNfz10QVSD7lkJlzeZvQ4
        JNxYx9aIoPbsOsBA41h3UtqsKChKYdisKPQkJt7L0Phg+SDvoJFTrasdB0QUbh1k
        O52rSAl+1sloPfV9jNPEhesMFMhO63V7QJFZldS9A+pOvvigN+VoGHLaLajEXjFL
        kCNI3t2NAgMBAAECgf910yu++fvabEXVfJVetaw22MFoMQUkNkHObYZ7i0EItXbY
        sR0XO7d7uGCjLSdCMlncr6ZlA0U+xMoZxeJ5XC/YcNe3Al7mD+sU8/qpoXl8Mhty
        R7DbCU9f/HWvWatSm8MbLS+FBTO/TMOO4vTql7TFhibJd8ZXc7emVPcgwseIYqZr
        b02JAX3Y0cNcgL51Dto7sN8t25ypaaVPRkBhPGiG53qGjbewWX4LbrJiUlswnoJ7
        wYdM7eZ5dQd2Npr+K4Y+M1plaNo+lxkhOp6+cxAgkLQzRSm8HjjdoFwnfMkwJjok
        inqVIaJm6s8W2NbnK8kqKPpXrZn8StWs3JrEZ8ECgYEA+bH6Yfe+e28xDiiOndyC
        8T7fbu4KhZoJsPqOtE++ngJJQejEsKw+QM4choIM/VRXW5HVo8PoDgGrTQnoo4PW
        yY3I7VYriWu/9kJjGsyifaUZ9eD0aYntO8XwFzoUAP6uhCDL6RS/sDEzS6MC0SSy
        v3t80ZZc0ujfBC3hsJz2QJECgYEAzLHQ0Z7h1UJk+cGABFfLJb8JI+mE+w4IJ2Er
        ieIvq+ELCjqCuuvDJnJNrQ/phPxAItnkaGjStQ/T9L8IYM7aus4ncTFEKVFPFrrP
        YNKq45h8llCiQ2uFo79mrX2Jyvsmah1OQg2DBHbRWMezVAerKDO7T+RsjNHZSaNQ
        KwxXSz0CgYBDtRIq/I3nVKhdqXu6rK/JEP5vSxcJUVKtbdPCaxlKKV6KA79KFPqw
        gfNUOfGhw/wINYxT4uyK18MGmdg+dqKIduz0Bni5w8EC2s+a1cB+B4X5mW1NLPxq
        R+spsTL5bhYOeAIzCtBLy5uYN/Ssl6HssGSRRI+ZFVJcBMD9LiLMMQKBgQCuCsa9
        ZPUpqZFHlpItnyQ4jOzNnyEVgYHHUeR+EVZtMyR65vL+0bUVPHz1GCF6lCxINbHy
        YKY/kxyp7b/G6DqsONrqcHQ/GUZA0ke/UIBCkgXknNzKrGJtrzEzdBk0AEVSVmaS
        3QA4THqFnQ7J9Nc/kHTEYjk1pru00+o3IAAdFQKBgDrGo8RiNq/D+/0Opm1WBqaf
        dAEb7GWezEk3NcDiTdnMsE/1LBDZYwS+1XV/k/D937Npfv5MZvgeOMYIQ1coRnfh
        C9jXsXrHBVvM7LAwLTOQFtIr13uf7OS4m1GYOCPAMT0pqq956UaUdOyv5Hp6PPSt
        Mj+SgJt7DgFwY1Jc4l2+
        -----END PRIVATE KEY-----
        """
    )

    /// The service-account JSON file Google would hand out, with `token_uri` pointing at a
    /// sandbox: what `herald init` writes as `keys/fcm-service-account.json` for the demo.
    ///
    /// - Parameter sandboxBaseURL: the sandbox's FCM base URL, `RunningSandbox.baseURL(for: .fcm)`
    ///   (`http://127.0.0.1:PORT/fcm`); `token_uri` is that plus `/token`.
    public func serviceAccountJSON(sandboxBaseURL: String) -> String {
        var base = sandboxBaseURL
        while base.hasSuffix("/") { base.removeLast() }
        let object: [String: String] = [
            "type": "service_account", "project_id": projectID, "private_key_id": privateKeyID, "private_key": privateKeyPEM + "\n",
            "client_email": clientEmail, "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": base + "/token",
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/" + clientEmail,
            "universe_domain": "googleapis.com",
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension SandboxAccounts {
    /// SANDBOX-ONLY demo VAPID private key: the raw P-256 scalar, base64url. Published with
    /// Herald's source; for the demo's `webpush` provider only.
    public static let demoVAPIDPrivateKey = "9F75jJYZBRQaaRnylGKwpEKUsYnjkasQ5Lmtn9wgC2U"
    /// The same key as PEM (PKCS #8), the form herald.yml's `vapid_private_key_file` holds.
    public static var demoVAPIDPrivateKeyPEM: String {
        guard let raw = SandboxBase64URL.decode(demoVAPIDPrivateKey), let key = try? P256.Signing.PrivateKey(rawRepresentation: raw) else { return "" }
        return key.pemRepresentation + "\n"
    }
    /// Its public key, base64url (uncompressed point): the demo's `applicationServerKey`.
    public static let demoVAPIDPublicKey = "BIUis8wWv_SUCWRjP1_L2YQFtdFBwWJpjSYUj5aeRb9YaeCM2J66WzYNOwWJv03WF4y3bKy-eHzt7ubJSk9wJlw"
    /// A VAPID subject for the demo.
    public static let demoVAPIDSubject = "mailto:demo@herald.invalid"
}
