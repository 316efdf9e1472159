import HeraldCore

/// How many SMS segments a text takes, and in which encoding, as carriers count them (3GPP TS
/// 23.038 and 23.040).
///
/// - GSM-7 when every character is in the GSM 03.38 basic set or its extension table. An
///   extension character (`^ { } \ [ ~ ] | €` and form feed) is sent as an escape and itself, so
///   it costs two septets, and the pair is never split across two parts.
/// - UCS-2 (UTF-16 code units) as soon as one character is outside GSM-7: the whole message
///   switches. A character outside the BMP (most emoji) is a surrogate pair, two units, never
///   split across two parts.
///
/// One segment holds 160 septets or 70 units. A longer message is sent in parts that each carry
/// a 6-byte concatenation header, leaving 153 septets or 67 units for the text; a part ends early
/// rather than split an escape or a surrogate pair, so the count is a packing, not a division.
///
/// ```swift
/// SMSSegments(text: "Your order A-1042 has shipped")  // GSM-7, 29 septets, 1 segment
/// SMSSegments(text: String(repeating: "a", count: 161))  // GSM-7, 161 septets, 2 segments
/// SMSSegments(text: "Sale ends tonight 🎉")  // UCS-2, 20 units, 1 segment
/// ```
///
/// An empty text is GSM-7 with 0 units and 0 segments.
public struct SMSSegments: Sendable, Hashable {
    public enum Encoding: String, Sendable, Hashable {
        case gsm7 = "GSM-7"
        case ucs2 = "UCS-2"
    }

    /// The limits of one encoding, in its units.
    public struct Capacity: Sendable, Hashable {
        /// The units of a message sent as one segment.
        public var single: Int
        /// The units of text in each part of a concatenated message.
        public var perPart: Int

        public init(single: Int, perPart: Int) {
            self.single = single
            self.perPart = perPart
        }
    }

    public var encoding: Encoding
    /// Septets (GSM-7) or UTF-16 code units (UCS-2) of the whole text.
    public var units: Int
    /// The number of segments (parts) the text is sent in; 0 for an empty text.
    public var count: Int
    /// Characters as people count them (grapheme clusters, `String.count`): the unit of the
    /// providers' body length limits (`SMSProviderRules`).
    public var characters: Int

    public init(text: String) {
        characters = text.count
        var costs: [Int] = []
        costs.reserveCapacity(text.unicodeScalars.count)
        var isGSM = true
        for scalar in text.unicodeScalars {
            if Self.basic.contains(scalar) {
                costs.append(1)
            } else if Self.extended.contains(scalar) {
                costs.append(2)
            } else {
                isGSM = false
                break
            }
        }
        if !isGSM {
            costs = text.unicodeScalars.map { $0.value > 0xFFFF ? 2 : 1 }
        }
        encoding = isGSM ? .gsm7 : .ucs2
        units = costs.reduce(0, +)
        count = Self.parts(costs: costs, total: units, capacity: Self.capacity(of: encoding))
    }

    /// 160 / 153 septets for GSM-7, 70 / 67 units for UCS-2.
    public static func capacity(of encoding: Encoding) -> Capacity {
        switch encoding {
        case .gsm7: Capacity(single: 160, perPart: 153)
        case .ucs2: Capacity(single: 70, perPart: 67)
        }
    }

    /// Packs the characters' costs into parts, never splitting one character's units.
    static func parts(costs: [Int], total: Int, capacity: Capacity) -> Int {
        guard total > 0 else { return 0 }
        guard total > capacity.single else { return 1 }
        var parts = 1
        var used = 0
        for cost in costs {
            if used + cost > capacity.perPart {
                parts += 1
                used = 0
            }
            used += cost
        }
        return parts
    }

    /// The GSM 03.38 basic character set (escape excluded).
    static let basic: Set<Unicode.Scalar> = Set(
        ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
            .unicodeScalars
    )
    /// The extension table, each character sent as an escape and itself.
    static let extended: Set<Unicode.Scalar> = Set("^{}\\[~]|€\u{0C}".unicodeScalars)
}

extension SMSSegments {
    /// The segments of a rendered SMS, or `nil` for push and email content.
    ///
    /// ```swift
    /// SMSSegments(content: .sms(SMSContent(body: "Your code is 123456")))?.count  // 1
    /// SMSSegments(content: .email(…))  // nil
    /// ```
    public init?(content: NotificationContent) {
        guard case .sms(let sms) = content else { return nil }
        self.init(text: sms.body)
    }
}
