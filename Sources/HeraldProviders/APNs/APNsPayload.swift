import Foundation
import HeraldCore

/// The JSON body of one APNs request (providers.md, section 1): the `aps` dictionary, then the
/// custom keys as its siblings (APNs ignores custom keys inside `aps`).
///
/// An alert push carries `aps.alert {title, body}`, `badge`, `sound`, `category`, `thread-id`,
/// and `mutable-content: 1` when it has an image (the app's notification service extension
/// downloads it from the `image` key). A silent push carries only `aps.content-available: 1`
/// and the custom keys. The custom keys are the push's `data` (sorted by key, so that the bytes
/// are reproducible), then `url` and `image` unless `data` already has those keys.
public enum APNsPayload {
    /// Apple's limit for every push type but VoIP, in bytes.
    public static let maximumSize = 4096

    /// Why a payload cannot be built: a custom key that APNs reserves.
    public static func refusal(_ content: PushContent) -> String? {
        content.data.keys.contains("aps") ? "the push data has a key 'aps', which APNs reserves for its own dictionary" : nil
    }

    /// The payload's bytes, exactly as sent.
    public static func encode(_ content: PushContent) -> [UInt8] {
        var json = JSONWriter(capacity: 256 + content.body.utf8.count)
        json.raw("{\"aps\":{")
        var first = true
        func key(_ name: StaticString) {
            if !first { json.raw(",") }
            first = false
            json.raw(name)
        }
        if content.isSilent {
            key("\"content-available\":1")
        } else {
            key("\"alert\":{")
            if let title = content.title, !title.isEmpty {
                json.raw("\"title\":")
                json.string(title)
                json.raw(",")
            }
            json.raw("\"body\":")
            json.string(content.body)
            json.raw("}")
            if let badge = content.badge {
                key("\"badge\":")
                json.number(Int64(badge))
            }
            if let sound = content.sound, !sound.isEmpty {
                key("\"sound\":")
                json.string(sound)
            }
            if let category = content.category, !category.isEmpty {
                key("\"category\":")
                json.string(category)
            }
            if let thread = content.threadID, !thread.isEmpty {
                key("\"thread-id\":")
                json.string(thread)
            }
            if let image = content.image, !image.isEmpty {
                key("\"mutable-content\":1")
            }
        }
        json.raw("}")
        for name in content.data.keys.sorted() {
            json.raw(",")
            json.string(name)
            json.raw(":")
            json.string(content.data[name] ?? "")
        }
        if let url = content.url, !url.isEmpty, content.data["url"] == nil {
            json.raw(",\"url\":")
            json.string(url)
        }
        if !content.isSilent, let image = content.image, !image.isEmpty, content.data["image"] == nil {
            json.raw(",\"image\":")
            json.string(image)
        }
        json.raw("}")
        return json.bytes
    }
}
