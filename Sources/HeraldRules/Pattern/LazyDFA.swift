import Synchronization

/// The matcher of `RulePattern`: a DFA over the pattern's program, built lazily while texts are
/// read, as RE2 does.
///
/// A DFA state is the set of threads a Pike VM would hold at some position, after following jumps,
/// splits and assertions; the transition of a state on a class of scalars is computed the first
/// time it is needed and then cached. Once the states that texts visit are built, a scalar costs
/// one table lookup whatever the pattern. Only the threads that wait on a scalar or on the end of
/// the text are recorded, as bits, so a state of a program at `RulePattern.maximumSize` takes at
/// most 63 words.
///
/// The search is unanchored: every transition adds the threads of the pattern's start, and the
/// search stops at the first state that reaches `match`, since only whether the text matches
/// counts. `^` holds only before the first scalar and `$` only after the last: threads waiting on
/// `$` stay in the state and are checked once the text ends.
///
/// Worst case: a pattern and text that reach a new state at every scalar (as
/// `a(?:b|[\w\W]){990}c` on random a and b, where each `a` of the last 990 scalars is a thread)
/// build a state per scalar and clear the cache each time it reaches `DFACache.memoryBudget`.
/// A new state costs what a step of a Pike VM costs at most (each instruction is visited once),
/// much less where threads go straight to the next instruction, which shifting the state's bits
/// does for all of them at once. That is still linear in the text, with a factor bounded by
/// `RulePattern.maximumSize`: about 10 µs per scalar at that size, against a few nanoseconds once
/// its states are built.
final class LazyDFA: Sendable {
    let program: [Instruction]
    let sets: [ScalarSet]
    let classes: ScalarClasses
    /// The bit of each recorded pc (one that waits on a scalar or on the end), -1 for the others.
    let bitOfPC: [Int32]
    /// The pc of each bit.
    let pcOfBit: [Int32]
    /// Words in the bit set of a state.
    let wordCount: Int
    /// The threads before the first scalar, where `^` holds.
    let startBits: [UInt64]
    /// The threads of a search that starts after the first scalar, added at every position.
    let restartBits: [UInt64]
    /// The threads waiting on `$` from which `match` follows once the text ends.
    let endBits: [UInt64]
    /// The threads that consume a scalar and go straight to another recorded thread, whose bit is
    /// the next one: a transition moves all of them at once by shifting the state's bits.
    let straightBits: [UInt64]
    /// The threads that consume a scalar and then go through a few jumps and splits (as in
    /// `(a|b)*`) to threads listed in `follow`, so that a transition need not follow them again.
    let listedBits: [UInt64]
    /// The bits that each thread of `listedBits` leads to: those of bit `b` are
    /// `follow[followStart[b]..<followStart[b + 1]]`.
    let followStart: [Int32]
    let follow: [Int32]
    /// The threads that consume each class, `wordCount` words per class; empty when a program has
    /// so many classes and instructions that this would take more than `maximumAcceptBytes`.
    let acceptBits: [UInt64]
    /// Whether the pattern matches before reading anything, hence every text (as `a*` or `^`).
    let matchesEveryText: Bool
    /// Whether the pattern matches the empty text (as `^$`).
    let matchesEmptyText: Bool

    /// Caches that no call is using, kept for the next calls; at most `idleCacheLimit`.
    private let idleCaches = Mutex<[DFACache]>([])

    /// How many idle caches a pattern keeps: enough for the evaluator and SQLite's connections
    /// to run the same pattern at once without building states again.
    static let idleCacheLimit = 4

    /// The most memory `acceptBits` may take: 256 KiB, which only programs with thousands of
    /// distinct literal scalars exceed.
    static let maximumAcceptBytes = 256 << 10

