import Foundation
import HeraldCore

/// Reads workspace files from disk: refuses files over the size limit and files that are not UTF-8,
/// each with a diagnostic that names the file.
enum SourceFileReader {
    enum Outcome {
        case text(String)
        case notFound
        case failed(Diagnostic)
    }

    /// Reads `root/relativePath`; `relativePath` is what diagnostics print.
    static func read(root: String, relativePath: String) -> Outcome {
        let path = (root as NSString).appendingPathComponent(relativePath)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return .notFound }
        let start = SourceLocation(file: relativePath, line: 1, column: 1)
        guard !isDirectory.boolValue else {
            return .failed(Diagnostic("'\(relativePath)' is a directory", at: start, hint: "expected a file"))
        }
        let bytes: Data
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            // Read one byte past the limit: enough to know the file is too large without reading
            // all of a huge one.
            bytes = try handle.read(upToCount: DefinitionLimits.maximumFileSize + 1) ?? Data()
        } catch {
            return .failed(Diagnostic("cannot read file: \(error.localizedDescription)", at: start, hint: "check its permissions"))
        }
        if bytes.count > DefinitionLimits.maximumFileSize {
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? bytes.count
            return .failed(tooLarge(size: size, file: relativePath))
        }
        switch decode(bytes, file: relativePath) {
        case .success(let text): return .text(text)
        case .failure(let diagnostic): return .failed(diagnostic)
        }
    }

    static func tooLarge(size: Int, file: String) -> Diagnostic {
        Diagnostic(
            "file is too large: \(size) bytes",
            at: SourceLocation(file: file, line: 1, column: 1),
            hint: "at most 1 MiB, \(DefinitionLimits.maximumFileSize) bytes"
        )
    }

    /// Decodes UTF-8, or names the first byte that is not, with its line, column and offset.
    static func decode(_ bytes: some Collection<UInt8>, file: String) -> Result<String, Diagnostic> {
        if let text = String(validating: bytes, as: UTF8.self) {
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
