/// The providers the sandbox emulates. Each is served below its own path prefix
/// (`http://127.0.0.1:PORT/twilio`), which is the `base_url` a Herald provider points at.
public enum SandboxProvider: String, Sendable, Hashable, CaseIterable, Codable {
    case twilio, vonage, sendgrid, mandrill, smtp
    /// FCM HTTP v1 (`/fcm/token`, `/fcm/v1/projects/{id}/messages:send`) and Web Push
    /// (`/webpush/push/{id}`).
    case fcm, webpush
    /// APNs has its own TLS port (HTTP/2); JPush and Pushy are served below their prefixes.
    case apns, jpush, pushy

    /// The path prefix of an HTTP emulator; SMTP and APNs have their own ports.
    public var pathPrefix: String { "/\(rawValue)" }
}
