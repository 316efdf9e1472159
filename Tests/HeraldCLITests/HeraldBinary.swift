import Foundation
import HeraldTesting
import HeraldSandbox
import Synchronization
import Testing

extension Tag {
    /// End-to-end tests that run the `herald` binary; `swift test --skip slow` style filters leave them out.
    @Tag static var slow: Self
}

/// Runs the built `herald` executable as a user would, and captures what it prints.
struct HeraldBinary {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The `herald` binary next to the test bundle (both are in the build directory).
    static let path: String = {
        if let path = ProcessInfo.processInfo.environment["HERALD_BINARY"] { return path }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("herald").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/debug/herald").standardized.path
    }()

    /// The repository root, where the sample workspace lives.
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs the binary to completion. The waiting happens on a Dispatch thread, not on the
    /// tests' cooperative pool, so that other tests (and their sleeps) go on meanwhile.
    static func run(_ arguments: [String], in directory: String, environment: [String: String] = [:]) async throws -> Output {
        await finish(try start(arguments, in: directory, environment: environment))
    }

    /// Waits for a binary started with ``start(_:in:environment:)`` to end, and captures its
    /// output. The waiting blocks threads of its own: never a test's thread, nor Dispatch's
    /// global queues, which on Linux are the pool that every task of the tests runs on (with a
    /// thread per core, and more added only slowly while they block), the in-process sandboxes
    /// that the children talk to included.
    ///
    /// A child still running `deadline` after this is called hangs: its threads' stacks are
    /// written to a file (with gdb, where the machine has it), it is killed, and the test records
    /// an issue naming the command, so that a hang fails the test it is in, instead of holding up
    /// the whole run until CI gives up on it without saying where.
    static func finish(_ started: (process: Process, stdout: Pipe, stderr: Pipe), deadline: Duration = .seconds(600)) async -> Output {
        let (process, stdout, stderr) = started
        let watchdog = HangWatchdog(process, deadline: deadline)
        // Both pipes are drained at once, so a large output on one cannot block the child. A
        // pipe still open 30 s after the child ended is held by another process (see
        // ``launch(_:)``): what came is kept, and the test says so.
        let exited = ExitedLately(process, grace: .seconds(30))
        async let err = onOwnThread { PipeReading.toEnd(stderr.fileHandleForReading, giveUp: exited.check) }
        let out = await onOwnThread { PipeReading.toEnd(stdout.fileHandleForReading, giveUp: exited.check) }
        let errors = await err
        let status = await onOwnThread { exited.wait() }
        if let report = watchdog.stop() { Issue.record(Comment(rawValue: report)) }
        if exited.gaveUp {
            Issue.record("`\(process.arguments ?? [])` ended, but its output or its end stayed open 30 s after: another process holds them")
        }
        return Output(
            status: status,
            stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: errors, as: UTF8.self)
        )
    }

    /// Runs another program (a checker such as Python) to completion, as ``run(_:in:environment:)`` does.
    static func runProgram(_ executable: String, _ arguments: [String], in directory: String) async throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        return await finish(try launch(process))
    }

    /// Starts the binary and returns at once, with its output going to pipes.
    /// The child's environment is the tests' own without `COLUMNS` (output must not depend on
    /// the terminal the tests run in), plus `environment`.
    static func start(_ arguments: [String], in directory: String, environment: [String: String] = [:]) throws -> (process: Process, stdout: Pipe, stderr: Pipe) {
        try launch(process(arguments, in: directory, environment: environment))
    }

    /// The binary as a process to start, in `directory`, with the tests' environment without
    /// `COLUMNS`, plus `environment`.
    static func process(_ arguments: [String], in directory: String, environment: [String: String] = [:]) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var inherited = ProcessInfo.processInfo.environment
        inherited["COLUMNS"] = nil
        process.environment = inherited.merging(environment) { $1 }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        return process
    }

    /// Starts `process` with its standard output and error on new pipes. Pipes are made and
    /// children started one at a time: Foundation closes, in a child, the descriptors open up to
    /// the highest it found just before starting it, so a pipe another test made in between
    /// would be inherited, and that test would wait for the end of its child's output as long
    /// as the other child lives (the last CI run hung so, or so it seems).
    static func launch(_ process: Process) throws -> (process: Process, stdout: Pipe, stderr: Pipe) {
        try launching.withLock { _ in
            let stdout = Pipe(), stderr = Pipe()
            process.standardOutput = stdout
            process.standardError = stderr
            try process.run()
            return (process, stdout, stderr)
        }
    }

    static let launching = Mutex(())

    /// A child started with ``startLogged(_:in:name:)``: its output is in two files.
    struct LoggedChild {
        var process: Process
        var stdoutPath: String
        var stderrPath: String
    }

    /// Starts the binary with its standard output and error going to `<name>.out` and
    /// `<name>.err` in `directory`, not to pipes: a process that runs for minutes and logs as it
    /// goes (a worker under provider faults) would block on a full pipe that nobody reads before
    /// ``finish(_:deadline:)``, holding its leases all the while (a chaos run on CI stalled so).
    static func startLogged(_ arguments: [String], in directory: String, name: String) throws -> LoggedChild {
        let process = process(arguments, in: directory)
        let base = URL(fileURLWithPath: directory).appendingPathComponent(name).path
        let (stdoutPath, stderrPath) = (base + ".out", base + ".err")
        return try launching.withLock { _ in
            guard FileManager.default.createFile(atPath: stdoutPath, contents: nil), FileManager.default.createFile(atPath: stderrPath, contents: nil),
                  let stdout = FileHandle(forWritingAtPath: stdoutPath), let stderr = FileHandle(forWritingAtPath: stderrPath)
            else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: base]) }
            defer {
                try? stdout.close()
                try? stderr.close()
            }
            process.standardOutput = stdout
            process.standardError = stderr
            try process.run()
            return LoggedChild(process: process, stdoutPath: stdoutPath, stderrPath: stderrPath)
        }
    }

    /// Waits for a child started with ``startLogged(_:in:name:)`` to end, and reads what it
    /// wrote, as ``finish(_:deadline:)`` does for one on pipes.
    static func finish(_ child: LoggedChild, deadline: Duration = .seconds(600)) async -> Output {
        let watchdog = HangWatchdog(child.process, deadline: deadline)
        let exited = ExitedLately(child.process, grace: .seconds(5))
        let status = await onOwnThread { exited.wait() }
        if let report = watchdog.stop() { Issue.record(Comment(rawValue: report)) }
        return Output(
            status: status,
            stdout: (try? String(contentsOfFile: child.stdoutPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: child.stderrPath, encoding: .utf8)) ?? ""
        )
    }
}

