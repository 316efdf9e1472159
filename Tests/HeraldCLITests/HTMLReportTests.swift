import Foundation
import HeraldTesting
import Testing

/// `herald report --format html` opened in headless Chromium (Debian's package): the page loads
/// without a script error, needs nothing from the network, and every chart shows the numbers of
/// `herald report --format json` and `--variants --format json`.
@Suite(.tags(.slow), .timeLimit(.minutes(5)))
struct HTMLReportTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test func theReportOpensInChromiumWithoutErrorsAndItsChartsHoldTheJSONNumbers() async throws {
        let chromium = try #require(Self.chromium, "no Chromium: make setup installs Debian's chromium package")
        try await withTemporaryDirectory { directory in
            // The demo's sends, deliveries, opens and clicks, then a second send of winter-sale as an
            // A/B test with a holdout, and purchases for its conversions.
            let demo = try await HeraldBinary.run(["demo", "--users", "400"], in: directory.path)
            #expect(demo.status == 0, "\(demo.stderr)")
            let campaign = directory.file("campaigns/winter-sale.yml")
            // Without its one-a-day cap, which the demo's send of it has filled.
            try (try String(contentsOfFile: campaign, encoding: .utf8).replacingOccurrences(of: "frequency_caps:\n  - {max: 1, per: 1d}\n", with: "")
                + "variants:\n  - {name: thirty}\n  - {name: forty, params: {discount: 40%}}\nholdout: 20%\nconversion: {event: purchase, within: 3d}\n")
                .write(toFile: campaign, atomically: true, encoding: .utf8)
            let database = ["--database", "herald-demo.db"]
            let again = try await HeraldBinary.run(["send", "winter-sale", "--now", "--new", "--plan-only"] + database, in: directory.path)
            #expect(again.status == 0, "\(again.stderr)")
            for user in ["u-000001", "u-000002", "u-000003", "u-000004", "u-000005", "u-000006", "u-000007", "u-000008"] {
                _ = try await HeraldBinary.run(["trigger", "purchase", "--user", user] + database, in: directory.path)
            }

            let html = try await HeraldBinary.run(["report", "--format", "html", "--output", "report.html"] + database, in: directory.path)
            #expect(html.status == 0, "\(html.stderr)")
            let page = try String(contentsOfFile: directory.file("report.html"), encoding: .utf8)
            // Self-contained: no stylesheet, script, image or font from anywhere.
            #expect(!page.contains("<link") && !page.contains(" src=") && !page.contains("@import") && !page.contains("url("))
            #expect(page.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"))
            #expect(page.contains("@media (prefers-color-scheme: dark)") && page.contains("@media print"))

            let rendered = try await HeraldBinary.runProgram(
                chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", "--dump-dom", "file://\(directory.file("report.html"))"],
                in: directory.path
            )
            #expect(rendered.status == 0, "\(rendered.stderr)")
            let console = rendered.stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }
            #expect(console.isEmpty, "the page logged: \(console)")
            let dom = rendered.stdout
            #expect(dom.contains("<html lang=\"en\" data-ready=\"1\">"), "its script did not run to the end")

            // The funnels: the JSON's totals per campaign and channel (the one send's rows, or the total rows).
            let json = try await HeraldBinary.run(["report", "--format", "json"] + database, in: directory.path)
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
            var checked = 0
            for id in Set(rows.compactMap { $0["campaign"] as? String }).sorted() {
                let mine = rows.filter { $0["campaign"] as? String == id }
                let totals = mine.filter { $0["occurrence"] is NSNull }
                let section = try #require(Self.section(of: id, in: dom), "no section for \(id)")
                var skipped: [String: Int] = [:]
                for row in totals.isEmpty ? mine : totals {
                    let channel = try #require(row["channel"] as? String)
                    let funnel = try #require(Self.slice(section, from: "data-chart=\"funnel\" data-channel=\"\(channel)\"", to: "</figure>"), "\(id) \(channel)")
                    let values = Self.values(in: funnel, key: "data-stage")
                    let number = { (key: String) in row[key] as? Int ?? -1 }
                    #expect(values["targeted"] == number("targeted"), "\(id) \(channel)")
                    #expect(values["sent"] == number("sent") + number("delivered"), "\(id) \(channel)")
                    #expect(values["delivered"] == number("delivered") && values["opened"] == number("opened") && values["clicked"] == number("clicked"), "\(id) \(channel): \(values)")
                    for (reason, count) in row["skipped"] as? [String: Int] ?? [:] where count > 0 { skipped[reason, default: 0] += count }
                    checked += 1
                }
                if !skipped.isEmpty {
                    let chart = try #require(Self.slice(section, from: "data-chart=\"skips\"", to: "</figure>"))
                    #expect(Self.values(in: chart, key: "data-label") == skipped, "\(id)")
                }
            }
            #expect(checked >= 4)
            #expect(Self.section(of: "weekly-digest", in: dom).map { Self.values(in: $0, key: "data-stage")["opened"] ?? 0 } ?? 0 > 0, "the demo's opens are drawn")

            // The variants: people and conversions of `report --variants --format json`.
            let variants = try await HeraldBinary.run(["report", "--variants", "--format", "json"] + database, in: directory.path)
            let groups = try #require(try JSONSerialization.jsonObject(with: Data(variants.stdout.utf8)) as? [[String: Any]])
            #expect(groups.count == 3)
            let sale = try #require(Self.section(of: "winter-sale", in: dom))
            let chart = try #require(Self.slice(sale, from: "data-chart=\"variants\"", to: "</figure>"))
            for group in groups {
                let name = try #require(group["group"] as? String)
                #expect(chart.contains("data-group=\"\(name)\" data-value=\"\(group["converted"] as? Int ?? -1)\" data-people=\"\(group["people"] as? Int ?? -1)\""), "\(name): \(chart)")
            }
            #expect(sale.contains("data-table=\"locales\"") && sale.contains("data-table=\"providers\"") && sale.contains("data-chart=\"activity\""))
        }
    }

    /// The HTML of one campaign's section.
    static func section(of campaign: String, in dom: String) -> String? {
        slice(dom, from: "<section class=\"campaign\" id=\"c-\(campaign)\"", to: "</section>")
    }

    static func slice(_ text: String, from start: String, to end: String) -> String? {
        guard let lower = text.range(of: start), let upper = text.range(of: end, range: lower.upperBound..<text.endIndex) else { return nil }
        return String(text[lower.lowerBound..<upper.upperBound])
    }

    /// `key="name" data-value="N"` pairs of a chart.
    static func values(in chart: String, key: String) -> [String: Int] {
        var result: [String: Int] = [:]
        var rest = chart[...]
        while let found = rest.range(of: "\(key)=\"") {
            let nameEnd = rest[found.upperBound...].firstIndex(of: "\"")!
            let name = String(rest[found.upperBound..<nameEnd])
            let tail = rest[nameEnd...]
            if let value = tail.range(of: "data-value=\""), value.lowerBound < (tail.firstIndex(of: ">") ?? tail.endIndex) {
                let digits = tail[value.upperBound...].prefix { $0.isNumber }
                result[name.replacingOccurrences(of: "&amp;", with: "&")] = Int(digits)
            }
            rest = rest[nameEnd...]
        }
        return result
    }
}