    init(program: [Instruction], sets: [ScalarSet], maximumAcceptBytes: Int = LazyDFA.maximumAcceptBytes) {
        self.program = program
        self.sets = sets
        classes = ScalarClasses(program: program, sets: sets)
        var bitOfPC = [Int32](repeating: -1, count: program.count)
        var pcOfBit: [Int32] = []
        for (pc, instruction) in program.enumerated() {
            switch instruction {
            case .scalar, .any, .set, .assertEnd:
                bitOfPC[pc] = Int32(pcOfBit.count)
                pcOfBit.append(Int32(pc))
            default:
                break
            }
        }
        self.bitOfPC = bitOfPC
        self.pcOfBit = pcOfBit
        wordCount = max(1, (pcOfBit.count + 63) / 64)

        var closure = Closure(programCount: program.count, wordCount: wordCount)
        let startMatches = closure.add(0, atStart: true, atEnd: false, program: program, bitOfPC: bitOfPC)
        startBits = closure.bits
        closure.reset()
        _ = closure.add(0, atStart: false, atEnd: false, program: program, bitOfPC: bitOfPC)
        restartBits = closure.bits
        closure.reset()
        matchesEmptyText = closure.add(0, atStart: true, atEnd: true, program: program, bitOfPC: bitOfPC)
        matchesEveryText = startMatches

        // The pcs from which `match` follows without a scalar once the text has ended (and not at
        // its start, since an empty text is decided by `matchesEmptyText`): found backwards from
        // `match`.
        var predecessors = [[Int32]](repeating: [], count: program.count)
        for (pc, instruction) in program.enumerated() {
            switch instruction {
            case .jump(let target): predecessors[Int(target)].append(Int32(pc))
            case .split(let first, let second):
                predecessors[Int(first)].append(Int32(pc))
                predecessors[Int(second)].append(Int32(pc))
            case .assertEnd: predecessors[pc + 1].append(Int32(pc))
            default: break
            }
        }
        var reaches = [Bool](repeating: false, count: program.count)
        var pending = program.indices.filter { program[$0] == .match }.map(Int32.init)
        for pc in pending { reaches[Int(pc)] = true }
        while let pc = pending.popLast() {
            for predecessor in predecessors[Int(pc)] where !reaches[Int(predecessor)] {
                reaches[Int(predecessor)] = true
                pending.append(predecessor)
            }
        }
        var endBits = [UInt64](repeating: 0, count: wordCount)
        for (pc, instruction) in program.enumerated() where instruction == .assertEnd && reaches[pc] {
            let bit = Int(bitOfPC[pc])
            endBits[bit / 64] |= 1 << UInt64(bit % 64)
        }
        self.endBits = endBits

        var straightBits = [UInt64](repeating: 0, count: wordCount)
        for (bit, pc) in pcOfBit.enumerated() where program[Int(pc)] != .assertEnd && bitOfPC[Int(pc) + 1] >= 0 {
            straightBits[bit / 64] |= 1 << UInt64(bit % 64)
        }
        self.straightBits = straightBits

        // A thread's followers are listed when reaching them takes at most 16 steps and neither
        // reaches `match` nor depends on the position: larger closures are rare and are followed
        // when needed, with each pc visited once per transition whatever the number of threads.
        var listedBits = [UInt64](repeating: 0, count: wordCount)
        var followStart: [Int32] = [0]
        var follow: [Int32] = []
        var seen = [Int](repeating: -1, count: program.count)
        for (bit, pc) in pcOfBit.enumerated() {
            defer { followStart.append(Int32(follow.count)) }
            guard program[Int(pc)] != .assertEnd, straightBits[bit / 64] & (1 << UInt64(bit % 64)) == 0 else { continue }
            var found: [Int32] = []
            var pending = [pc + 1]
            var steps = 0
            var isListed = true
            while let next = pending.popLast() {
                let index = Int(next)
                if seen[index] == bit { continue }
                seen[index] = bit
                steps += 1
                if steps > 16 {
                    isListed = false
                    break
                }
                switch program[index] {
                case .jump(let target): pending.append(target)
                case .split(let first, let second): pending.append(contentsOf: [second, first])
                case .assertStart: break
                case .match:
                    isListed = false
                    pending.removeAll()
                case .scalar, .any, .set, .assertEnd: found.append(bitOfPC[index])
                }
            }
            if isListed {
                listedBits[bit / 64] |= 1 << UInt64(bit % 64)
                follow.append(contentsOf: found)
            }
        }
        self.listedBits = listedBits
        self.followStart = followStart
        self.follow = follow
        var acceptBits: [UInt64] = []
        if classes.count * wordCount * 8 <= maximumAcceptBytes {
            acceptBits = [UInt64](repeating: 0, count: classes.count * wordCount)
            for index in 0..<classes.count {
                for (bit, pc) in pcOfBit.enumerated() where Self.instruction(program[Int(pc)], accepts: index, classes) {
                    acceptBits[index * wordCount + bit / 64] |= 1 << UInt64(bit % 64)
                }
            }
        }
        self.acceptBits = acceptBits
    }