/// Whether a child ended more than `grace` ago, asked while its pipes are read. Foundation
/// learns that a child ended when a socket the child inherited closes, so a process that
/// inherited it too (see ``HeraldBinary/launch(_:)``) would hide the end: the kernel's view
/// (a zombie in /proc) is asked as well.
final class ExitedLately: Sendable {
    private let process: Process
    private let grace: Duration
    private let state = Mutex<(endedAt: ContinuousClock.Instant?, gaveUp: Bool)>((nil, false))

    init(_ process: Process, grace: Duration) {
        self.process = process
        self.grace = grace
    }

    /// True once the child has been seen ended for `grace`.
    func check() -> Bool {
        let ended = !process.isRunning || Self.isZombie(process.processIdentifier)
        return state.withLock { state in
            guard ended else { return false }
            let now = ContinuousClock.now
            guard let endedAt = state.endedAt else {
                state.endedAt = now
                return false
            }
            if now - endedAt >= grace { state.gaveUp = true }
            return state.gaveUp
        }
    }

    var gaveUp: Bool { state.withLock { $0.gaveUp } }

    /// Waits until the child ends, and returns its exit status (or the signal that ended it).
    /// When Foundation has not seen the end `grace` after the kernel did, the child is reaped here.
    func wait() -> Int32 {
        while process.isRunning {
            if check() {
                var status: Int32 = 0
                guard waitpid(process.processIdentifier, &status, WNOHANG) == process.processIdentifier else { break }
                return status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
            }
            usleep(50_000)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Whether the process `pid` has ended and waits to be reaped.
    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        // "pid (name) S …": the state follows the name.
        return stat[stat.index(after: close)...].dropFirst().first == "Z"
    }
}

/// Runs `body` with a provider sandbox on a free port and the workspace's herald.yml (the
/// sample's, which points at 127.0.0.1:4010, and APNs at 127.0.0.1:4443) pointed at it: `herald send` then sends over real
/// sockets, and the test reads what the sandbox accepted.
func withSandbox<T: Sendable>(workspace: String, _ body: @Sendable (RunningSandbox) async throws -> T) async throws -> T {
    try await Sandbox.withRunning(Sandbox.Configuration(port: 0, smtpPort: nil)) { sandbox in
        let path = URL(fileURLWithPath: workspace).appendingPathComponent("herald.yml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(of: "http://127.0.0.1:4010/", with: "http://127.0.0.1:\(sandbox.port)/")
            .replacingOccurrences(of: "https://127.0.0.1:4443", with: sandbox.apnsURL ?? "https://127.0.0.1:4443")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return try await body(sandbox)
    }
}

extension RecordedMessage {
    /// The Herald notification a message carries (SendGrid custom_args, Mandrill metadata).
    var notificationID: String? { metadata["herald_notification_id"] }
}

/// Removes herald.yml's `limits:` (frequency caps and quiet hours) and every campaign's
/// `throttle:` from a workspace, for tests of something else (crashes, concurrency) that expect
/// every notification to be due at once, whatever the hour: quiet hours would hold some back
/// until the recipient's morning, and a throttle spreads a large audience over minutes.
func removeLimits(fromWorkspace workspace: String) throws {
    let campaigns = URL(fileURLWithPath: workspace).appendingPathComponent("campaigns")
    for name in try FileManager.default.contentsOfDirectory(atPath: campaigns.path) where name.hasSuffix(".yml") {
        let file = campaigns.appendingPathComponent(name).path
        let text = try String(contentsOfFile: file, encoding: .utf8)
        try text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("throttle:") }
            .joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
    }
    let path = URL(fileURLWithPath: workspace).appendingPathComponent("herald.yml").path
    var kept: [Substring] = []
    var inLimits = false
    for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
        if line == "limits:" {
            inLimits = true
        } else if inLimits, let first = line.first, first != " ", first != "#" {
            inLimits = false
        }
        if !inLimits { kept.append(line) }
    }
    try kept.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
}

