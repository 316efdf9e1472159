import Foundation
import HeraldContent
import HeraldCore
import Testing

@Suite struct TrackingLinksTests {
    let links = TrackingLinks(baseURL: "https://t.example.com/", secret: "a-long-tracking-secret")
    let key = NotificationKey(occurrenceID: 7, userID: "u-1", channel: .email)
    let unsubscribe = "https://t.example.com/u/abc"

    /// The HTML with each click link replaced by the URL its token names, and the pixel
    /// replaced by `[pixel]`: what the email links to, as the click route would redirect.
    func resolved(_ html: String) throws -> String {
        var out = html
        while let start = out.range(of: "https://t.example.com/c/") {
            let tokenEnd = out[start.upperBound...].firstIndex { $0 == "\"" || $0 == "'" } ?? out.endIndex
            let target = try #require(links.target(ofToken: String(out[start.upperBound..<tokenEnd])))
            #expect(target.kind == .click && target.key == key)
            out.replaceSubrange(start.lowerBound..<tokenEnd, with: "{\(target.url ?? "")}")
        }
        let pixel = #/<img src="https://t\.example\.com/o/([^"]+)" width="1" height="1" alt="" style="display:none">/#
        if let match = out.firstMatch(of: pixel) {
            let target = try #require(links.target(ofToken: String(match.1)))
            #expect(target.kind == .open && target.key == key && target.url == nil)
            out.replaceSubrange(match.range, with: "[pixel]")
        }
        return out
    }

    @Test func webLinksPointAtSignedClickURLsAndOthersStayAsTheyAre() throws {
        let html = """
            <p>Hé 🎉 <a href="https://shop.example.com/a?x=1&amp;y=2">shop</a> <A HREF='http://b.example.com/'>b</A>\
             <a href="mailto:help@example.com">mail</a> <a href="/relative">rel</a> <a href="\(unsubscribe)">stop</a>\
             <a href="https://t.example.com/o/kept">ours</a> <a href=https://unquoted.example.com>bare</a> <a href="">empty</a></p>
            """
        let tracked = links.tracked(html: html, for: key, keeping: unsubscribe)
        #expect(try resolved(tracked) == """
            <p>Hé 🎉 <a href="{https://shop.example.com/a?x=1&y=2}">shop</a> <A HREF='{http://b.example.com/}'>b</A>\
             <a href="mailto:help@example.com">mail</a> <a href="/relative">rel</a> <a href="\(unsubscribe)">stop</a>\
             <a href="https://t.example.com/o/kept">ours</a> <a href=https://unquoted.example.com>bare</a> <a href="">empty</a></p>[pixel]
            """)
    }

    @Test func thePixelGoesBeforeTheLastBodyEndTagInAnyCase() throws {
        let tracked = links.tracked(html: "<html><body>a</BODY> text </Body></html>", for: key, keeping: unsubscribe)
        #expect(try resolved(tracked) == "<html><body>a</BODY> text [pixel]</Body></html>")
    }

    @Test func anUnclosedQuoteOrATrailingHrefIsLeftAlone() throws {
        for html in [#"<a href="https://a.example.com>never closed"#, "ends with href=", #"<a href='https://a.example.com">mixed"#] {
            let tracked = TrackingLinks(baseURL: "https://t.example.com", secret: "s", opens: false).tracked(html: html, for: key, keeping: unsubscribe)
            #expect(tracked == html)
        }
    }

    @Test func withClicksAndOpensOffTheHTMLIsUnchanged() {
        let off = TrackingLinks(baseURL: "https://t.example.com", secret: "s", opens: false, clicks: false)
        let html = #"<body><a href="https://a.example.com">a</a></body>"#
        #expect(off.tracked(html: html, for: key, keeping: unsubscribe) == html)
    }
}
