import Foundation
import HeraldContent
import HeraldCore
import Hummingbird
import NIOCore

extension APIServer {
    /// `GET /o/{token}` (the open pixel) and `GET /c/{token}` (a tracked link).
    ///
    /// The pixel is always served (a mail client shows no broken image), and counted only when
    /// the token verifies. A click redirects (302) only to the URL signed in its token, and a
    /// token that does not verify gets 404, never a redirect: the endpoint cannot send anyone to
    /// a URL Herald did not put in a message. Opens fetched by known privacy proxies are counted
    /// as machine opens.
    func addTrackingRoutes(to router: Router<APIRequestContext>) {
        router.get("o/:token") { request, context in
            if let links = parts.trackingLinks, let token = context.parameters.get("token"),
               let target = links.target(ofToken: token), target.kind == .open {
                let machine = Self.isMachineOpen(userAgent: request.headers[.userAgent])
                // The pixel is served whether or not the open could be recorded.
                _ = try? await store.applyProviderEvents([ProviderEvent(
                    target: .key(target.key), kind: .opened(machine: machine), provider: "herald", eventKey: "", at: now
                )], at: now)
            }
            var fields = HTTPFields()
            fields[.contentType] = "image/gif"
            fields[.cacheControl] = "no-store, max-age=0"
            return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: Self.pixel)))
        }
        router.get("c/:token") { _, context in
            guard let links = parts.trackingLinks, let token = context.parameters.get("token"),
                  let target = links.target(ofToken: token), target.kind == .click, let url = target.url
            else {
                return Self.page(.notFound, Self.invalidLinkText)
            }
            // The person reaches the link whether or not the click could be recorded.
            _ = try? await store.applyProviderEvents([ProviderEvent(
                target: .key(target.key), kind: .clicked(url: url), provider: "herald", eventKey: "", at: now
            )], at: now)
            var fields = HTTPFields()
            fields[.location] = url
            fields[.cacheControl] = "no-store"
            return Response(status: .found, headers: fields)
        }
    }

    /// Image proxies that fetch every image of a message on delivery, whether anyone reads it.
    static func isMachineOpen(userAgent: String?) -> Bool {
        guard let agent = userAgent?.lowercased() else { return false }
        return ["googleimageproxy", "yahoomailproxy", "ggpht.com", "outlook-image-proxy"].contains { agent.contains($0) }
    }

    /// A transparent 1×1 GIF.
    static let pixel: [UInt8] = [
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x21, 0xF9, 0x04,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
    ]
}
