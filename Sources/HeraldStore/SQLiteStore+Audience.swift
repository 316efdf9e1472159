import GRDB
import HeraldCore
import Foundation

extension SQLiteStore {
    func ruleCondition(_ source: RuleSource, now: Date, campaignID: String) throws -> (sql: String, arguments: StatementArguments) {
        throw StoreError(.invalidAudience, "\(source.location): audience rules are not available in this build")
    }
}
