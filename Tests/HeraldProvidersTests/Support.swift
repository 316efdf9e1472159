import AsyncHTTPClient
import Foundation
import HeraldCore
import HeraldProviders
import HeraldSandbox
import NIOCore
import NIOHTTP1
import Testing

/// A sandbox on port 0 and an HTTP client, both stopped when `body` ends.
func withSandbox<T: Sendable>(
    _ configuration: Sandbox.Configuration = Sandbox.Configuration(),
    // 30 s to connect: these tests are about what answers mean, and the suite shares two busy
    // cores with end-to-end tests, which can hold the loops of a sandbox for seconds.
    client: ProviderHTTPClient.Configuration = ProviderHTTPClient.Configuration(connectTimeout: .seconds(30)),
    _ body: @Sendable (RunningSandbox, ProviderHTTPClient) async throws -> T
) async throws -> T {
    try await Sandbox.withRunning(configuration) { sandbox in
        let http = ProviderHTTPClient(configuration: client)
        do {
            let result = try await body(sandbox, http)
            try await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }
}

func sms(_ id: Int64, to address: String, body: String = "Your order has shipped", attempt: Int = 1) -> OutboundMessage {
    OutboundMessage(
        notificationID: id, occurrenceID: 1, campaignID: "order-shipped", userID: "u-\(id)", channel: .sms, category: "transactional",
        provider: "twilio", address: address, content: .sms(SMSContent(body: body)), attempt: attempt
    )
}

func email(
    _ id: Int64, to address: String, subject: String = "Winter sale", html: String? = "<p>Hello</p>", text: String = "Hello",
    category: String = "marketing", provider: String = "sendgrid", unsubscribe: Bool = true
) -> OutboundMessage {
    OutboundMessage(
        notificationID: id, occurrenceID: 1, campaignID: "winter-sale", userID: "u-\(id)", channel: .email, category: category,
        provider: provider, address: address, content: .email(EmailContent(subject: subject, html: html, text: text)), attempt: 1,
        unsubscribeURL: unsubscribe ? "https://t.example.com/u/token-\(id)" : nil
    )
}

/// Sends a raw request to the sandbox, for the checks a transport never trips.
func raw(
    _ http: HTTPClient, _ url: String, method: HTTPMethod = .POST, headers: [(String, String)] = [], body: Data? = nil
) async throws -> (status: Int, headers: [String: String], body: String) {
    var request = HTTPClientRequest(url: url)
    request.method = method
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
    let response = try await http.execute(request, timeout: .seconds(30))
    let data = try await response.body.collect(upTo: 10 * 1024 * 1024)
    var fields: [String: String] = [:]
    for header in response.headers { fields[header.name.lowercased()] = header.value }
    return (Int(response.status.code), fields, String(buffer: data))
}

/// A shared plain client for raw requests.
func withRawClient<T: Sendable>(_ body: @Sendable (HTTPClient) async throws -> T) async throws -> T {
    var configuration = HTTPClient.Configuration()
    configuration.timeout.connect = .seconds(30)
    let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}

func basic(_ user: String, _ password: String) -> String {
    "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
}

func json(_ text: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
}

extension Tag {
    /// Tests that take seconds (hundreds of requests); `swift test --skip slow` style filters leave them out.
    @Tag static var slow: Self
}
