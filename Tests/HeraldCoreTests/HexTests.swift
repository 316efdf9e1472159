import HeraldCore
import Testing

@Suite struct HexTests {
    @Test func bytesBecomeTwoLowercaseDigitsEach() {
        #expect([UInt8]().lowercaseHex == "")
        #expect([0x00, 0x01, 0x0a, 0x0f, 0x10, 0x7f, 0x80, 0xab, 0xff].lowercaseHex == "00010a0f107f80abff")
        #expect((0...255).map { UInt8($0) }.lowercaseHex == (0...255).map { String(repeating: "0", count: $0 < 16 ? 1 : 0) + String($0, radix: 16) }.joined())
    }
}
