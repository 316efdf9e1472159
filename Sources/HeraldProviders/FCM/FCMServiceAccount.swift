import Foundation

/// The parts of a Google service-account key file (`fcm-service-account.json`) that FCM's
/// OAuth2 flow needs.
///
/// ```swift
/// let account = try FCMServiceAccount(json: Data(contentsOf: URL(fileURLWithPath: "keys/fcm-service-account.json")))
/// ```
public struct FCMServiceAccount: Sendable, Hashable {
    /// `project_id`: the Firebase project messages are sent for.
    public var projectID: String
    /// `client_email`: the assertion's issuer.
    public var clientEmail: String
    /// `private_key`: the RSA key, PEM (PKCS#8 as Google writes it, or PKCS#1).
    public var privateKey: String
    /// `private_key_id`: sent as the assertion's `kid` when present.
    public var privateKeyID: String?
    /// `token_uri`: where the assertion is exchanged for an access token. Default
    /// `https://oauth2.googleapis.com/token`.
    public var tokenURI: String

    public static let googleTokenURI = "https://oauth2.googleapis.com/token"

    public init(projectID: String, clientEmail: String, privateKey: String, privateKeyID: String? = nil, tokenURI: String = googleTokenURI) {
        self.projectID = projectID
        self.clientEmail = clientEmail
        self.privateKey = privateKey
        self.privateKeyID = privateKeyID
        self.tokenURI = tokenURI
    }

    /// Reads the JSON file Google's console hands out.
    ///
    /// - Throws: ``FCMConfigurationError`` naming the missing or wrong field.
    public init(json: Data) throws(FCMConfigurationError) {
        guard let object = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] else {
            throw FCMConfigurationError("the service-account file is not a JSON object")
        }
        if let type = object["type"] as? String, type != "service_account" {
            throw FCMConfigurationError("the key file's type is '\(type)'; FCM needs a service_account key (Firebase console → Project settings → Service accounts)")
        }
        func field(_ name: String) throws(FCMConfigurationError) -> String {
            guard let value = object[name] as? String, !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw FCMConfigurationError("the service-account file has no \(name)")
            }
            return value
        }
        self.init(
            projectID: try field("project_id"), clientEmail: try field("client_email"), privateKey: try field("private_key"),
            privateKeyID: object["private_key_id"] as? String, tokenURI: (object["token_uri"] as? String) ?? Self.googleTokenURI
        )
    }
}

/// An FCM transport that cannot work as configured.
public struct FCMConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
