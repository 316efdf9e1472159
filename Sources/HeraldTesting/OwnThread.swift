import Foundation

/// Runs blocking work (reading a child's pipe, waiting for it to exit, a program run to its end)
/// on a thread of its own. Swift's concurrency pool has a thread per core, two on CI's machine:
/// a test that blocks one of them for seconds holds up every other test in flight.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

/// ``onOwnThread(_:)`` for work that throws.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
