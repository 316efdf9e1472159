import AsyncHTTPClient
import Foundation
import HeraldSandbox
import HeraldTesting
import NIOCore
import NIOHTTP1
import Testing

/// Two `herald serve` processes on one store, as a service behind a load balancer meets them:
/// the same idempotent send retried on both at once is planned once, a server killed with
/// `kill -9` mid-load loses no acknowledged send and a retry after its restart plans nothing
/// twice, and each guest gets exactly one email from the sender the request named.
@Suite(.tags(.slow)) struct APIConcurrencyTests {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// A running `herald serve` and its base URL.
    struct Server {
        var process: (process: Process, stdout: Pipe, stderr: Pipe)
        var base: String

        static func start(in workspace: String) async throws -> Server {
            let server = try HeraldBinary.start(["serve", "--listen", "127.0.0.1:0"], in: workspace)
            let banner = await onOwnThread { String(decoding: PipeReading.available(server.stdout.fileHandleForReading), as: UTF8.self) }
            guard let portText = banner.split(separator: ":").last?.split(separator: " ").first, let port = Int(portText) else {
                server.process.terminate()
                throw Failure(description: "herald serve printed no address: \(banner)")
            }
            return Server(process: server, base: "http://127.0.0.1:\(port)")
        }
    }

    static func body(_ index: Int) -> String {
        #"{"to": [{"email": "guest\#(index)@example.com"}], "from": {"email": "orders@example.com", "name": "Shop Orders"}, "subject": "Receipt \#(index)", "content": [{"type": "text/plain", "value": "Paid, order \#(index)"}], "channels": ["email"]}"#
    }

    @Test func twoServersPlanEachIdempotentSendOnceAndAKilledOneLosesNothing() async throws {
        try await withTemporaryDirectory { directory in
            let workspace = directory.path
            #expect(try await HeraldBinary.run(["init", workspace, "--force"], in: workspace).status == 0)
            try removeLimits(fromWorkspace: workspace)
            let keys = try await HeraldBinary.run(["keys", "create", "--scopes", "send"], in: workspace)
            let appKey = try #require(keys.stdout.split(separator: "\n").first { $0.hasPrefix("app key:") }?.split(separator: " ").last)
            let secret = try #require(keys.stdout.split(separator: "\n").first { $0.hasPrefix("secret:") }?.split(separator: " ").last)
            let auth = "Basic " + Data("\(appKey):\(secret)".utf8).base64EncodedString()

            var first = try await Server.start(in: workspace)
            let second = try await Server.start(in: workspace)
            defer {
                for server in [first, second] where server.process.process.isRunning { server.process.process.terminate() }
            }
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            @Sendable func send(_ base: String, _ index: Int, key: String) async -> (status: Int, body: String) {
                var request = HTTPClientRequest(url: base + "/v1/notifications")
                request.method = .POST
                request.headers.add(name: "Authorization", value: auth)
                request.headers.add(name: "Idempotency-Key", value: key)
                request.body = .bytes(ByteBuffer(string: Self.body(index)))
                do {
                    let response = try await client.execute(request, timeout: .seconds(30))
                    return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
                } catch {
                    return (0, "\(error)")
                }
            }
            /// The notification ids an answer names.
            func ids(_ body: String) -> [Int] {
                let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
                return (object?["notifications"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } ?? []
            }
            do {
                // 1. Twelve sends, each posted four times at once: twice to each server.
                let bases = [first.base, second.base]
                let answers = await withTaskGroup(of: (Int, Int, String).self) { group in
                    for index in 0..<12 {
                        for copy in 0..<4 {
                            group.addTask {
                                let answer = await send(bases[copy % 2], index, key: "send-\(index)")
                                return (index, answer.status, answer.body)
                            }
                        }
                    }
                    var all: [(Int, Int, String)] = []
                    for await answer in group { all.append(answer) }
                    return all
                }
                #expect(answers.allSatisfy { $0.1 == 202 }, "\(answers.filter { $0.1 != 202 })")
                for index in 0..<12 {
                    let named = Set(answers.filter { $0.0 == index }.map { ids($0.2) })
                    #expect(named.count == 1 && named.first?.count == 1, "send \(index): every answer names the same one notification: \(named)")
                }
                let planned = try await HeraldBinary.run(["report", "--campaign", "api:(raw)", "--format", "json"], in: workspace)
                // One row per send: twelve sends of one email each.
                let sends = ((try? JSONSerialization.jsonObject(with: Data(planned.stdout.utf8))) as? [[String: Any]] ?? []).filter { $0["occurrence"] is Int }
                #expect(sends.count == 12 && sends.allSatisfy { $0["targeted"] as? Int == 1 && $0["pending"] as? Int == 1 }, "\(planned.stdout)\(planned.stderr)")

                // 2. Load on the first server, killed with kill -9 in the middle of it.
                // (How many were answered before the kill varies; what follows holds for any.)
                let load = Task {
                    await withTaskGroup(of: (Int, Int, String).self) { group in
                        for index in 100..<400 {
                            group.addTask {
                                let answer = await send(bases[0], index, key: "load-\(index)")
                                return (index, answer.status, answer.body)
                            }
                        }
                        var all: [(Int, Int, String)] = []
                        for await answer in group { all.append(answer) }
                        return all
                    }
                }
                try await Task.sleep(for: .milliseconds(200))
                kill(first.process.process.processIdentifier, SIGKILL)
                let underLoad = await load.value
                _ = await HeraldBinary.finish(first.process)
                first = try await Server.start(in: workspace)

                // Every send retried after the restart: acknowledged ones get their first answer,
                // the others are planned now; none twice.
                var retried: [Int: [Int]] = [:]
                for index in 100..<400 {
                    let answer = await send(index % 2 == 0 ? first.base : second.base, index, key: "load-\(index)")
                    #expect(answer.status == 202, "load \(index): \(answer.body)")
                    retried[index] = ids(answer.body)
                }
                let acknowledged = underLoad.filter { $0.1 == 202 }
                for (index, _, body) in acknowledged {
                    #expect(ids(body) == retried[index], "load \(index): the retry names what the first answer named")
                }
                #expect(Set(retried.values.flatMap { $0 }).count == 300, "three hundred sends, one notification each")

                // 3. Delivered to the sandbox: one email per guest, from the sender each request named.
                try await Sandbox.withRunning(Sandbox.Configuration(port: 0, smtpPort: nil)) { sandbox in
                    let yml = directory.file("herald.yml")
                    try String(contentsOfFile: yml, encoding: .utf8)
                        .replacingOccurrences(of: "http://127.0.0.1:4010/", with: "http://127.0.0.1:\(sandbox.port)/")
                        .write(toFile: yml, atomically: true, encoding: .utf8)
                    let delivered = try await HeraldBinary.run(["deliver"], in: workspace)
                    #expect(delivered.status == 0, "\(delivered.stdout)\(delivered.stderr)")
                    let emails = sandbox.log.messages.filter { $0.provider == .sendgrid || $0.provider == .mandrill }
                    #expect(emails.count == 312, "\(acknowledged.count) acknowledged under load; \(emails.count) emails")
                    #expect(Set(emails.map(\.to)).count == 312, "no guest got two")
                    #expect(emails.allSatisfy { $0.from == "orders@example.com" })
                }
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
        }
    }
}
