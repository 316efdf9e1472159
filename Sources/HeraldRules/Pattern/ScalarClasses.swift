/// The Unicode scalars of a program, grouped into classes that no instruction tells apart.
///
/// A DFA state then needs one transition per class instead of one per scalar: `^[^@]+@example\.com$`
/// has 11 classes (`@`, each letter of `example`, `.`, and everything else).
struct ScalarClasses: Sendable {
    /// The first scalar value of each interval of values that every instruction treats alike,
    /// ascending from 0.
    private let starts: [UInt32]
    /// The class of each interval of `starts`.
    private let intervalClasses: [Int32]
    /// The class of each ASCII value, so the common case needs no search.
    private let asciiClasses: [Int32]
    /// A scalar value of each class: testing an instruction against it tests the whole class.
    let representatives: [UInt32]
    /// The bit of each of the program's sets in `setBits`, -1 for sets no instruction uses.
    private let bitOfSet: [Int32]
    /// Which sets contain each class, `setWords` words per class, so that testing a set against
    /// a class is one bit rather than a walk through its ranges.
    private let setBits: [UInt64]
    private let setWords: Int

    var count: Int { representatives.count }

    init(program: [Instruction], sets: [ScalarSet]) {
        var points: Set<UInt32> = [0]
        var literals: Set<UInt32> = []
        var usesAny = false
        var usedSets: [Int] = []
        for instruction in program {
            switch instruction {
            case .scalar(let value):
                literals.insert(value)
                points.insert(value)
                points.insert(value + 1)
            case .any:
                usesAny = true
                points.insert(10)
                points.insert(11)
            case .set(let index):
                if !usedSets.contains(Int(index)) { usedSets.append(Int(index)) }
            default:
                break
            }
        }
        for index in usedSets {
            for range in sets[index].ranges {
                points.insert(range.lowerBound)
                points.insert(range.upperBound &+ 1)
            }
        }
        let starts = points.filter { $0 <= 0x10FFFF }.sorted()

        // Which sets contain each interval: marked range by range rather than by testing every
        // interval against every set, since `\W` and `[^…]` cover most intervals.
        let words = (usedSets.count + 63) / 64
        var membership = [UInt64](repeating: 0, count: starts.count * words)
        for (bit, index) in usedSets.enumerated() {
            for range in sets[index].ranges {
                var interval = Self.interval(of: range.lowerBound, in: starts)
                while interval < starts.count, starts[interval] <= range.upperBound {
                    membership[interval * words + bit / 64] |= 1 << UInt64(bit % 64)
                    interval += 1
                }
            }
        }

        struct Signature: Hashable {
            var literal: UInt32?
            var matchesAny: Bool
            var sets: ArraySlice<UInt64>
        }
        var classOfSignature: [Signature: Int32] = [:]
        var intervalClasses: [Int32] = []
        var representatives: [UInt32] = []
        var setBits: [UInt64] = []
        intervalClasses.reserveCapacity(starts.count)
        for (interval, start) in starts.enumerated() {
            let signature = Signature(
                literal: literals.contains(start) ? start : nil,
                matchesAny: usesAny && start != 10,
                sets: membership[(interval * words)..<((interval + 1) * words)]
            )
            if let known = classOfSignature[signature] {
                intervalClasses.append(known)
            } else {
                let index = Int32(representatives.count)
                classOfSignature[signature] = index
                representatives.append(start)
                intervalClasses.append(index)
                setBits.append(contentsOf: signature.sets)
            }
        }
        var bitOfSet = [Int32](repeating: -1, count: sets.count)
        for (bit, index) in usedSets.enumerated() { bitOfSet[index] = Int32(bit) }
        self.bitOfSet = bitOfSet
        self.setBits = setBits
        self.setWords = words
        self.starts = starts
        self.intervalClasses = intervalClasses
        self.representatives = representatives
        self.asciiClasses = (0..<128).map { intervalClasses[Self.interval(of: UInt32($0), in: starts)] }
    }

    /// The index in `starts` of the interval that holds `value`: the last start not above it.
    private static func interval(of value: UInt32, in starts: [UInt32]) -> Int {
        var low = 0
        var high = starts.count
        while high - low > 1 {
            let middle = (low + high) / 2
            if starts[middle] <= value { low = middle } else { high = middle }
        }
        return low
    }

    /// Whether the program's set `set` contains the scalars of class `index`.
    func set(_ set: Int32, contains index: Int) -> Bool {
        let bit = Int(bitOfSet[Int(set)])
        return setBits[index * setWords + bit / 64] & (1 << UInt64(bit % 64)) != 0
    }

    /// The class of a scalar value.
    @inline(__always)
    func index(of value: UInt32) -> Int {
        if value < 128 { return Int(asciiClasses[Int(value)]) }
        return Int(intervalClasses[Self.interval(of: value, in: starts)])
    }
}