/// Takes `last_seen_at > now() - 60d` out of the sample's winter-sale rule, for tests that
/// compare audiences counted minutes apart (rounds of sends, a crash and its restart): a
/// generated `last_seen_at` can cross the 60-day line in between, and the audience then
/// changes by a user without anything being wrong.
func removeNow(fromWinterSaleIn workspace: String) throws {
    let campaign = URL(fileURLWithPath: workspace).appendingPathComponent("campaigns/winter-sale.yml").path
    let text = try String(contentsOfFile: campaign, encoding: .utf8)
    let clause = "last_seen_at > now() - 60d and "
    struct Missing: Error, CustomStringConvertible { var description: String }
    guard text.contains(clause) else { throw Missing(description: "campaigns/winter-sale.yml no longer has '\(clause)'") }
    try text.replacingOccurrences(of: clause, with: "").write(toFile: campaign, atomically: true, encoding: .utf8)
}

/// Kills a child process that is still running after a deadline, and says where it hung.
final class HangWatchdog: Sendable {
    private let report = Mutex<String?>(nil)
    private let stopped = DispatchSemaphore(value: 0)

    init(_ process: Process, deadline: Duration) {
        let seconds = Double(deadline.components.seconds) + Double(deadline.components.attoseconds) / 1e18
        let pid = process.processIdentifier
        let command = ([HeraldBinary.path == process.executableURL?.path ? "herald" : process.executableURL?.lastPathComponent ?? "?"] + (process.arguments ?? []))
            .joined(separator: " ")
        Thread { [self] in
            guard stopped.wait(timeout: .now() + seconds) == .timedOut, process.isRunning, !ExitedLately.isZombie(pid) else { return }
            let stacks = Self.stacks(of: pid)
            kill(pid, SIGKILL)
            let report = "`\(command)` (pid \(pid)) was still running after \(Int(seconds)) s: killed. \(stacks)"
            print("HANG: \(report)")
            self.report.withLock { $0 = report }
        }.start()
    }

