import Foundation
import HeraldContent
import HeraldCore
import Testing

@Suite struct UserTemplateVariablesTests {
    @Test func exposesBuiltInFieldsAndAttributes() {
        let user = User(
            id: "u-1",
            email: "ana@example.com",
            phone: "+821012345678",
            locale: "ko-KR",
            timezone: "Asia/Seoul",
            firstName: "Ana",
            createdAt: Date(timeIntervalSince1970: 1_795_000_000),
            attributes: [
                "country": .string("KR"),
                "lifetime_value": .number(1250),
                "beta": .bool(true),
                "tags": .list([.string("vip"), .string("beta")]),
                "last_seen_at": .time(Date(timeIntervalSince1970: 1_795_000_000)),
                "first_name": .string("shadowed"),
            ]
        )
        #expect(
            user.templateVariables == [
                "id": .string("u-1"),
                "email": .string("ana@example.com"),
                "phone": .string("+821012345678"),
                "locale": .string("ko-KR"),
                "timezone": .string("Asia/Seoul"),
                "first_name": .string("Ana"),
                "created_at": .time(Date(timeIntervalSince1970: 1_795_000_000)),
                "country": .string("KR"),
                "lifetime_value": .number(1250),
                "beta": .bool(true),
                "tags": .list([.string("vip"), .string("beta")]),
                "last_seen_at": .time(Date(timeIntervalSince1970: 1_795_000_000)),
            ]
        )
    }

    @Test func leavesAbsentFieldsOutSoTheyAreReportedMissing() throws {
        let user = User(id: "u-2")
        #expect(user.templateVariables == ["id": .string("u-2")])
        let rendered = try ContentRenderer(templates: ["restock": restockTemplate()])
            .render(template: "restock", channel: .push, locale: user.locale, variables: user.templateVariables)
        #expect(rendered.missingVariables == ["sku", "item_name", "order_by", "first_name"])
    }
}
