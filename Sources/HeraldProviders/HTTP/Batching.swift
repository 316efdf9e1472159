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

/// `indexes` (messages that may share a request) in requests of at most `limit`, in order, with
/// no address twice in one request: SendGrid refuses a request that names an address twice (and
/// Mandrill answers once per address), so two notifications to one person with the same content,
/// say two API sends of one template, go in separate requests rather than being refused.
/// Addresses are compared without regard to case, as SendGrid does.
func distinctAddressRequests(_ indexes: [Int], limit: Int, address: (Int) -> String) -> [[Int]] {
    var requests: [[Int]] = []
    var addresses: [Set<String>] = []
    // Requests before `firstOpen` are full.
    var firstOpen = 0
    for index in indexes {
        let key = address(index).lowercased()
        var placed = false
        var candidate = firstOpen
        while candidate < requests.count {
            if requests[candidate].count < limit, !addresses[candidate].contains(key) {
                requests[candidate].append(index)
                addresses[candidate].insert(key)
                placed = true
                break
            }
            candidate += 1
        }
        if !placed {
            requests.append([index])
            addresses.append([key])
        }
        while firstOpen < requests.count, requests[firstOpen].count >= limit { firstOpen += 1 }
    }
    return requests
}