    /// Stops watching; what the watchdog found, if it killed the child.
    func stop() -> String? {
        stopped.signal()
        return report.withLock { $0 }
    }

    /// The hung process's threads' stacks in a file (gdb demangles Swift's names); the frames in
    /// Herald's own code and in postgres-nio's.
    static func stacks(of pid: Int32) -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/gdb") else { return "(no gdb on this machine to show its stacks)" }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("herald-hang-\(pid).txt").path
        let script = "gdb -p \(pid) -batch -ex 'thread apply all bt 40' > \(file) 2>&1"
        let gdb = Process()
        gdb.executableURL = URL(fileURLWithPath: "/bin/sh")
        gdb.arguments = ["-c", "timeout 120 sh -c \"\(script)\""]
        guard (try? HeraldBinary.launching.withLock { _ in try gdb.run() }) != nil else { return "(gdb could not be started)" }
        gdb.waitUntilExit()
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        let ours = text.split(separator: "\n").filter { $0.hasPrefix("Thread ") || $0.contains("/Sources/Herald") || $0.contains("/Sources/herald/") || $0.contains("postgres-nio") }
        return "Its stacks: \(file); the frames in Herald:\n" + ours.prefix(80).joined(separator: "\n")
    }
}

/// Reads a child's pipe with read(2), retrying when a signal interrupts it: Foundation's
/// `availableData` and `readDataToEndOfFile()` trap on EINTR, which a child exiting (SIGCHLD)
/// while another test reads can cause.
enum PipeReading {
    /// What the pipe holds now, waiting for at least one byte; empty at end of file.
    static func available(_ handle: FileHandle) -> Data {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(handle.fileDescriptor, &buffer, buffer.count)
            if count >= 0 { return Data(buffer[0..<count]) }
            if errno == EINTR { continue }
            return Data()
        }
    }

    /// Everything until the writer closes the pipe, or until `giveUp` (asked each second
    /// while nothing comes) says to stop waiting.
    static func toEnd(_ handle: FileHandle, giveUp: () -> Bool = { false }) -> Data {
        var all = Data()
        var descriptor = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&descriptor, 1, 1_000)
            if ready < 0, errno == EINTR { continue }
            if ready == 0 {
                if giveUp() { return all }
                continue
            }
            let chunk = available(handle)
            if chunk.isEmpty { return all }
            all.append(chunk)
        }
    }
}

/// Takes push out of a sample workspace's `channels:` (so that push is skipped as
/// `no_provider`), for tests of something else (concurrency, crashes, caps) whose campaigns
/// would otherwise also push to generated devices: their browsers' subscriptions point at the
/// sandbox's fixed port, which these tests' sandboxes do not use, and the extra sends only slow
/// a shared machine down. The push path has tests of its own (the demo, `send` and `deliver`).
func routePushNowhere(inWorkspace workspace: String) throws {
    let path = URL(fileURLWithPath: workspace).appendingPathComponent("herald.yml").path
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let kept = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("  push: {") }
    try kept.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
}
