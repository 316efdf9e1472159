/// The states and transitions of a `LazyDFA` built so far, used by one call at a time.
///
/// States are numbered in the order they are built; the start state is always 0. When the next
/// state would take the cache past `memoryBudget`, every state is dropped and the search goes on
/// from the new one, as RE2 does: a text that visits more states than fit costs more, never
/// more memory.
///
/// RE2 gives up on its DFA when the cache fills up too often and reads the rest of the text with an
/// NFA. Here building a state never costs much more than a Pike VM step over the same threads
/// (measured: about the same when threads go through long chains of jumps and splits, a third
/// with short chains, a fiftieth when they go straight to the next instruction), so the DFA goes
/// on.
package struct DFACache: Sendable {
    /// What building states has cost, for tests that check the work does not grow with the text.
    package struct Statistics: Sendable, Equatable {
        /// States built, counting again those built after a clear.
        package var statesBuilt = 0
        /// Transitions computed, each from one state on one class of scalars.
        package var transitionsComputed = 0
        /// Times the cache was full and dropped its states.
        package var clears = 0
    }

    /// The most memory a cache's states and transitions take, in bytes: 2 MiB.
    ///
    /// The states of an ordinary pattern take a few kilobytes. 2 MiB holds the 3,000 states that
    /// `[\w\W]{1000}[\w\W]{1000}[\w\W]{1000}z` goes through before it settles, so that even
    /// this pattern reads a long text at one lookup per scalar. A pattern keeps at most
    /// `LazyDFA.idleCacheLimit` idle caches (8 MiB at worst), besides one per call in progress.
    package static let memoryBudget = 2 << 20

    /// A transition not computed yet.
    private static let unknown: Int32 = -1
    /// A transition to a state that reaches `match`: the text matches.
    private static let match: Int32 = -2
    /// A transition to a state without threads, which no text can leave: the text does not match.
    private static let dead: Int32 = -3

    private let wordCount: Int
    private let classCount: Int
    private let maximumStates: Int
    /// The bits of each state, `wordCount` words each.
    private var bits: [UInt64] = []
    private var hashes: [UInt64] = []
    /// Whether each state matches when the text ends there.
    private var matchesAtEnd: [Bool] = []
    /// The next state of each state on each class, `classCount` entries each.
    private var transitions: [Int32] = []
    /// Open addressing from the hash of a state's bits to the state; a power of two long.
    private var table: [Int32]
    private var closure: Closure
    package private(set) var statistics = Statistics()

    init(_ dfa: LazyDFA, memoryBudget: Int = Self.memoryBudget) {
        wordCount = dfa.wordCount
        classCount = dfa.classes.count
        // Per state: its bits, its row of transitions, its hash, its end flag and two table slots.
        let bytesPerState = wordCount * 8 + classCount * 4 + 8 + 1 + 8
        maximumStates = max(4, memoryBudget / bytesPerState)
        table = [Int32](repeating: -1, count: 16)
        closure = Closure(programCount: dfa.program.count, wordCount: wordCount)
        addStartState(dfa)
    }

    /// Whether `text` matches, for a text that is not empty and a pattern that does not match
    /// every text.
    mutating func matches(_ text: String, in dfa: LazyDFA) -> Bool {
        let matched = text.utf8.withContiguousStorageIfAvailable { buffer in
            var scalars = UTF8ScalarValues(buffer)
            return run(&scalars, in: dfa)
        }
        if let matched { return matched }
        var scalars = text.unicodeScalars.lazy.map(\.value).makeIterator()
        return run(&scalars, in: dfa)
    }

    private mutating func run(_ scalars: inout some IteratorProtocol<UInt32>, in dfa: LazyDFA) -> Bool {
        var state = 0
        while let value = scalars.next() {
            let index = dfa.classes.index(of: value)
            var next = transitions[state &* classCount &+ index]
            if next < 0 {
                if next == Self.unknown { next = transition(from: state, on: index, in: dfa) }
                if next == Self.match { return true }
                if next == Self.dead { return false }
            }
            state = Int(next)
        }
        return matchesAtEnd[state]
    }

    /// Computes and caches the transition of `state` on the class `index`: a state number, `match`
    /// or `dead`.
    private mutating func transition(from state: Int, on index: Int, in dfa: LazyDFA) -> Int32 {
        statistics.transitionsComputed += 1
        closure.reset()
        let reachesMatch = dfa.acceptBits.isEmpty
            ? advanceThreadByThread(of: state, on: index, in: dfa)
            : advanceWordByWord(of: state, on: index, in: dfa)
        let next: Int32
        if reachesMatch {
            next = Self.match
        } else {
            var isEmpty = true
            for word in 0..<wordCount {
                closure.bits[word] |= dfa.restartBits[word]
                if closure.bits[word] != 0 { isEmpty = false }
            }
            if isEmpty {
                next = Self.dead
            } else {
                let (found, cleared) = intern(closure.bits, in: dfa)
                // After a clear, `state` is gone and so is the place to record its transition.
                if cleared { return found }
                next = found
            }
        }
        transitions[state * classCount + index] = next
        return next
    }

    /// Adds to `closure` the threads that follow those of `state` on the class `index`: shifting
    /// the bits of straight threads, adding the listed followers of others, following the rest
    /// one by one; true when one reaches `match`.
    private mutating func advanceWordByWord(of state: Int, on index: Int, in dfa: LazyDFA) -> Bool {
        var carry: UInt64 = 0
        for word in 0..<wordCount {
            let accepted = bits[state * wordCount + word] & dfa.acceptBits[index * wordCount + word]
            let straight = accepted & dfa.straightBits[word]
            closure.bits[word] |= straight << 1 | carry
            carry = straight >> 63
            var listed = accepted & dfa.listedBits[word]
            while listed != 0 {
                let bit = word * 64 + listed.trailingZeroBitCount
                listed &= listed - 1
                for index in Int(dfa.followStart[bit])..<Int(dfa.followStart[bit + 1]) {
                    let follower = Int(dfa.follow[index])
                    closure.bits[follower / 64] |= 1 << UInt64(follower % 64)
                }
            }
            var others = accepted & ~(dfa.straightBits[word] | dfa.listedBits[word])
            while others != 0 {
                let pc = dfa.pcOfBit[word * 64 + others.trailingZeroBitCount]
                others &= others - 1
                if closure.add(pc + 1, atStart: false, atEnd: false, program: dfa.program, bitOfPC: dfa.bitOfPC) {
                    return true
                }
            }
        }
        return false
    }

    /// Adds to `closure` the threads that follow those of `state` on the class `index`, testing
    /// each thread's instruction; true when one reaches `match`.
    private mutating func advanceThreadByThread(of state: Int, on index: Int, in dfa: LazyDFA) -> Bool {
        for word in 0..<wordCount {
            var remaining = bits[state * wordCount + word]
            while remaining != 0 {
                let pc = dfa.pcOfBit[word * 64 + remaining.trailingZeroBitCount]
                remaining &= remaining - 1
                if dfa.accepts(pc, index),
                    closure.add(pc + 1, atStart: false, atEnd: false, program: dfa.program, bitOfPC: dfa.bitOfPC)
                {
                    return true
                }
            }
        }
        return false
    }

    /// The number of the state with these bits, built if new; `cleared` when the cache had to drop
    /// every state to make room.
    private mutating func intern(_ stateBits: [UInt64], in dfa: LazyDFA) -> (state: Int32, cleared: Bool) {
        let hash = Self.hash(stateBits)
        let mask = table.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while table[slot] >= 0 {
            let candidate = Int(table[slot])
            if hashes[candidate] == hash, bits[(candidate * wordCount)..<((candidate + 1) * wordCount)].elementsEqual(stateBits) {
                return (Int32(candidate), false)
            }
            slot = (slot + 1) & mask
        }
        var cleared = false
        if hashes.count == maximumStates {
            statistics.clears += 1
            bits.removeAll(keepingCapacity: true)
            hashes.removeAll(keepingCapacity: true)
            matchesAtEnd.removeAll(keepingCapacity: true)
            transitions.removeAll(keepingCapacity: true)
            for index in table.indices { table[index] = -1 }
            addStartState(dfa)
            cleared = true
        }
        return (append(stateBits, hash: hash, in: dfa), cleared)
    }

    private mutating func addStartState(_ dfa: LazyDFA) {
        _ = append(dfa.startBits, hash: Self.hash(dfa.startBits), in: dfa)
    }

    /// Adds a state known to be new.
    private mutating func append(_ stateBits: [UInt64], hash: UInt64, in dfa: LazyDFA) -> Int32 {
        statistics.statesBuilt += 1
        let state = Int32(hashes.count)
        bits.append(contentsOf: stateBits)
        hashes.append(hash)
        var atEnd = false
        for word in 0..<wordCount where stateBits[word] & dfa.endBits[word] != 0 { atEnd = true }
        matchesAtEnd.append(atEnd)
        transitions.append(contentsOf: repeatElement(Self.unknown, count: classCount))
        if hashes.count * 2 > table.count {
            table = [Int32](repeating: -1, count: table.count * 2)
            for (state, hash) in hashes.enumerated() { insert(Int32(state), hash: hash) }
        } else {
            insert(state, hash: hash)
        }
        return state
    }

    private mutating func insert(_ state: Int32, hash: UInt64) {
        let mask = table.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while table[slot] >= 0 { slot = (slot + 1) & mask }
        table[slot] = state
    }

    private static func hash(_ words: [UInt64]) -> UInt64 {
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15
        for word in words {
            hash = (hash ^ word) &* 0xFF51_AFD7_ED55_8CCD
            hash ^= hash >> 32
        }
        return hash
    }
}

/// The scalar values of valid UTF-8, which every `String` holds, decoded without checks.
struct UTF8ScalarValues: IteratorProtocol {
    private let buffer: UnsafeBufferPointer<UInt8>
    private var index = 0

    init(_ buffer: UnsafeBufferPointer<UInt8>) {
        self.buffer = buffer
    }

    @inline(__always)
    mutating func next() -> UInt32? {
        guard index < buffer.count else { return nil }
        let lead = UInt32(buffer[index])
        if lead < 0x80 {
            index += 1
            return lead
        }
        if lead < 0xE0 {
            defer { index += 2 }
            return (lead & 0x1F) << 6 | UInt32(buffer[index + 1] & 0x3F)
        }
        if lead < 0xF0 {
            defer { index += 3 }
            return (lead & 0x0F) << 12 | UInt32(buffer[index + 1] & 0x3F) << 6 | UInt32(buffer[index + 2] & 0x3F)
        }
        defer { index += 4 }
        return (lead & 0x07) << 18 | UInt32(buffer[index + 1] & 0x3F) << 12
            | UInt32(buffer[index + 2] & 0x3F) << 6 | UInt32(buffer[index + 3] & 0x3F)
    }
}
