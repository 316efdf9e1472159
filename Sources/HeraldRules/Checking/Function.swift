/// The functions of the language, with how to call them (used in error hints).
enum Function: String, Sendable, CaseIterable {
    case now
    case today
    case lower
    case len
    case daysSince = "days_since"
    case bucket
    case hasDevice = "has_device"
    case performed
    case count

    var usage: String {
        switch self {
        case .now: "now()"
        case .today: "today()"
        case .lower: "lower(name)"
        case .len: "len(tags)"
        case .daysSince: "days_since(created_at)"
        case .bucket: "bucket(100) < 10"
        case .hasDevice: #"has_device("ios")"#
        case .performed: #"performed("purchase", within: 7d)"#
        case .count: #"count("purchase", within: 7d)"#
        }
    }

    /// How many positional arguments the function takes.
    var arity: ClosedRange<Int> {
        switch self {
        case .now, .today: 0...0
        case .lower, .len, .daysSince, .bucket, .performed, .count: 1...1
        case .hasDevice: 0...1
        }
    }

    /// The labelled arguments the function accepts.
    var labels: [String] {
        switch self {
        case .performed, .count: ["within"]
        default: []
        }
    }
}
