/// Searches for one text in another by their UTF-8 bytes.
///
/// Foundation's `contains(_:)` and `range(of:)` on a `String` go through `NSString` on Linux:
/// the text is copied as UTF-16 and compared by Unicode rules, which cost Herald 15 % of its time
/// per email, in SendGrid's transport, for a few ASCII markers. A byte search is literal, as SendGrid's
/// substitution is: it does not take canonically equivalent text as equal (the Kelvin sign is not
/// a `K`, a decomposed `é` is not a composed one), and it finds a needle that a combining mark
/// follows, which Foundation does not (for a marker that must not occur in a text at all, the safe
/// side). An empty needle is found nowhere, as in Foundation.
extension String {
    /// Whether `needle`'s bytes occur in this text's.
    public func containsBytes(of needle: String) -> Bool {
        firstByteOffset(of: needle) != nil
    }

    /// The byte offset where `needle` first occurs, or nil.
    public func firstByteOffset(of needle: String) -> Int? {
        byteSearch(for: needle, fromEnd: false)
    }

    /// The byte offset where `needle` last occurs, or nil.
    public func lastByteOffset(of needle: String) -> Int? {
        byteSearch(for: needle, fromEnd: true)
    }

    /// This text with every occurrence of `needle`'s bytes, left to right and not overlapping,
    /// replaced by `replacement`'s.
    public func replacingBytes(of needle: String, with replacement: String) -> String {
        guard !needle.isEmpty, var at = firstByteOffset(of: needle) else { return self }
        var text = self
        var needle = needle
        return text.withUTF8 { bytes in
            needle.withUTF8 { needle in
                var out: [UInt8] = []
                out.reserveCapacity(bytes.count)
                var copied = 0
                while true {
                    out.append(contentsOf: bytes[copied..<at])
                    out.append(contentsOf: replacement.utf8)
                    copied = at + needle.count
                    guard let next = Self.search(bytes, needle, from: copied) else { break }
                    at = next
                }
                out.append(contentsOf: bytes[copied...])
                return String(decoding: out, as: UTF8.self)
            }
        }
    }

    /// The first offset at or after `start` (or, `fromEnd`, the last at or before it) where
    /// `needle` occurs in `bytes`.
    private static func search(
        _ bytes: UnsafeBufferPointer<UInt8>, _ needle: UnsafeBufferPointer<UInt8>, from start: Int, fromEnd: Bool = false
    ) -> Int? {
        guard let first = needle.first, bytes.count >= needle.count else { return nil }
        let last = bytes.count - needle.count
        var index = fromEnd ? Swift.min(start, last) : start
        while fromEnd ? index >= 0 : index <= last {
            if bytes[index] == first {
                var offset = 1
                while offset < needle.count, bytes[index + offset] == needle[offset] { offset += 1 }
                if offset == needle.count { return index }
            }
            index += fromEnd ? -1 : 1
        }
        return nil
    }

    private func byteSearch(for needle: String, fromEnd: Bool) -> Int? {
        var text = self
        var needle = needle
        return text.withUTF8 { bytes in
            needle.withUTF8 { needle in Self.search(bytes, needle, from: fromEnd ? bytes.count : 0, fromEnd: fromEnd) }
        }
    }
}
