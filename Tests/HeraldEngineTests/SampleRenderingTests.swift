import Foundation
import HeraldContent
import HeraldCore
import HeraldDefinitions
import HeraldEngine
import Testing

/// The repository's sample workspace, rendered as its recipients read it.
@Suite struct SampleRenderingTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func sample() throws -> Workspace {
        let (workspace, diagnostics) = WorkspaceLoader(environment: [:]).load(directory: repositoryRoot.path)
        #expect(diagnostics.map(\.description) == [])
        return try #require(workspace)
    }

    @Test func validatesClean() throws {
        #expect(TemplateChecker.check(try Self.sample()).map(\.description) == [])
    }

    @Test func theWinterSaleReadsNaturallyInKoreanAndInEnglish() throws {
        let workspace = try Self.sample()
        let campaign = try #require(workspace.campaign(id: "winter-sale"))
        let renderer = TemplateRenderer(workspace: workspace)

        let siwoo = User(id: "u-1", locale: "ko-KR", timezone: "Asia/Seoul", firstName: "시우")
        let korean = try renderer.render(campaign, channel: .push, for: siwoo)
        #expect(korean.content == .push(PushContent(
            title: "겨울 세일: 30% 할인", body: "시우님, 12월 7일까지 전 품목 30% 할인!", url: "https://shop.example.com/sale",
            data: ["campaign": "winter-sale"], variant: TemplateVariant(locale: "ko"), threadID: "winter-sale", ttl: 2 * 86_400,
            collapseKey: "winter-sale"
        )))
        #expect(korean.variant.locale == "ko")

        let ana = User(id: "u-2", locale: "en-US", timezone: "America/New_York", firstName: "Ana")
        let english = try renderer.render(campaign, channel: .push, for: ana)
        #expect(english.content == .push(PushContent(
            title: "Winter sale: 30% off", body: "Ana, everything is 30% off until December 7.", url: "https://shop.example.com/sale",
            data: ["campaign": "winter-sale"], variant: .base, threadID: "winter-sale", ttl: 2 * 86_400, collapseKey: "winter-sale"
        )))

        // No Japanese file: the English text with an English date, and the stored content says so.
        let yui = User(id: "u-3", locale: "ja-JP", timezone: "Asia/Tokyo", firstName: "結衣")
        let fallback = try renderer.render(campaign, channel: .push, for: yui)
        #expect(fallback.content.summary == "Winter sale: 30% off / 結衣, everything is 30% off until December 7.")
        #expect(fallback.variant == .base)
        #expect(fallback.formattingLocale == "en")
        #expect(fallback.content.jsonText.contains(#""variant":"base""#))
    }

    @Test func theEmailShowsEachMarketsPriceInItsCurrency() throws {
        let workspace = try Self.sample()
        let campaign = try #require(workspace.campaign(id: "winter-sale"))
        let renderer = TemplateRenderer(workspace: workspace)
        func html(_ user: User) throws -> String {
            guard case .email(let email) = try renderer.render(campaign, channel: .email, for: user).content else { return "" }
            return email.html ?? ""
        }
        let korean = try html(User(id: "u-1", locale: "ko-KR", timezone: "Asia/Seoul", firstName: "시우"))
        #expect(korean.contains("12월 7일 월요일까지 전 품목 30% 할인합니다.\n    겨울 코트는 ₩59,000부터입니다."))
        let english = try html(User(id: "u-2", locale: "en-US", firstName: "Ana"))
        #expect(english.contains("30% off until Monday, December 7.\n    Winter coats start at $49.00."))
        let british = try html(User(id: "u-4", locale: "en-GB", firstName: "Olivia"))
        #expect(british.contains("30% off until Monday, 7 December.\n    Winter coats start at US$49.00."))
    }
}
