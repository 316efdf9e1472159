extension RulePattern {
    /// Whether the pattern matches somewhere in `text`, by the Pike VM alone: the reference that
    /// tests compare `matches(_:)` with.
    package func matchesWithPikeVM(_ text: String) -> Bool {
        var machine = PikeVM(program: matcher.program, sets: matcher.sets)
        var scalars = text.unicodeScalars.lazy.map(\.value).makeIterator()
        return machine.search(&scalars)
    }

    /// Whether the pattern matches `text`, with a new cache that holds at most `memoryBudget`
    /// bytes, and what building its states cost: for tests that check the work stays bounded.
    ///
    /// With `threadByThread`, transitions test each thread's instruction as they do for programs
    /// with thousands of classes, instead of masking and shifting words of threads.
    package func matchesCountingWork(
        _ text: String,
        memoryBudget: Int = DFACache.memoryBudget,
        threadByThread: Bool = false
    ) -> (matches: Bool, work: DFACache.Statistics) {
        let dfa = threadByThread ? LazyDFA(program: matcher.program, sets: matcher.sets, maximumAcceptBytes: 0) : matcher
        if dfa.matchesEveryText { return (true, DFACache.Statistics()) }
        if text.isEmpty { return (dfa.matchesEmptyText, DFACache.Statistics()) }
        var cache = DFACache(dfa, memoryBudget: memoryBudget)
        let matched = cache.matches(text, in: dfa)
        return (matched, cache.statistics)
    }
}