    /// Whether the pattern matches somewhere in `text`.
    func matches(_ text: String) -> Bool {
        if matchesEveryText { return true }
        if text.isEmpty { return matchesEmptyText }
        // A cache is used by one call at a time: taken from the idle ones (or built when all are
        // in use) and put back afterwards, so the lock is held only to take and return it.
        var cache = idleCaches.withLock { $0.popLast() } ?? DFACache(self)
        let matched = cache.matches(text, in: self)
        idleCaches.withLock { [cache] idle in
            if idle.count < Self.idleCacheLimit { idle.append(cache) }
        }
        return matched
    }

    /// Whether the instruction at `pc` consumes the scalars of class `index`.
    func accepts(_ pc: Int32, _ index: Int) -> Bool {
        Self.instruction(program[Int(pc)], accepts: index, classes)
    }

    private static func instruction(_ instruction: Instruction, accepts index: Int, _ classes: ScalarClasses) -> Bool {
        switch instruction {
        case .scalar(let scalar): scalar == classes.representatives[index]
        case .any: classes.representatives[index] != 10
        case .set(let set): classes.set(set, contains: index)
        default: false
        }
    }
}

/// The threads reachable from some pcs without consuming a scalar, as the bits of a state.
struct Closure {
    var bits: [UInt64]
    /// When each pc was last visited, compared with `stamp` so that nothing needs clearing
    /// between computations.
    private var visited: [UInt32]
    private var stamp: UInt32 = 1
    private var stack: [Int32] = []

    init(programCount: Int, wordCount: Int) {
        bits = [UInt64](repeating: 0, count: wordCount)
        visited = [UInt32](repeating: 0, count: programCount)
    }

    /// Starts a new set of threads.
    mutating func reset() {
        for index in bits.indices { bits[index] = 0 }
        stamp &+= 1
        if stamp == 0 {
            for index in visited.indices { visited[index] = 0 }
            stamp = 1
        }
    }

    /// Adds the threads that follow from `pc`; true when one reaches `match`.
    ///
    /// Threads at `$` are recorded rather than followed unless `atEnd`, since whether the text
    /// ends is known only at the next scalar.
    mutating func add(_ pc: Int32, atStart: Bool, atEnd: Bool, program: [Instruction], bitOfPC: [Int32]) -> Bool {
        stack.append(pc)
        while let pc = stack.popLast() {
            let index = Int(pc)
            if visited[index] == stamp { continue }
            visited[index] = stamp
            switch program[index] {
            case .jump(let target):
                stack.append(target)
            case .split(let first, let second):
                stack.append(second)
                stack.append(first)
            case .assertStart:
                if atStart { stack.append(pc + 1) }
            case .assertEnd where atEnd:
                stack.append(pc + 1)
            case .match:
                stack.removeAll(keepingCapacity: true)
                return true
            case .scalar, .any, .set, .assertEnd:
                let bit = Int(bitOfPC[index])
                bits[bit / 64] |= 1 << UInt64(bit % 64)
            }
        }
        return false
    }
}
