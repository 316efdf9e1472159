import Foundation
import HeraldContent
import HeraldCore
import Hummingbird
import NIOCore

extension APIServer {
    /// `/u/{token}`, the link of `List-Unsubscribe` and of `{{unsubscribe_url}}`.
    ///
    /// `POST` is RFC 8058's one-click unsubscribe (the mail client posts
    /// `List-Unsubscribe=One-Click`, without cookies or a login): it opts the recipient out at
    /// once, and again is harmless. `GET` only shows a page with a button that posts, because
    /// mail scanners and link previews follow links: a link followed must never unsubscribe.
    func addUnsubscribeRoutes(to router: Router<APIRequestContext>) {
        router.get("u/:token") { _, context in
            guard let key = verifiedKey(context) else { return Self.page(.notFound, Self.invalidLinkText) }
            _ = key
            return Self.page(.ok, """
                <h1>Unsubscribe</h1>
                <p>Stop receiving these messages?</p>
                <form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">\
                <button type="submit">Unsubscribe</button></form>
                """)
        }
        router.post("u/:token") { request, context in
            // The body says One-Click; it is read (bounded) and not needed: the signed token is
            // the authority, and a POST is the confirmation.
            _ = try await JSONBody.bytes(of: request, limit: 4096)
            guard let key = verifiedKey(context) else { return Self.page(.notFound, Self.invalidLinkText) }
            let result = try await store.unsubscribe(key, at: now) { channel, category in
                // Transactional mail respects only the channel opt-out; anything else is opted
                // out of its category on that channel, the list the message came from.
                category == Campaign.transactionalCategory ? channel.rawValue : "\(channel.rawValue):\(category)"
            }
            switch result {
            case .optedOut, .nobody:
                return Self.page(.ok, "<h1>You are unsubscribed</h1><p>You will not receive these messages any more.</p>")
            }
        }
    }

    func verifiedKey(_ context: APIRequestContext) -> NotificationKey? {
        guard let links = parts.unsubscribeLinks, let token = context.parameters.get("token") else { return nil }
        return links.key(fromToken: token)
    }

    static let invalidLinkText = "<h1>This link is not valid</h1><p>It may have been cut short; open it from the message again.</p>"

    static func page(_ status: HTTPResponse.Status, _ body: String) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "text/html; charset=utf-8"
        fields[.cacheControl] = "no-store"
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8">\
            <meta name="viewport" content="width=device-width, initial-scale=1"><title>Unsubscribe</title>\
            <style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}\
            button{font-size:1rem;padding:.5rem 1rem}</style></head><body>\(body)</body></html>
            """
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }
}
