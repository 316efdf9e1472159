import CCurl
import Foundation

/// One libcurl easy handle used for SMTP. libcurl keeps the connection of a handle open after a
/// transfer and reuses it for the next one to the same server, so a pool of these is a pool of
/// SMTP connections.
///
/// `@unchecked Sendable`: libcurl allows a handle on any thread but on one at a time, and the
/// only way to reach one is `SMTPTransport`'s pool, which hands a handle to one send under its
/// lock and takes it back after `send` returned.
final class CurlSMTPConnection: @unchecked Sendable {
    /// What one transaction ended with.
    struct Result {
        var code: CURLcode
        /// The last SMTP reply code libcurl saw (CURLINFO_RESPONSE_CODE).
        var replyCode: Int
        /// libcurl's own message (`RCPT failed: 550`).
        var error: String
        /// The server's last reply line (`550 5.1.1 <a@b>: Recipient address rejected…`).
        var lastReply: String
    }

    /// Settings that do not change between messages.
    struct Settings {
        var url: String
        var username: String?
        var password: String?
        var certificateAuthorityFile: String?
        var connectTimeoutMilliseconds: Int
        var timeoutMilliseconds: Int
    }

    private static let globalInitialization: Void = {
        _ = curl_global_init(3)  // CURL_GLOBAL_ALL, which Swift does not import
    }()

    private let handle: UnsafeMutableRawPointer

    init?() {
        _ = Self.globalInitialization
        guard let handle = curl_easy_init() else { return nil }
        self.handle = handle
    }

    deinit {
        curl_easy_cleanup(handle)
    }

    /// Sends `message` to `recipient`. Blocking: call it off the cooperative thread pool.
    func send(_ message: [UInt8], from sender: String, to recipient: String, settings: Settings) -> Result {
        let upload = UploadState(bytes: message)
        let transcript = Transcript()
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let recipients = curl_slist_append(nil, "<\(recipient)>")
        defer { curl_slist_free_all(recipients) }
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { buffer in
            herald_curl_setopt_string(handle, CURLOPT_URL, settings.url)
            herald_curl_setopt_long(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue))
            herald_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
            herald_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, settings.connectTimeoutMilliseconds)
            herald_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, settings.timeoutMilliseconds)
            if let username = settings.username { herald_curl_setopt_string(handle, CURLOPT_USERNAME, username) }
            if let password = settings.password { herald_curl_setopt_string(handle, CURLOPT_PASSWORD, password) }
            if let file = settings.certificateAuthorityFile { herald_curl_setopt_string(handle, CURLOPT_CAINFO, file) }
            herald_curl_setopt_string(handle, CURLOPT_MAIL_FROM, "<\(sender)>")
            herald_curl_setopt_slist(handle, CURLOPT_MAIL_RCPT, recipients)
            herald_curl_setopt_long(handle, CURLOPT_UPLOAD, 1)
            herald_curl_setopt_long(handle, CURLOPT_INFILESIZE, message.count)
            herald_curl_setopt_read_function(handle, readCallback)
            herald_curl_setopt_pointer(handle, CURLOPT_READDATA, Unmanaged.passUnretained(upload).toOpaque())
            herald_curl_setopt_long(handle, CURLOPT_VERBOSE, 1)
            herald_curl_setopt_debug_function(handle, debugCallback)
            herald_curl_setopt_pointer(handle, CURLOPT_DEBUGDATA, Unmanaged.passUnretained(transcript).toOpaque())
            herald_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, buffer.baseAddress)
            let code = curl_easy_perform(handle)
            // The buffer and the states live only for this call: forget them in the handle.
            herald_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, nil)
            herald_curl_setopt_pointer(handle, CURLOPT_READDATA, nil)
            herald_curl_setopt_pointer(handle, CURLOPT_DEBUGDATA, nil)
            herald_curl_setopt_slist(handle, CURLOPT_MAIL_RCPT, nil)
            return code
        }
        _ = withExtendedLifetime((upload, transcript)) {}
        var reply = 0
        herald_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &reply)
        let error = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let fallback = curl_easy_strerror(code).map { String(validatingCString: $0) ?? "" } ?? ""
        return Result(code: code, replyCode: reply, error: error.isEmpty ? fallback : error, lastReply: transcript.lastReply)
    }
}

/// The message being uploaded, read by libcurl in pieces.
private final class UploadState {
    let bytes: [UInt8]
    var offset = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }
}

/// The server's reply lines, kept (bounded) to explain a failure.
private final class Transcript {
    var lastReply = ""
    var partial = ""

    func received(_ text: String) {
        partial += text
        // By scalars: "\r\n" is one Character, so a Character search for "\n" finds nothing.
        while let end = partial.unicodeScalars.firstIndex(of: "\n") {
            let line = String(partial.unicodeScalars[..<end]).trimmingCharacters(in: .whitespacesAndNewlines)
            // The refusal, not the QUIT that libcurl sends after it.
            if let first = line.unicodeScalars.first, first == "4" || first == "5" || lastReply.isEmpty {
                lastReply = String(line.prefix(300))
            }
            partial = String(partial.unicodeScalars[partial.unicodeScalars.index(after: end)...])
        }
        if partial.count > 4096 { partial = "" }
    }
}

private func readCallback(_ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
    guard let buffer, let userdata else { return 0 }
    let state = Unmanaged<UploadState>.fromOpaque(userdata).takeUnretainedValue()
    let length = min(size * count, state.bytes.count - state.offset)
    guard length > 0 else { return 0 }
    state.bytes.withUnsafeBufferPointer { source in
        UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + state.offset, byteCount: length)
    }
    state.offset += length
    return length
}

private func debugCallback(
    _ handle: UnsafeMutableRawPointer?, _ type: curl_infotype, _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ userdata: UnsafeMutableRawPointer?
) -> Int32 {
    guard type == CURLINFO_HEADER_IN, let data, let userdata else { return 0 }
    let transcript = Unmanaged<Transcript>.fromOpaque(userdata).takeUnretainedValue()
    transcript.received(String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self))
    return 0
}
