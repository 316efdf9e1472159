import Foundation

/// `herald report --format html`: one self-contained page (inline CSS and SVG, no network) with,
/// per campaign, the funnel per channel, skips by reason, activity over time, the breakdowns by
/// locale and provider, the A/B test's groups with their lift, and the top links.
///
/// Every chart carries its numbers twice: as visible labels, and as `data-value` attributes, so
/// that a test (or a script) reads exactly what is drawn. The page reads well on a phone, prints
/// without its navigation, and follows the reader's dark mode.
public struct HTMLReport: Sendable {
    public struct Link: Sendable, Hashable {
        public var url: String
        public var clicks: Int
        public var people: Int

        public init(url: String, clicks: Int, people: Int) {
            self.url = url
            self.clicks = clicks
            self.people = people
        }
    }

    /// Everything the page shows about one campaign.
    public struct CampaignData: Sendable {
        public var id: String
        /// One row per channel: the campaign's totals (`herald report`'s total rows, or its one send).
        public var channels: [ReportRow]
        /// `herald report --by provider`'s rows.
        public var providers: [ReportRow]
        public var groups: [ExperimentGroupCounts]
        public var conversions: [ChannelConversions]
        public var activity: [ActivityCount]
        public var locales: [LocaleCount]
        public var links: [Link]

        public init(
            id: String, channels: [ReportRow], providers: [ReportRow] = [], groups: [ExperimentGroupCounts] = [], conversions: [ChannelConversions] = [],
            activity: [ActivityCount] = [], locales: [LocaleCount] = [], links: [Link] = []
        ) {
            self.id = id
            self.channels = channels
            self.providers = providers
            self.groups = groups
            self.conversions = conversions
            self.activity = activity
            self.locales = locales
            self.links = links
        }
    }

    public var campaigns: [CampaignData]
    public var generatedAt: Date

    public init(campaigns: [CampaignData], generatedAt: Date) {
        self.campaigns = campaigns
        self.generatedAt = generatedAt
    }

    /// The campaign totals per channel among `herald report`'s rows: the total rows of a campaign
    /// sent more than once, the one send's rows otherwise.
    public static func channelTotals(_ rows: [ReportRow], campaignID: String) -> [ReportRow] {
        let mine = rows.filter { $0.campaignID == campaignID }
        let totals = mine.filter(\.isTotal)
        return (totals.isEmpty ? mine : totals).sorted { $0.channel < $1.channel }
    }

