import Foundation
import HeraldContent
import HeraldCore
import HeraldDefinitions
import HeraldEngine
import HeraldImport

/// Render throughput of one campaign's template over synthetic users, on one core.
///
/// Build in release mode and run from a workspace (the repository root holds the sample one):
///
/// ```sh
/// swift build -c release --product herald-render-bench
/// .build/release/herald-render-bench [CAMPAIGN] [RENDERS] [ROUNDS]
/// ```
///
/// Every channel of the campaign is rendered for each user of a pool of 10,000 generated users
/// (seed 1), cycled; the best round is reported, since the machine may be shared.
@main
enum RenderBenchmark {
    static func main() throws {
        let arguments = CommandLine.arguments.dropFirst()
        let campaignID = arguments.first ?? "winter-sale"
        let renders = arguments.dropFirst().first.flatMap(Int.init) ?? 200_000
        let rounds = arguments.dropFirst(2).first.flatMap(Int.init) ?? 5

        let (workspace, diagnostics) = WorkspaceLoader(environment: [:]).load(directory: ".")
        guard let workspace, let campaign = workspace.campaign(id: campaignID) else {
            for diagnostic in diagnostics { print(diagnostic) }
            print("error: no usable campaign '\(campaignID)' in the workspace of the current directory")
            exit(1)
        }
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        var generator = UserGenerator(seed: 1, schema: workspace.configuration.attributes, now: now)
        let pool = generator.next(count: 10_000)
        let renderer = TemplateRenderer(templates: workspace.templates)

        print("campaign \(campaign.id): template \(campaign.template), channels \(campaign.channels.map(\.rawValue).joined(separator: ", "))")
        let clock = ContinuousClock()
        var best = Double.infinity
        var bestCPU = Double.infinity
        var bytes = 0
        for round in 1...rounds {
            let cpuStart = threadCPUSeconds()
            let elapsed = try clock.measure {
                for index in 0..<renders {
                    let user = pool[index % pool.count]
                    let channel = campaign.channels[index % campaign.channels.count]
                    let rendered = try renderer.render(campaign, channel: channel, for: user)
                    bytes &+= rendered.content.summary.utf8.count
                }
            }
            let cpu = threadCPUSeconds() - cpuStart
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            best = min(best, seconds)
            bestCPU = min(bestCPU, cpu)
            print(String(format: "round %d: %d renders in %.3f s (%.3f s of CPU) = %.0f renders/s", round, renders, seconds, cpu, Double(renders) / seconds))
        }
        print(String(format: "best: %.0f renders/s on one core (%.2f µs per render; checksum %d)", Double(renders) / best, best / Double(renders) * 1e6, bytes))
        // CPU time is what the rendering thread itself used, so that other work on a shared
        // machine inflates it far less than the wall clock.
        print(String(format: "best by CPU time: %.0f renders/s (%.2f µs of CPU per render)", Double(renders) / bestCPU, bestCPU / Double(renders) * 1e6))
    }

    /// The CPU time this thread has used.
    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
