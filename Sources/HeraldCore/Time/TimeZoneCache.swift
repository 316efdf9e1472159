import Foundation
import Synchronization

/// IANA zones by name, looked up once: the planner resolves a zone per recipient, and
/// `TimeZone(identifier:)` is far slower than a dictionary.
public final class TimeZoneCache: Sendable {
    public static let shared = TimeZoneCache()

    private let zones = Mutex<[String: TimeZone?]>([:])

    public init() {}

    /// The zone called `identifier`, or `nil` when there is none by that name.
    public func zone(named identifier: String) -> TimeZone? {
        if let cached = zones.withLock({ $0[identifier] }) { return cached }
        let zone = TimeZone(identifier: identifier)
        zones.withLock { zones in
            // Names come from user data: a hostile import must not grow this without bound.
            if zones.count >= 4096 { zones.removeAll() }
            zones[identifier] = zone
        }
        return zone
    }
}
