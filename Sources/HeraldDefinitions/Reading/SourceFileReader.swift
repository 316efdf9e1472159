import Foundation
import HeraldCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads workspace files from disk: refuses anything but a regular file (or a link to one), files
/// over the size limit and files that are not UTF-8, each with a diagnostic that names the file.
enum SourceFileReader {
    enum Outcome {
        case text(String)
        case notFound
        case failed(Diagnostic)
    }

    /// What a path names once links are followed.
    enum Entry: Equatable {
        case missing
        case regularFile
        case directory
        /// Neither a regular file nor a directory: what it is, for a diagnostic ("a named pipe").
        case other(String)
        /// The path cannot be examined; the system's reason.
        case unreadable(String)
    }

    /// What `path` is, following symbolic links; a link whose target is missing, or that loops,
    /// is `.other`, since it exists but names nothing that can be read.
    static func entry(at path: String) -> Entry {
        var target = stat()
        guard stat(path, &target) == 0 else {
            let code = errno
            var link = stat()
            switch code {
            case ENOENT, ENOTDIR:
                return lstat(path, &link) == 0 ? .other("a symbolic link whose target does not exist") : .missing
            case ELOOP:
                return .other("a symbolic link that loops back on itself")
            default:
                return .unreadable(String(cString: strerror(code)))
            }
        }
        return entry(mode: target.st_mode)
    }

    private static func entry(mode: mode_t) -> Entry {
        switch mode & S_IFMT {
        case S_IFREG: .regularFile
        case S_IFDIR: .directory
        default: .other(kind(of: mode))
        }
    }

    private static func kind(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: "a regular file"
        case S_IFDIR: "a directory"
        case S_IFIFO: "a named pipe"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "a special file"
        }
    }

    /// Reads `root/relativePath`; `relativePath` is what diagnostics print.
    ///
    /// The type is checked on the link's target before the file is opened: opening a named pipe
    /// blocks until a writer comes, and a device such as /dev/zero never ends.
    static func read(root: String, relativePath: String) -> Outcome {
        let path = (root as NSString).appendingPathComponent(relativePath)
        let start = SourceLocation(file: relativePath, line: 1, column: 1)
        switch entry(at: path) {
        case .missing: return .notFound
        case .regularFile: break
        case .directory: return .failed(notRegular("a directory", file: relativePath))
        case .other(let found): return .failed(notRegular(found, file: relativePath))
        case .unreadable(let reason): return .failed(cannotRead(reason, at: start))
        }
        // Non-blocking, and checked again once open, in case the file was swapped for a pipe
        // between the two calls.
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { return .failed(cannotRead(String(cString: strerror(errno)), at: start)) }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        defer { try? handle.close() }
        var opened = stat()
        guard fstat(descriptor, &opened) == 0 else { return .failed(cannotRead(String(cString: strerror(errno)), at: start)) }
        guard opened.st_mode & S_IFMT == S_IFREG else { return .failed(notRegular(kind(of: opened.st_mode), file: relativePath)) }
        let bytes: Data
        do {
            // Read one byte past the limit: enough to know the file is too large without reading
            // all of a huge one.
            bytes = try handle.read(upToCount: DefinitionLimits.maximumFileSize + 1) ?? Data()
        } catch {
            return .failed(Diagnostic("cannot read file: \(error.localizedDescription)", at: start, hint: "check its permissions"))
        }
        if bytes.count > DefinitionLimits.maximumFileSize {
            return .failed(tooLarge(size: max(Int(opened.st_size), bytes.count), file: relativePath))
        }
        switch decode(bytes, file: relativePath) {
        case .success(let text): return .text(text)
        case .failure(let diagnostic): return .failed(diagnostic)
        }
    }

    private static func notRegular(_ found: String, file: String) -> Diagnostic {
        Diagnostic(
            "not a regular file",
            at: SourceLocation(file: file, line: 1, column: 1),
            hint: "found \(found); expected a regular file or a link to one"
        )
    }

    private static func cannotRead(_ reason: String, at location: SourceLocation) -> Diagnostic {
        Diagnostic("cannot read file: \(reason)", at: location, hint: "check its permissions")
    }

    static func tooLarge(size: Int, file: String) -> Diagnostic {
        Diagnostic(
            "file is too large: \(size) bytes",
            at: SourceLocation(file: file, line: 1, column: 1),
            hint: "at most 1 MiB, \(DefinitionLimits.maximumFileSize) bytes"
        )
    }

    /// Decodes UTF-8, or names the first byte that is not, with its line, column and offset.
    ///
    /// A leading byte order mark is dropped: editors on Windows write one, YAML would read it as
    /// text before the first key, and it takes no column on screen.
    static func decode(_ bytes: some Collection<UInt8>, file: String) -> Result<String, Diagnostic> {
        if var text = String(validating: bytes, as: UTF8.self) {
            if text.unicodeScalars.first == "\u{FEFF}" { text.unicodeScalars.removeFirst() }
            return .success(text)
        }
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        var line = 1
        var column = 1
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                offset += encoded.count
                if encoded.count == 1, encoded.first == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else if offset == 3, Array(encoded) == [0xEF, 0xBB, 0xBF] {
                    // The byte order mark, dropped when decoding, takes no column.
                } else {
                    column += 1
                }
            case .error:
                let index = bytes.index(bytes.startIndex, offsetBy: offset)
                let byte = String(bytes[index], radix: 16, uppercase: true)
                return .failure(Diagnostic(
                    "file is not valid UTF-8: byte 0x\(byte.count == 1 ? "0" + byte : byte) at offset \(offset)",
                    at: SourceLocation(file: file, line: line, column: column),
                    hint: "save the file as UTF-8"
                ))
            case .emptyInput:
                // Unreachable when validation failed above, but decoding what was read is harmless.
                return .success(String(decoding: bytes, as: UTF8.self))
            }
        }
    }
}
