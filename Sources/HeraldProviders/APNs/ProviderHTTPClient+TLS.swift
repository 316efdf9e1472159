import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

extension ProviderHTTPClient {
    /// Sends one request and reads its answer (bounded), with a TLS configuration of the
    /// request's own (a certificate authority to trust; nil: the client's), and the HTTP
    /// version the answer came in. ``execute(method:url:headers:body:timeout:)`` is this without
    /// either.
    ///
    /// async-http-client keys its connection pools by scheme, host, port and TLS configuration,
    /// so every request with the same configuration shares one pool. Over TLS it offers ALPN
    /// `h2` and `http/1.1`; with `httpVersion = .automatic` a new pool starts in HTTP/2 mode
    /// (one connection, requests queued until it is up), keeps that one connection while the
    /// server speaks HTTP/2, and multiplexes every request on it as a stream, waiting for a
    /// free stream rather than opening a second connection. It falls back to HTTP/1.1
    /// connections only when ALPN does not give `h2`.
    func execute(
        method: HTTPMethod, url: String, headers: [(String, String)], body: [UInt8]?, tlsConfiguration: TLSConfiguration?,
        timeout: Duration? = nil
    ) async -> Result<(Answer, HTTPVersion), Failure> {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let tlsConfiguration { request.tlsConfiguration = tlsConfiguration }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        var head: HTTPClientResponse?
        var data = Data()
        do {
            let deadline = NIODeadline.now() + .nanoseconds(Int64((timeout ?? configuration.requestTimeout).seconds * 1e9))
            let response = try await client.execute(request, deadline: deadline)
            head = response
            var truncated = false
            for try await chunk in response.body {
                if data.count + chunk.readableBytes > configuration.maximumAnswerSize {
                    data.append(contentsOf: chunk.readableBytesView.prefix(configuration.maximumAnswerSize - data.count))
                    truncated = true
                    break
                }
                data.append(contentsOf: chunk.readableBytesView)
            }
            let answer = Answer(status: Int(response.status.code), headers: response.headers, body: data, isTruncated: truncated)
            return .success((answer, response.version))
        } catch {
            // A success whose body broke off: the provider has taken the message, and sending it
            // again would deliver it twice. The cut answer goes to the classifier (which counts
            // a success it cannot read as sent); any other status is a failure to retry.
            if let head, (200..<300).contains(Int(head.status.code)) {
                return .success((Answer(status: Int(head.status.code), headers: head.headers, body: data, isTruncated: true), head.version))
            }
            return .failure(Failure(description: Self.describe(error)))
        }
    }
}
