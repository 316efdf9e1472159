import HeraldCore
import Testing

@Suite struct ByteSearchTests {
    @Test func theFirstAndLastOccurrenceAreFoundByByteOffset() {
        let url = "https://t.example.com/u/abc/u/def"
        #expect(url.firstByteOffset(of: "/u/") == 21)
        #expect(url.lastByteOffset(of: "/u/") == 27)
        #expect(url.firstByteOffset(of: "https") == 0 && url.lastByteOffset(of: "def") == 30)
        #expect(url.firstByteOffset(of: "/o/") == nil && url.lastByteOffset(of: "/o/") == nil)
        #expect("ab".firstByteOffset(of: "abc") == nil && "".lastByteOffset(of: "a") == nil)
        #expect("abc".firstByteOffset(of: "") == nil && "abc".lastByteOffset(of: "") == nil && !"abc".containsBytes(of: ""))
        // Offsets count bytes: "é" is two.
        #expect("é%herald0%".firstByteOffset(of: "%herald") == 2)
        #expect("aaab".firstByteOffset(of: "aab") == 1)
        #expect("%h0% and %h0%%h1%".replacingBytes(of: "%h0%", with: "Ann") == "Ann and Ann%h1%")
        #expect("aaaa".replacingBytes(of: "aa", with: "b") == "bb" && "abc".replacingBytes(of: "x", with: "y") == "abc")
    }

    /// Random texts of a small alphabet, against a search through all offsets.
    @Test func randomTextsAgreeWithASearchThroughEveryOffset() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ab%é")
        for _ in 0..<2_000 {
            let text = String((0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            let needle = String((0..<Int.random(in: 1...3, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            let bytes = Array(text.utf8), wanted = Array(needle.utf8)
            let offsets = bytes.count >= wanted.count
                ? (0...(bytes.count - wanted.count)).filter { Array(bytes[$0..<($0 + wanted.count)]) == wanted } : []
            #expect(text.firstByteOffset(of: needle) == offsets.first, "\(text) / \(needle)")
            #expect(text.lastByteOffset(of: needle) == offsets.last, "\(text) / \(needle)")
            #expect(text.containsBytes(of: needle) == !offsets.isEmpty)
            // Replacing: occurrences left to right, never overlapping, as Foundation does.
            var expected: [UInt8] = [], index = 0
            while index < bytes.count {
                if index + wanted.count <= bytes.count, Array(bytes[index..<(index + wanted.count)]) == wanted {
                    expected += Array("<\(needle)>".utf8)
                    index += wanted.count
                } else {
                    expected.append(bytes[index])
                    index += 1
                }
            }
            #expect(text.replacingBytes(of: needle, with: "<\(needle)>") == String(decoding: expected, as: UTF8.self), "\(text) / \(needle)")
        }
    }
}
