import ArgumentParser
import Dispatch
import Foundation
import HeraldSandbox

/// `herald sandbox`: the provider emulators as a server, until Ctrl-C.
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Run local emulators of Twilio, Vonage, SendGrid, Mailchimp Transactional and an SMTP server.",
        discussion: """
            Serves each provider below its own prefix (http://HOST:PORT/twilio, …/vonage, …/sendgrid, …/mandrill, …/fcm, \
            …/webpush, …/jpush, …/pushy), APNs over HTTP/2 with TLS on --apns-port, and an SMTP server with STARTTLS; the \
            certificate authority of both is written to --certificate for clients to trust (a fixed demo authority, \
            keys/sandbox-ca.pem in the sample workspace). It checks \
            requests as the real services do, answers with their status codes and bodies, records every accepted message \
            (GET /sandbox/messages, and --record FILE as JSON Lines), injects the faults of --faults FILE, and plays delivery \
            webhooks, opens and clicks back to the URLs of --webhook. The sample herald.yml points at --listen 127.0.0.1:4010. \
            Credentials it accepts: Twilio AC00000000000000000000000000000001 / sandbox-twilio-auth-token, Vonage sandboxkey / \
            sandbox-vonage-secret, SendGrid SG.sandbox.sendgrid-api-key, Mandrill md-sandbox-mandrill-key, SMTP herald / \
            sandbox-smtp-password.
            """
    )

    @Option(help: "The HTTP address, HOST:PORT; port 0 picks a free one.")
    var listen = "127.0.0.1:4010"

    @Option(help: "The SMTP (STARTTLS) port on the same host; 0 picks a free one.")
    var smtpPort = 4025

    @Option(help: "The APNs port (HTTP/2 over TLS) on the same host; 0 picks a free one.")
    var apnsPort = 4443

    @Option(help: "An SMTPS (implicit TLS) port on the same host, if wanted.")
    var smtpsPort: Int?

    @Option(help: "Where to write the certificate authority that SMTP clients trust (PEM).")
    var certificate = "herald-sandbox-ca.pem"

    @Option(help: "Record every accepted message in this file, one JSON object per line.")
    var record: String?

    @Option(help: "A YAML file of faults to inject per provider (error rates, latency, outages, bad addresses).")
    var faults: String?

    @Option(help: "Where a provider posts its events, PROVIDER=URL (twilio, vonage, sendgrid, mandrill); repeatable.")
    var webhook: [String] = []

    @Option(help: "The share of email recipients who open (0–1).")
    var openRate = 0.3

    @Option(help: "The share of openers who click (0–1).")
    var clickRate = 0.3

    func validate() throws {
        _ = try Self.address(listen)
        for value in webhook { _ = try Self.webhookTarget(value) }
        guard (0...1).contains(openRate), (0...1).contains(clickRate) else { throw ValidationError("--open-rate and --click-rate are shares from 0 to 1") }
    }

    static func address(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port),
              !text[..<colon].isEmpty
        else { throw ValidationError("--listen '\(text)' must be HOST:PORT, e.g. 127.0.0.1:4010 (port 0 picks a free one)") }
        return (String(text[..<colon]), port)
    }

    static func webhookTarget(_ text: String) throws -> (SandboxProvider, String) {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let provider = SandboxProvider(rawValue: parts[0]), provider != .smtp,
              let url = URL(string: parts[1]), url.scheme == "http" || url.scheme == "https"
        else { throw ValidationError("--webhook '\(text)' must be PROVIDER=URL, e.g. --webhook twilio=http://127.0.0.1:8080/webhooks/twilio") }
        return (provider, parts[1])
    }

    func run() async throws {
        let (host, port) = try Self.address(listen)
        var configuration = Sandbox.Configuration(
            host: host, port: port, recordFile: record, smtpPort: smtpPort, smtpsPort: smtpsPort, certificateAuthorityFile: certificate
        )
        configuration.apnsPort = apnsPort
        if let faults {
            guard let text = try? String(contentsOfFile: faults, encoding: .utf8) else { throw CLIError("cannot read the faults file \(faults)") }
            do {
                configuration.faults = try FaultPlan.load(yaml: text, file: faults)
            } catch {
                throw CLIError("\(error)")
            }
        }
        var playback = PlaybackConfiguration(openRate: openRate, clickRate: clickRate)
        for value in webhook {
            let (provider, url) = try Self.webhookTarget(value)
            playback.webhookURLs[provider] = url
        }
        configuration.playback = playback
        try await Sandbox.withRunning(configuration) { sandbox in
            print("herald sandbox on \(sandbox.host):\(sandbox.port)")
            for provider in [SandboxProvider.twilio, .vonage, .sendgrid, .mandrill, .fcm, .jpush, .pushy] {
                print("  \(provider.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) base_url: \(sandbox.baseURL(for: provider))\(provider == .mandrill ? "/api/1.0" : "")")
            }
            if let url = sandbox.apnsURL { print("  apns      base_url: \(url) (HTTP/2, TLS), ca_file: \(sandbox.certificateAuthorityFile ?? "")") }
            print("  webpush   subscriptions: \(sandbox.baseURL(for: .webpush))/push/ID")
            if let url = sandbox.smtpURL { print("  smtp      url: \(url) (STARTTLS), ca_file: \(sandbox.certificateAuthorityFile ?? "")") }
            if let url = sandbox.smtpsURL { print("  smtps     url: \(url)") }
            print("  messages: http://\(sandbox.host):\(sandbox.port)/sandbox/messages\(record.map { ", recorded in \($0)" } ?? "")")
            if let key = sandbox.sendGridPublicKey { print("  SendGrid event webhook verification key: \(key)") }
            print("Ctrl-C stops it.")
            // Piped output (a script waiting for the URLs) must see the banner now.
            fflush(nil)
            await Self.waitForTermination()
            print("stopped after accepting \(sandbox.log.count) messages")
        }
    }

    /// Returns on SIGINT or SIGTERM.
    static func waitForTermination() async {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { continuation.yield() }
            source.resume()
            sources.append(source)
        }
        for await _ in stream { break }
        for source in sources { source.cancel() }
    }
}
