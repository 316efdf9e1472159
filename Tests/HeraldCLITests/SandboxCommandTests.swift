import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HeraldSandbox
import HeraldTesting
import Testing

@Suite(.tags(.slow), .timeLimit(.minutes(4)))
struct SandboxCommandTests {
    @Test func theSandboxPrintsItsURLsRecordsWhatItAcceptsAndStopsOnSIGTERM() async throws {
        try await withTemporaryDirectory { directory in
            try directory.write("faults.yml", "twilio:\n  opted_out: [\"+14155550199\"]\n")
            let (process, stdout, _) = try HeraldBinary.start(
                ["sandbox", "--listen", "127.0.0.1:0", "--smtp-port", "0", "--apns-port", "0", "--record", "messages.jsonl", "--faults", "faults.yml"], in: directory.path
            )
            defer { if process.isRunning { process.terminate() } }
            // The banner's first line names the port: "herald sandbox on 127.0.0.1:PORT".
            var banner = ""
            let handle = stdout.fileHandleForReading
            while !banner.contains("Ctrl-C stops it.") {
                let data = await onOwnThread { PipeReading.available(handle) }
                guard !data.isEmpty else { break }
                banner += String(decoding: data, as: UTF8.self)
            }
            #expect(banner.contains("twilio    base_url: http://127.0.0.1:"), "\(banner)")
            #expect(banner.contains("smtp      url: smtp://127.0.0.1:"), "\(banner)")
            #expect(banner.contains("apns      base_url: https://127.0.0.1:"), "\(banner)")
            let port = try #require(banner.split(separator: "\n").first?.split(separator: ":").last.flatMap { Int($0) })

            let accounts = SandboxAccounts()
            let url = URL(string: "http://127.0.0.1:\(port)/twilio/2010-04-01/Accounts/\(accounts.twilioAccountSID)/Messages.json")!
            func post(_ to: String) async throws -> Int {
                var request = URLRequest(url: url)
                request.httpMethod = "POST"
                request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
                request.setValue("Basic " + Data("\(accounts.twilioAccountSID):\(accounts.twilioAuthToken)".utf8).base64EncodedString(), forHTTPHeaderField: "Authorization")
                request.httpBody = Data("To=\(to.replacingOccurrences(of: "+", with: "%2B"))&From=%2B15005550006&Body=hi".utf8)
                return try await withCheckedThrowingContinuation { continuation in
                    URLSession.shared.dataTask(with: request) { _, response, error in
                        if let error { continuation.resume(throwing: error) } else {
                            continuation.resume(returning: (response as? HTTPURLResponse)?.statusCode ?? 0)
                        }
                    }.resume()
                }
            }
            #expect(try await post("+14155550100") == 201)
            // The faults file's opted-out number is refused as Twilio refuses it.
            #expect(try await post("+14155550199") == 400)

            process.terminate()
            await onOwnThread { process.waitUntilExit() }
            #expect(process.terminationStatus == 0)
            let lines = try String(contentsOfFile: directory.file("messages.jsonl"), encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 1 && lines[0].contains("+14155550100"))
        }
    }

    @Test func aBadFaultsFileIsNamedAtItsPosition() async throws {
        try await withTemporaryDirectory { directory in
            try directory.write("faults.yml", "twilio:\n  eror_rate: {429: 0.1}\n")
            let output = try await HeraldBinary.run(["sandbox", "--listen", "127.0.0.1:0", "--apns-port", "0", "--faults", "faults.yml"], in: directory.path)
            #expect(output.status == 1)
            #expect(output.stderr.contains("faults.yml:2:3: unknown field 'eror_rate' in the faults of twilio; did you mean 'error_rate'?"), "\(output.stderr)")
        }
    }
}
