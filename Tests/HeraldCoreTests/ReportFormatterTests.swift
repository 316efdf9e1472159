import Foundation
import HeraldCore
import Testing

/// Every number of a report lands in its own column, in every format.
@Suite struct ReportFormatterTests {
    /// Distinct numbers everywhere, so that two swapped columns show.
    static let row = ReportRow(
        campaignID: "spring", occurrenceID: 7, fireAt: Date(timeIntervalSince1970: 1_800_000_000), channel: .push,
        recipients: 90, targeted: 120, skipped: ["no_address": 11, "opted_out": 7], pending: 3, sent: 80, delivered: 13, failed: 5, dead: 1
    )

    @Test func csvHasEveryReasonAndRatesAsNumbers() {
        let lines = ReportFormatter.format([Self.row], as: .csv).split(separator: "\n").map(String.init)
        #expect(lines == [
            "campaign,send,occurrence,channel,unit,recipients,targeted,skipped_total,skipped_no_address,skipped_opted_out,skipped_not_needed,"
                + "skipped_expired,skipped_capped,skipped_quiet_hours,skipped_render_failed,skipped_no_provider,skipped_user_deleted,skipped_over_limit,skipped_holdout,pending,sent,delivered,failed,dead,send_rate,failure_rate,"
                + "bounced,opened,machine_opened,clicked,unsubscribed,complained,delivery_rate,open_rate,click_rate",
            // attempted = 120 - 18 = 102; sent + delivered = 93 → 0.9118; failed + dead = 6 → 0.0588
            "spring,2027-01-15T08:00:00Z,7,push,device,90,120,18,11,7,0,0,0,0,0,0,0,0,0,3,80,13,5,1,0.9118,0.0588,0,0,0,0,0,0,0.1398,0,0",
        ])
    }

    @Test func jsonHasTheSameFields() throws {
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(ReportFormatter.format([Self.row], as: .json).utf8)) as? [[String: Any]])
        let object = try #require(rows.first)
        #expect(object["campaign"] as? String == "spring" && object["send"] as? String == "2027-01-15T08:00:00Z")
        #expect(object["occurrence"] as? Int == 7 && object["channel"] as? String == "push" && object["unit"] as? String == "device")
        #expect(object["recipients"] as? Int == 90 && object["targeted"] as? Int == 120 && object["skipped_total"] as? Int == 18)
        #expect(object["pending"] as? Int == 3 && object["sent"] as? Int == 80 && object["delivered"] as? Int == 13)
        #expect(object["failed"] as? Int == 5 && object["dead"] as? Int == 1)
        #expect(object["skipped"] as? [String: Int] == Dictionary(uniqueKeysWithValues: SkipReason.allCases.map { ($0.rawValue, ["no_address": 11, "opted_out": 7][$0.rawValue] ?? 0) }))
        #expect(abs((object["send_rate"] as? Double ?? 0) - 93.0 / 102) < 1e-9)
        #expect(abs((object["failure_rate"] as? Double ?? 0) - 6.0 / 102) < 1e-9)
        // Nothing attempted: no rate rather than zero.
        let idle = ReportRow(campaignID: "idle", channel: .sms, recipients: 1, targeted: 1, skipped: ["opted_out": 1])
        let idleObject = try #require((try JSONSerialization.jsonObject(with: Data(ReportFormatter.format([idle], as: .json).utf8)) as? [[String: Any]])?.first)
        #expect(idleObject["send_rate"] is NSNull && idleObject["send"] as? String == "all")
    }

    @Test func theTablePutsEachNumberUnderItsHeading() {
        var row = Self.row
        (row.bounced, row.opened, row.clicked, row.unsubscribed, row.complained) = (2, 9, 4, 3, 1)
        let table = ReportFormatter.format([row], as: .table, width: nil)
        #expect(table == """
            campaign  send                  channel  recipients  targeted  skipped  pending  sent  delivered  failed  dead  sent %  failed %  bounced  opened  clicked  unsub  spam  open %  click %  skipped by reason
            spring    2027-01-15T08:00:00Z  push             90       120       18        3    80         13       5     1   91.2%      5.9%        2       9        4      3     1   69.2%    30.8%  no_address=11 opted_out=7

            push: targeted counts devices
            """)
        let narrow = ReportFormatter.format([row], as: .table, width: 50)
        #expect(narrow == """
            spring · 2027-01-15T08:00:00Z · push
              recipients         90
              targeted           120
              skipped            18
              pending            3
              sent               80
              delivered          13
              failed             5
              dead               1
              sent %             91.2%
              failed %           5.9%
              bounced            2
              opened             9
              clicked            4
              unsub              3
              spam               1
              open %             69.2%
              click %            30.8%
              skipped by reason  no_address=11 opted_out=7

            push: targeted counts devices
            """)
    }
}
