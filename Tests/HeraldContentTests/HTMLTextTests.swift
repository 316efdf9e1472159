import HeraldContent
import Testing

@Suite struct HTMLTextTests {
    @Test func keepsParagraphBreaksAndCollapsesWhitespace() {
        let html = """
            <h1>Big   news</h1>
            <p>Line one
               continues here.<br>Line two<br/><br />After a blank line</p>
            <div>A div</div><div>Another div</div>
            """
        #expect(
            HTMLText.plainText(fromHTML: html) == """
                Big news

                Line one continues here.
                Line two

                After a blank line

                A div
                Another div
                """
        )
    }

    @Test func writesLinkTargetsAfterTheirText() {
        let html = """
            <p>Read <a href="https://shop.example.com/a?x=1&amp;y=2">our guide</a>, then
            <a href='https://shop.example.com'>https://shop.example.com</a>.
            <a href="#top">Back to top</a> <a href="javascript:void(0)">Menu</a>
            <a href="mailto:help@example.com">help@example.com</a>
            <a href="https://img.example.com/go"><img src="x.png"></a>
            <a href="https://img.example.com/logo"><img src="logo.png" alt="Shop logo"></a>
            <A HREF="https://upper.example.com">Upper</A></p>
            """
        #expect(
            HTMLText.plainText(fromHTML: html)
                == "Read our guide (https://shop.example.com/a?x=1&y=2), then https://shop.example.com. Back to top Menu help@example.com https://img.example.com/go Shop logo (https://img.example.com/logo) Upper (https://upper.example.com)"
        )
    }

    @Test func decodesCharacterReferences() {
        let html = "<p>Tom &amp; Jerry &lt;3 &quot;cheese&quot; &#39;n&#39; &apos;ham&apos; &#x263A; &#9731;&nbsp;&nbsp;snow &copy; 2026 &mdash; &hellip;</p><p>&bogus; &amp AT&T &#0; &#xZZ;</p>"
        #expect(
            HTMLText.plainText(fromHTML: html) == """
                Tom & Jerry <3 "cheese" 'n' 'ham' ☺ ☃ snow © 2026 — …

                &bogus; &amp AT&T &#0; &#xZZ;
                """
        )
    }

    @Test func writesListsAndTables() {
        let html = """
            <p>Picks:</p>
            <ul>
              <li>Air Max 90</li>
              <li>Cap</li>
            </ul>
            <ol><li>Order</li><li>Wait</li></ol>
            <table><tr><td>Total</td><td>$42</td></tr><tr><th>Tax</th><td>$4</td></tr></table>
            """
        #expect(
            HTMLText.plainText(fromHTML: html) == """
                Picks:

                - Air Max 90
                - Cap

                1. Order
                2. Wait

                Total $42
                Tax $4
                """
        )
    }

    @Test func dropsHeadStylesScriptsAndComments() {
        let html = """
            <!DOCTYPE html>
            <html><head><title>Ignored title</title><meta charset="utf-8">
            <style type="text/css">p { color: red; } a > b {}</style></head>
            <body><!-- a comment with <p>markup</p> -->
            <script>if (a < b) { document.write("<p>no</p>") }</script>
            <p>Visible</p>
            <STYLE>.x{}</STYLE>
            </body></html>
            """
        #expect(HTMLText.plainText(fromHTML: html) == "Visible")
    }

    @Test func keepsTextThatOnlyLooksLikeMarkup() {
        #expect(HTMLText.plainText(fromHTML: "1 < 2 and 3 > 2, a <= b <") == "1 < 2 and 3 > 2, a <= b <")
        #expect(HTMLText.plainText(fromHTML: "") == "")
        #expect(HTMLText.plainText(fromHTML: "<p>unclosed <a href=\"https://x.example\">link") == "unclosed link (https://x.example)")
        #expect(HTMLText.plainText(fromHTML: "<p title=\"a > b\">quoted &gt; attribute</p>") == "quoted > attribute")
        #expect(HTMLText.plainText(fromHTML: "<p>truncated tag <a href=\"x") == "truncated tag")
        #expect(HTMLText.plainText(fromHTML: "&") == "&")
        #expect(HTMLText.plainText(fromHTML: "&#99999999;") == "&#99999999;")
    }
}
