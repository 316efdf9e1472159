/// The providers the sandbox emulates. Each is served below its own path prefix
/// (`http://127.0.0.1:PORT/twilio`), which is the `base_url` a Herald provider points at.
public enum SandboxProvider: String, Sendable, Hashable, CaseIterable, Codable {
    case twilio, vonage, sendgrid, mandrill, smtp
    /// FCM HTTP v1 (`/fcm/token`, `/fcm/v1/projects/{id}/messages:send`) and Web Push
    /// (`/webpush/push/{id}`).
    case fcm, webpush

    /// The path prefix of an HTTP emulator; SMTP has its own port.
    public var pathPrefix: String { "/\(rawValue)" }
}
