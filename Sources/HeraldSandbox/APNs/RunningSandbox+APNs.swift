import Foundation

extension RunningSandbox {
    /// `https://127.0.0.1:PORT`: the APNs `base_url` (HTTP/2 over TLS; trust
    /// ``certificateAuthorityFile``), when the APNs emulator runs.
    public var apnsURL: String? { apnsPort.map { "https://\(host):\($0)" } }

    /// TCP connections the APNs emulator accepted since the start: 1 for a client that
    /// multiplexes every push on one HTTP/2 connection.
    public var apnsConnectionCount: Int { apns?.connections ?? 0 }

    /// The most APNs requests (HTTP/2 streams) that were open at once, over all connections.
    public var apnsPeakConcurrentStreams: Int { apns?.peakStreams ?? 0 }

    /// Declares every provider token (JWT) the APNs emulator has seen so far expired: the next
    /// request that carries one gets 403 `ExpiredProviderToken`, as from an APNs that thinks the
    /// token too old. A token minted afterwards is accepted.
    public func expireAPNsProviderTokens() {
        apns?.expireSeenTokens()
    }
}

extension APNsServerContext {
    convenience init(configuration: Sandbox.Configuration, draw: FaultState, started: Date, log: MessageLog) {
        self.init(
            emulator: APNsEmulator(accounts: configuration.accounts, maximumPayloadSize: configuration.maximumBodySizes[.apns] ?? 4096),
            faults: configuration.faults[.apns], draw: draw, started: started, log: log, recordsRequests: configuration.recordsRequests
        )
    }
}