    public func render() -> String {
        var html = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="color-scheme" content="light dark">
            <title>Herald report</title>
            <style>\(Self.style)</style>
            </head>
            <body>
            <header><h1>Herald report</h1><p class="muted">Generated \(Self.escape(ISO8601.string(from: generatedAt))) from the store. \
            Numbers of notifications unless marked as people.</p>
            """
        if campaigns.count > 1 {
            html += "<nav><ul>" + campaigns.map { "<li><a href=\"#c-\(Self.escape($0.id))\">\(Self.escape($0.id))</a></li>" }.joined() + "</ul></nav>"
        }
        html += "</header>\n<main>\n"
        if campaigns.isEmpty { html += "<p>Nothing has been sent yet.</p>" }
        for campaign in campaigns {
            html += section(campaign)
        }
        html += "</main>\n<script>\(Self.script)</script>\n</body>\n</html>\n"
        return html
    }

    // MARK: One campaign

    func section(_ campaign: CampaignData) -> String {
        let id = Self.escape(campaign.id)
        var html = "<section class=\"campaign\" id=\"c-\(id)\" data-campaign=\"\(id)\">\n<h2>\(id)</h2>\n"
        html += "<h3>Funnel per channel</h3>\n<div class=\"grid\">"
        for row in campaign.channels {
            let conversion = campaign.conversions.first { $0.channel == row.channel }
            html += funnel(row, conversion: conversion)
        }
        html += "</div>\n"
        html += skips(campaign)
        html += activity(campaign.activity)
        html += experiment(campaign.groups)
        html += localeTable(campaign.locales)
        html += providerTable(campaign.providers)
        html += linkTable(campaign.links)
        return html + "</section>\n"
    }

    func funnel(_ row: ReportRow, conversion: ChannelConversions?) -> String {
        var stages: [(name: String, value: Int)] = [
            ("targeted", row.targeted), ("sent", row.sent + row.delivered), ("delivered", row.delivered), ("opened", row.opened), ("clicked", row.clicked),
        ]
        if let conversion { stages.append(("converted (people)", conversion.converted)) }
        // The shares of targeted notifications: not for targeted itself, nor for people.
        let bars = stages.enumerated().map { index, stage in
            Bar(label: stage.name, value: stage.value, style: "s\(index)", note: index > 0 && index < 5 ? Self.share(stage.value, of: row.targeted) : "")
        }
        return """
            <figure class="chart" data-chart="funnel" data-channel="\(row.channel.rawValue)">
            <figcaption>\(row.channel.rawValue)</figcaption>\(Self.barChart(bars, key: "data-stage", title: "\(row.channel.rawValue) funnel"))</figure>
            """
    }

    func skips(_ campaign: CampaignData) -> String {
        var totals: [String: Int] = [:]
        for row in campaign.channels {
            for (reason, count) in row.skipped where count > 0 { totals[reason, default: 0] += count }
        }
        guard !totals.isEmpty else { return "<h3>Skipped</h3><p class=\"muted\">Nothing was skipped.</p>\n" }
        let reasons = totals.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        let bars = reasons.map { Bar(label: $0.key, value: $0.value, style: "s5", note: "") }
        return "<h3>Skipped, by reason</h3>\n<figure class=\"chart\" data-chart=\"skips\">" + Self.barChart(bars, key: "data-label", title: "skips") + "</figure>\n"
    }

    /// One labelled horizontal bar.
    struct Bar {
        var label: String
        var value: Int
        /// The fill's class (`s0` … `s6`).
        var style: String
        /// Text after the number, such as a share.
        var note: String
    }

    /// An SVG of horizontal bars, one per item, each a `<g>` whose `key` attribute names it and
    /// whose `data-value` holds its number, with the number written beside the bar.
    static func barChart(_ bars: [Bar], key: String, title: String) -> String {
        let top = max(1, bars.map(\.value).max() ?? 1)
        let barHeight = 24, gap = 8, labelWidth = 150, width = 520
        let height = bars.count * (barHeight + gap)
        var svg = """
            <svg viewBox="0 0 \(width) \(height)" width="\(width)" height="\(height)" role="img" aria-label="\(escape(title))"><title>\(escape(title))</title>
            """
        for (index, bar) in bars.enumerated() {
            let y = index * (barHeight + gap)
            let length = Double(width - labelWidth - 90) * Double(bar.value) / Double(top)
            svg += """
                <g class="bar" \(key)="\(escape(bar.label))" data-value="\(bar.value)">\
                <text x="0" y="\(y + 17)">\(escape(bar.label))</text>\
                <rect x="\(labelWidth)" y="\(y)" width="\(number(max(length, bar.value > 0 ? 1 : 0)))" height="\(barHeight)" class="\(bar.style)"></rect>\
                <text x="\(number(Double(labelWidth) + length + 6))" y="\(y + 17)" class="value">\(ReportFormatter.grouped(bar.value))\(bar.note)</text></g>
                """
        }
        return svg + "</svg>"
    }

    /// Sends, opens and clicks per hour (per day beyond three days), as grouped columns.
    func activity(_ counts: [ActivityCount]) -> String {
        guard let first = counts.map(\.hour).min(), let last = counts.map(\.hour).max() else {
            return "<h3>Over time</h3><p class=\"muted\">No sends, opens or clicks yet.</p>\n"
        }
        let byDay = last.timeIntervalSince(first) > 72 * 3600
        let step: Double = byDay ? 86_400 : 3600
        var buckets: [Int: (sent: Int, opened: Int, clicked: Int)] = [:]
        for count in counts {
            let index = Int((count.hour.timeIntervalSince1970 / step).rounded(.down))
            var bucket = buckets[index] ?? (0, 0, 0)
            bucket.sent += count.sent
            bucket.opened += count.opened
            bucket.clicked += count.clicked
            buckets[index] = bucket
        }
        let indexes = Array(buckets.keys.min()!...buckets.keys.max()!)
        let top = max(1, buckets.values.map { max($0.sent, $0.opened, $0.clicked) }.max() ?? 1)
        let column = 30, plot = 160, width = max(320, indexes.count * column + 40)
        var svg = """
            <h3>Over time, per \(byDay ? "day" : "hour") (UTC)</h3>
            <figure class="chart wide" data-chart="activity" data-unit="\(byDay ? "day" : "hour")">
            <div class="legend"><span class="k s1"></span>sent <span class="k s3"></span>opened <span class="k s4"></span>clicked</div>
            <div class="scroll"><svg viewBox="0 0 \(width) \(plot + 40)" width="\(width)" height="\(plot + 40)" class="fixed" role="img" aria-label="sends, opens and clicks over time"><title>sends, opens and clicks over time</title>
            """
        for (position, index) in indexes.enumerated() {
            let bucket = buckets[index] ?? (0, 0, 0)
            let start = Date(timeIntervalSince1970: Double(index) * step)
            let label = ISO8601.string(from: start)
            let x = 20 + position * column
            svg += "<g class=\"bucket\" data-bucket=\"\(label)\">"
            for (series, value, style, offset) in [("sent", bucket.sent, "s1", 0), ("opened", bucket.opened, "s3", 8), ("clicked", bucket.clicked, "s4", 16)] {
                let height = Double(plot) * Double(value) / Double(top)
                svg += "<rect data-series=\"\(series)\" data-value=\"\(value)\" x=\"\(x + offset)\" y=\"\(Self.number(Double(plot) - height))\" width=\"7\" height=\"\(Self.number(height))\" class=\"\(style)\"><title>\(label) \(series): \(value)</title></rect>"
            }
            if position % max(1, indexes.count / 8) == 0 {
                let text = byDay ? String(label.prefix(10)) : String(label.dropFirst(5).prefix(11)).replacingOccurrences(of: "T", with: " ")
                svg += "<text x=\"\(x)\" y=\"\(plot + 16)\" class=\"axis\">\(text)</text>"
            }
            svg += "</g>"
        }
        svg += "<text x=\"0\" y=\"\(plot + 34)\" class=\"axis\">highest: \(ReportFormatter.grouped(top))</text>"
        return svg + "</svg></div></figure>\n"
    }

    func experiment(_ groups: [ExperimentGroupCounts]) -> String {
        guard !groups.isEmpty else { return "" }
        let holdout = groups.first(where: \.isHoldout)
        var html = "<h3>Variants</h3>\n"
        if let event = groups.first?.conversionEvent, let window = groups.first?.conversionWindowSeconds {
            html += "<p class=\"muted\">Conversion: \(Self.escape(event)) within \(DurationLiteral.describe(seconds: window)) of the send. "
                + "Lift against the holdout in percentage points, with its 95% confidence interval.</p>\n"
        } else {
            html += "<p class=\"muted\">No conversion event: add <code>conversion: {event: purchase, within: 3d}</code> to the campaign to compare rates.</p>\n"
        }
        // Conversion rates with their 95% intervals on one axis.
        let rated = groups.compactMap { group -> (ExperimentGroupCounts, Double, Double, Double)? in
            guard let rate = group.conversionRate else { return nil }
            let error = Lift.z95 * (rate * (1 - rate) / Double(group.people)).squareRoot()
            return (group, rate, max(0, rate - error), min(1, rate + error))
        }
        if !rated.isEmpty {
            let top = max(0.01, rated.map(\.3).max() ?? 0.01)
            let rowHeight = 30, labelWidth = 110, width = 520, scale = Double(width - labelWidth - 120)
            html += """
                <figure class="chart" data-chart="variants"><svg viewBox="0 0 \(width) \(rated.count * rowHeight)" width="\(width)" height="\(rated.count * rowHeight)" role="img" aria-label="conversion rate per group"><title>conversion rate per group</title>
                """
            for (index, item) in rated.enumerated() {
                let (group, rate, low, high) = item
                let y = index * rowHeight
                html += """
                    <g class="bar" data-group="\(Self.escape(group.group))" data-value="\(group.converted ?? 0)" data-people="\(group.people)" data-rate="\(Self.number(rate, digits: 6))">\
                    <text x="0" y="\(y + 18)">\(Self.escape(group.group))</text>\
                    <rect x="\(labelWidth)" y="\(y + 4)" width="\(Self.number(max(1, scale * rate / top)))" height="18" class="\(group.isHoldout ? "s0" : "s3")"></rect>\
                    <line x1="\(Self.number(Double(labelWidth) + scale * low / top))" x2="\(Self.number(Double(labelWidth) + scale * high / top))" y1="\(y + 13)" y2="\(y + 13)" class="whisker"></line>\
                    <text x="\(Self.number(Double(labelWidth) + scale * high / top + 6))" y="\(y + 18)" class="value">\(String(format: "%.2f%%", rate * 100))</text></g>
                    """
            }
            html += "</svg></figure>\n"
        }
        html += "<div class=\"scroll\"><table data-table=\"variants\"><thead><tr><th>group</th><th class=\"n\">people</th><th class=\"n\">sent</th><th class=\"n\">opened</th><th class=\"n\">clicked</th><th class=\"n\">converted</th><th class=\"n\">rate</th><th>lift against the holdout</th></tr></thead><tbody>"
        for group in groups {
            let lift = group.lift(against: holdout)
            let verdict = group.isHoldout ? "the baseline" : lift.map { $0.summary } ?? (holdout == nil ? "no holdout" : "–")
            html += "<tr data-group=\"\(Self.escape(group.group))\"><td>\(Self.escape(group.group))</td>"
                + [group.people, group.sent, group.opened, group.clicked].map { "<td class=\"n\">\(ReportFormatter.grouped($0))</td>" }.joined()
                + "<td class=\"n\">\(group.converted.map(ReportFormatter.grouped) ?? "–")</td>"
                + "<td class=\"n\">\(group.conversionRate.map { String(format: "%.2f%%", $0 * 100) } ?? "–")</td>"
                + "<td class=\"\(lift?.isSignificant == true ? "sig" : "")\">\(Self.escape(verdict))</td></tr>"
        }
        return html + "</tbody></table></div>\n"
    }

    func localeTable(_ locales: [LocaleCount]) -> String {
        guard !locales.isEmpty else { return "" }
        var html = "<h3>By locale (people)</h3>\n<div class=\"scroll\"><table data-table=\"locales\"><thead><tr><th>locale</th><th class=\"n\">people</th><th class=\"n\">sent</th><th class=\"n\">opened</th><th class=\"n\">clicked</th></tr></thead><tbody>"
        for locale in locales {
            html += "<tr data-locale=\"\(Self.escape(locale.locale))\"><td>\(locale.locale.isEmpty ? "(none)" : Self.escape(locale.locale))</td>"
                + [locale.people, locale.sent, locale.opened, locale.clicked].map { "<td class=\"n\">\(ReportFormatter.grouped($0))</td>" }.joined() + "</tr>"
        }
        return html + "</tbody></table></div>\n"
    }

    func providerTable(_ rows: [ReportRow]) -> String {
        guard !rows.isEmpty else { return "" }
        var html = "<h3>By provider</h3>\n<div class=\"scroll\"><table data-table=\"providers\"><thead><tr><th>channel</th><th>provider</th><th class=\"n\">targeted</th><th class=\"n\">sent</th><th class=\"n\">delivered</th><th class=\"n\">failed</th><th class=\"n\">opened</th><th class=\"n\">clicked</th></tr></thead><tbody>"
        for row in rows.sorted(by: { ($0.channel, $0.group ?? "") < ($1.channel, $1.group ?? "") }) {
            html += "<tr><td>\(row.channel.rawValue)</td><td>\(Self.escape(row.group ?? "–"))</td>"
                + [row.targeted, row.sent + row.delivered, row.delivered, row.failed + row.dead, row.opened, row.clicked]
                    .map { "<td class=\"n\">\(ReportFormatter.grouped($0))</td>" }.joined() + "</tr>"
        }
        return html + "</tbody></table></div>\n"
    }

    func linkTable(_ links: [Link]) -> String {
        guard !links.isEmpty else { return "" }
        var html = "<h3>Top links</h3>\n<div class=\"scroll\"><table data-table=\"links\"><thead><tr><th>link</th><th class=\"n\">people</th><th class=\"n\">clicks</th></tr></thead><tbody>"
        for link in links {
            html += "<tr><td class=\"url\">\(Self.escape(link.url))</td><td class=\"n\">\(ReportFormatter.grouped(link.people))</td><td class=\"n\">\(ReportFormatter.grouped(link.clicks))</td></tr>"
        }
        return html + "</tbody></table></div>\n"
    }

    // MARK: Text

    /// Text for HTML content and attribute values.
    public static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }

    static func number(_ value: Double, digits: Int = 1) -> String {
        String(format: "%.\(digits)f", value)
    }

    static func share(_ value: Int, of total: Int) -> String {
        guard total > 0 else { return "" }
        return String(format: " (%.1f%%)", Double(value) * 100 / Double(total))
    }

    static let style = """
        :root{--bg:#fff;--fg:#1b1f24;--muted:#5b6570;--line:#d8dee4;--card:#f6f8fa;--c0:#8c959f;--c1:#0969da;--c2:#1a7f37;--c3:#8250df;--c4:#bf3989;--c5:#bc4c00;--c6:#116329}
        @media (prefers-color-scheme: dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9da7b3;--line:#30363d;--card:#161b22;--c0:#6e7681;--c1:#4493f8;--c2:#3fb950;--c3:#a371f7;--c4:#db61a2;--c5:#db6d28;--c6:#56d364}}
        *{box-sizing:border-box}
        body{margin:0;padding:16px;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
        header,main{max-width:1100px;margin:0 auto}
        h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.35em;border-bottom:1px solid var(--line);padding-bottom:.2em;margin-top:1.6em}h3{font-size:1.05em;margin:1.2em 0 .4em}
        .muted{color:var(--muted)}
        nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:8px}nav a{color:var(--c1)}
        .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}
        .chart{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px}
        .chart figcaption{font-weight:600;margin-bottom:4px}
        .chart svg{max-width:100%;height:auto;display:block}.chart svg.fixed{max-width:none}
        svg text{fill:var(--fg);font-size:13px}svg text.value,svg text.axis{fill:var(--muted);font-size:12px}
        .s0{fill:var(--c0)}.s1{fill:var(--c1)}.s2{fill:var(--c2)}.s3{fill:var(--c3)}.s4{fill:var(--c4)}.s5{fill:var(--c5)}.s6{fill:var(--c6)}
        .whisker{stroke:var(--fg);stroke-width:2}
        .legend{font-size:13px;color:var(--muted)}.k{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 10px}
        .k.s1{background:var(--c1)}.k.s3{background:var(--c3)}.k.s4{background:var(--c4)}
        .scroll{overflow-x:auto}
        table{border-collapse:collapse;width:100%;font-size:14px}th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
        th{cursor:pointer;user-select:none}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}td.url{white-space:normal;word-break:break-all}
        td.sig{color:var(--c2);font-weight:600}
        @media (max-width:600px){body{padding:10px;font-size:14px}th,td{padding:4px 6px}}
        @media print{:root{--bg:#fff;--fg:#000;--muted:#444;--card:#fff}nav{display:none}.chart,table{break-inside:avoid}section{break-before:page}section:first-of-type{break-before:auto}.scroll{overflow:visible}}
        """

    /// Sorts a table by the column whose header is clicked; marks the page as ready.
    static let script = """
        document.querySelectorAll("table").forEach(function (table) {
          table.querySelectorAll("th").forEach(function (header, column) {
            header.addEventListener("click", function () {
              var body = table.tBodies[0];
              var rows = Array.prototype.slice.call(body.rows);
              var numeric = header.classList.contains("n");
              var descending = header.dataset.order !== "desc";
              rows.sort(function (a, b) {
                var x = a.cells[column].textContent, y = b.cells[column].textContent;
                if (numeric) { x = parseFloat(x.replace(/[^0-9.\\-]/g, "")) || 0; y = parseFloat(y.replace(/[^0-9.\\-]/g, "")) || 0; }
                return (x < y ? -1 : x > y ? 1 : 0) * (descending ? -1 : 1);
              });
              header.dataset.order = descending ? "desc" : "asc";
              rows.forEach(function (row) { body.appendChild(row); });
            });
          });
        });
        document.documentElement.dataset.ready = "1";
        """
}
