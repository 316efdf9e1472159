/// The definition hash of a campaign file.
///
/// HeraldCore has no cryptography, and the hash only has to tell one version of a file from the
/// next (it is kept with each occurrence so that an edit changes only later occurrences), so it is
/// the 64-bit FNV-1a hash of the file's bytes: stable across runs, machines and Swift versions,
/// unlike `Hasher`.
public enum DefinitionHash {
    /// FNV-1a (64-bit) of `bytes` as 16 lowercase hexadecimal digits.
    ///
    /// ```swift
    /// DefinitionHash.fnv1a64(Array("a".utf8)) // "af63dc4c8601ec8c"
    /// ```
    public static func fnv1a64(_ bytes: some Sequence<UInt8>) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
