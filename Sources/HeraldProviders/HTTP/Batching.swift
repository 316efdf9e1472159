/// Runs `operation` for each element with at most `width` at once and returns the results in
/// the order of `elements`: a bounded task group, as the house style asks for fan-out.
func concurrentMap<Element: Sendable, Result: Sendable>(
    _ elements: [Element], width: Int, _ operation: @escaping @Sendable (Element) async -> Result
) async -> [Result] {
    guard elements.count > 1 else { return await elements.asyncMap(operation) }
    return await withTaskGroup(of: (Int, Result).self) { group in
        var results = [Result?](repeating: nil, count: elements.count)
        var next = 0
        while next < min(max(width, 1), elements.count) {
            let index = next
            group.addTask { (index, await operation(elements[index])) }
            next += 1
        }
        for await (index, result) in group {
            results[index] = result
            if next < elements.count {
                let index = next
                group.addTask { (index, await operation(elements[index])) }
                next += 1
            }
        }
        return results.map { $0! }
    }
}

extension Array {
    func asyncMap<Result>(_ operation: (Element) async -> Result) async -> [Result] {
        var results: [Result] = []
        results.reserveCapacity(count)
        for element in self { results.append(await operation(element)) }
        return results
    }
}
