import Foundation
import HeraldCore
@testable import HeraldProviders
import HeraldSandbox
import NIOCore
import NIOHPACK
import Testing

/// What one APNs connection spends on headers: the values every push repeats (the JWT, the
/// topic) are sent once and referenced after, because the values no other push repeats (the
/// device's path, the request id) stay out of HPACK's dynamic table.
@Suite struct HPACKIndexingTests {
    /// The header blocks of `count` pushes to different devices, as one connection encodes them
    /// in turn, and what a decoder reads back from them.
    static func encoded(_ count: Int) throws -> (sizes: [Int], decoded: [HPACKHeaders], sent: [HPACKHeaders]) {
        let transport = try APNsTransport(name: "apns", configuration: .init(
            keyID: "ABC123DEFG", teamID: "DEF123GHIJ", privateKeyPEM: SandboxAccounts.sandboxAPNsPrivateKeyPEM, topic: "com.example.shop",
            baseURL: "https://127.0.0.1:1"
        ), http: ProviderHTTPClient())
        let authorization = "bearer " + transport.token.current().jwt
        var encoder = HPACKEncoder(allocator: ByteBufferAllocator())
        var decoder = HPACKDecoder(allocator: ByteBufferAllocator())
        var sizes: [Int] = []
        var decoded: [HPACKHeaders] = []
        var sent: [HPACKHeaders] = []
        for index in 0..<count {
            let message = OutboundMessage(
                notificationID: Int64(index + 1), campaignID: "order-shipped", userID: "u-\(index)", channel: .push,
                provider: "apns", address: String(repeating: "0", count: 48) + String(format: "%016x", index),
                content: .push(PushContent(title: "Order", body: "Your order has shipped")), attempt: 1
            )
            guard case .request(var request) = transport.prepare(message, now: Date()) else {
                Issue.record("push \(index) was refused")
                continue
            }
            request.headers.insert(("authorization", authorization), at: 0)
            let headers = HTTP2RequestHandler.headerBlock(of: request, authority: "api.push.apple.com")
            var buffer = ByteBufferAllocator().buffer(capacity: 512)
            try encoder.encode(headers: headers, to: &buffer)
            sizes.append(buffer.readableBytes)
            decoded.append(try decoder.decodeHeaders(from: &buffer))
            sent.append(headers)
        }
        return (sizes, decoded, sent)
    }

    @Test func theJWTAndTopicAreSentOnceAndEachPushAfterwardsTakesFewBytes() throws {
        let (sizes, decoded, sent) = try Self.encoded(200)
        // The first block carries the JWT (about 200 bytes) and every other value once.
        #expect(sizes[0] > 250)
        // Later ones: the path (a 64-digit token) and the request id, Huffman-coded, and one
        // byte or two for each repeated header. Indexed, the path and id pushed the JWT out
        // of the 4,096-byte table every twenty pushes or so, and it went out again in full.
        #expect(sizes.dropFirst().allSatisfy { $0 < 110 }, "header blocks after the first: \(Set(sizes.dropFirst()).sorted())")
        // What the server decodes is what was sent, name for name and value for value.
        for (read, written) in zip(decoded, sent) {
            #expect(read.map { "\($0.name): \($0.value)" } == written.map { "\($0.name): \($0.value)" })
        }
    }
}
