import Foundation
import HeraldCore
import Synchronization

/// A clock that only moves when a test moves it.
public final class ManualClock: WallClock {
    private let instant: Mutex<Date>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_796_000_000)) {
        instant = Mutex(start)
    }

    public var now: Date { instant.withLock { $0 } }

    public func advance(by seconds: TimeInterval) {
        instant.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    public func set(_ date: Date) {
        instant.withLock { $0 = date }
    }
}
