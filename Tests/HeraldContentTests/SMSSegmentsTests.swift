import HeraldContent
import Testing

@Suite struct SMSSegmentsTests {
    @Test(arguments: [
        ("", SMSSegments.Encoding.gsm7, 0, 0),
        ("Your order A-1042 has shipped", .gsm7, 29, 1),
        (String(repeating: "a", count: 160), .gsm7, 160, 1),
        (String(repeating: "a", count: 161), .gsm7, 161, 2),
        (String(repeating: "a", count: 306), .gsm7, 306, 2),
        (String(repeating: "a", count: 307), .gsm7, 307, 3),
        // The extension table costs two septets each.
        (String(repeating: "€", count: 80), .gsm7, 160, 1),
        (String(repeating: "{", count: 81), .gsm7, 162, 2),
        // One character outside GSM-7 makes the whole message UCS-2.
        (String(repeating: "a", count: 69) + "가", .ucs2, 70, 1),
        (String(repeating: "가", count: 71), .ucs2, 71, 2),
        (String(repeating: "가", count: 134), .ucs2, 134, 2),
        (String(repeating: "가", count: 135), .ucs2, 135, 3),
        // An emoji is two UTF-16 code units.
        ("😀", .ucs2, 2, 1),
    ])
    func countsAsCarriersDo(text: String, encoding: SMSSegments.Encoding, units: Int, count: Int) {
        let segments = SMSSegments(text: text)
        #expect(segments.encoding == encoding)
        #expect(segments.units == units)
        #expect(segments.count == count)
    }
}
