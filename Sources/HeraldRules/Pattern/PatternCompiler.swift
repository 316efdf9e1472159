/// Turns a pattern's syntax tree into instructions for the matcher of `RulePattern`.
struct PatternCompiler {
    var program: [Instruction] = []
    var sets: [ScalarSet] = []

    private mutating func append(_ instruction: Instruction) throws(RulePattern.SyntaxError) {
        guard program.count < RulePattern.maximumSize else {
            throw RulePattern.SyntaxError(
                message: "pattern is too large (at most \(RulePattern.maximumSize) steps after expanding repeats such as {n,m}); simplify it"
            )
        }
        program.append(instruction)
    }

    private var next: Int32 { Int32(program.count) }

    mutating func emit(_ node: PatternNode) throws(RulePattern.SyntaxError) {
        switch node {
        case .empty:
            break
        case .scalar(let value):
            try append(.scalar(value))
        case .any:
            try append(.any)
        case .set(let set):
            if let index = sets.firstIndex(of: set) {
                try append(.set(Int32(index)))
            } else {
                sets.append(set)
                try append(.set(Int32(sets.count - 1)))
            }
        case .start:
            try append(.assertStart)
        case .end:
            try append(.assertEnd)
        case .sequence(let items):
            for item in items { try emit(item) }
        case .alternatives(let branches):
            // split L1, next; L1: branch; jump end; next: split … ; last branch
            var jumps: [Int] = []
            for (position, branch) in branches.enumerated() {
                if position == branches.count - 1 {
                    try emit(branch)
                } else {
                    let split = program.count
                    try append(.split(0, 0))
                    try emit(branch)
                    jumps.append(program.count)
                    try append(.jump(0))
                    program[split] = .split(Int32(split + 1), next)
                }
            }
            for jump in jumps { program[jump] = .jump(next) }
        case .repeated(let item, let minimum, let maximum):
            for _ in 0..<minimum { try emit(item) }
            if let maximum {
                var splits: [Int] = []
                for _ in minimum..<maximum {
                    splits.append(program.count)
                    try append(.split(0, 0))
                    try emit(item)
                }
                for split in splits { program[split] = .split(Int32(split + 1), next) }
            } else {
                let loop = program.count
                try append(.split(0, 0))
                try emit(item)
                try append(.jump(Int32(loop)))
                program[loop] = .split(Int32(loop + 1), next)
            }
        }
    }
}
