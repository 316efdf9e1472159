import Foundation
import HeraldCore

/// Reads a file in fixed-size chunks, so that an import never holds more than one chunk plus the
/// row being assembled, whatever the size of the file.
///
/// A class so that the file is closed exactly once, when the last reference goes; it is owned by
/// a single non-copyable `UserImportReader`.
final class ImportByteReader {
    /// The size of one read; large enough that system calls do not dominate, small enough to be
    /// irrelevant next to the 1 MiB row limit.
    static let chunkSize = 64 * 1024

    private let handle: FileHandle
    private let path: String
    /// The current chunk; `position` is the next unread byte in it.
    private(set) var buffer: [UInt8] = []
    var position = 0
    private(set) var isAtEnd = false

    init(path: String) throws(Diagnostic) {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw Diagnostic("cannot read '\(path)': no such file", at: nil)
        }
        if isDirectory.boolValue {
            throw Diagnostic("cannot read '\(path)': it is a directory", at: nil, hint: "expected a .csv or .jsonl file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let reason = FileManager.default.isReadableFile(atPath: path) ? "it cannot be opened" : "permission denied"
            throw Diagnostic("cannot read '\(path)': \(reason)", at: nil)
        }
        self.handle = handle
    }

    deinit {
        try? handle.close()
    }

    /// Whether an unread byte is in `buffer` after this call; reads the next chunk when the
    /// current one is used up. False only at the end of the file.
    func fill() throws(Diagnostic) -> Bool {
        if position < buffer.count { return true }
        if isAtEnd { return false }
        let data: Data?
        do {
            data = try handle.read(upToCount: Self.chunkSize)
        } catch {
            throw Diagnostic("cannot read '\(path)': \(error.localizedDescription)", at: nil)
        }
        guard let data, !data.isEmpty else {
            isAtEnd = true
            buffer = []
            position = 0
            return false
        }
        buffer = [UInt8](data)
        position = 0
        return true
    }

    /// Up to `count` bytes from the current position without consuming them, reading further
    /// chunks if the current one holds fewer. Used for the byte-order mark and format sniffing.
    func peek(_ count: Int) throws(Diagnostic) -> [UInt8] {
        while buffer.count - position < count, !isAtEnd {
            let kept = Array(buffer[position...])
            buffer = []
            position = 0
            guard try fill() else {
                buffer = kept
                isAtEnd = true
                break
            }
            buffer = kept + buffer
        }
        return Array(buffer[position..<min(buffer.count, position + count)])
    }

    /// Skips a UTF-8 byte-order mark at the current position.
    func skipByteOrderMark() throws(Diagnostic) {
        if try peek(3) == [0xEF, 0xBB, 0xBF] { position += 3 }
    }
}
