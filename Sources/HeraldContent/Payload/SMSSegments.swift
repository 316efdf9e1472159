/// How many SMS segments a text takes, and in which encoding, as carriers count them (3GPP TS
/// 23.038): GSM-7 when every character is in the GSM 03.38 basic set or its extension table
/// (which costs two septets: `^ { } \ [ ~ ] | €`), else UCS-2 (UTF-16 code units). One segment
/// holds 160 septets or 70 code units; a longer message is split into parts of 153 or 67, each
/// carrying a concatenation header.
///
/// `SMSSegments(text: "Your order A-1042 has shipped")` is 1 GSM-7 segment; a Korean text of
/// 71 characters is 2 UCS-2 segments.
public struct SMSSegments: Sendable, Hashable {
    public enum Encoding: String, Sendable, Hashable {
        case gsm7 = "GSM-7"
        case ucs2 = "UCS-2"
    }

    public var encoding: Encoding
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    public var units: Int
    public var count: Int

    public init(text: String) {
        var septets = 0
        var isGSM = true
        for scalar in text.unicodeScalars {
            if Self.basic.contains(scalar) {
                septets += 1
            } else if Self.extended.contains(scalar) {
                septets += 2
            } else {
                isGSM = false
                break
            }
        }
        if isGSM {
            encoding = .gsm7
            units = septets
            count = units <= 160 ? (units == 0 ? 0 : 1) : (units + 152) / 153
        } else {
            encoding = .ucs2
            units = text.utf16.count
            count = units <= 70 ? 1 : (units + 66) / 67
        }
    }

    /// The GSM 03.38 basic character set.
    static let basic: Set<Unicode.Scalar> = Set(
        ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
            .unicodeScalars
    )
    /// The extension table, each character sent as an escape and itself.
    static let extended: Set<Unicode.Scalar> = Set("^{}\\[~]|€\u{0C}".unicodeScalars)
}
