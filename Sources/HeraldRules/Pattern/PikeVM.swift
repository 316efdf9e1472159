/// A Pike VM over a pattern's program: every thread advances in lock step over the text, so each
/// scalar is looked at once per instruction at most.
///
/// It was the matcher before `LazyDFA`, which reads a scalar in one lookup rather than one step
/// per thread; tests compare the DFA with it, since it follows the program directly.
struct PikeVM {
    private let program: [Instruction]
    private let sets: [ScalarSet]
    private var current: [Int32] = []
    private var next: [Int32] = []
    private var seen: [Int]
    private var stack: [Int32] = []
    private var step = 0

    init(program: [Instruction], sets: [ScalarSet]) {
        self.program = program
        self.sets = sets
        seen = [Int](repeating: -1, count: program.count)
        current.reserveCapacity(program.count)
        next.reserveCapacity(program.count)
    }

    /// Whether the pattern matches somewhere in the scalars, read from the start of the text.
    mutating func search(_ scalars: inout some IteratorProtocol<UInt32>) -> Bool {
        var character = scalars.next()
        var isStart = true
        while true {
            if add(0, toNext: false, atStart: isStart, atEnd: character == nil) { return true }
            guard let value = character else { return false }
            let following = scalars.next()
            step += 1
            for pc in current {
                let matched: Bool = switch program[Int(pc)] {
                case .scalar(let scalar): scalar == value
                case .any: value != 10
                case .set(let index): sets[Int(index)].contains(value)
                default: false
                }
                if matched, add(pc + 1, toNext: true, atStart: false, atEnd: following == nil) { return true }
            }
            swap(&current, &next)
            next.removeAll(keepingCapacity: true)
            character = following
            isStart = false
            if current.isEmpty, program.first == .assertStart { return false }
        }
    }

    /// Follows the jumps and assertions from `pc`, adding the threads to `next` or `current`;
    /// true when the pattern has matched.
    private mutating func add(_ pc: Int32, toNext: Bool, atStart: Bool, atEnd: Bool) -> Bool {
        stack.append(pc)
        while let pc = stack.popLast() {
            let index = Int(pc)
            if seen[index] == step { continue }
            seen[index] = step
            switch program[index] {
            case .jump(let target):
                stack.append(target)
            case .split(let first, let second):
                stack.append(second)
                stack.append(first)
            case .assertStart:
                if atStart { stack.append(pc + 1) }
            case .assertEnd:
                if atEnd { stack.append(pc + 1) }
            case .match:
                stack.removeAll(keepingCapacity: true)
                return true
            case .scalar, .any, .set:
                if toNext { next.append(pc) } else { current.append(pc) }
            }
        }
        return false
    }
}
