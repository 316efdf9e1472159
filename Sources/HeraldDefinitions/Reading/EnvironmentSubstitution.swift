/// `${NAME}` in herald.yml values, replaced from the environment.
///
/// `$${` writes a literal `${`; a `$` not followed by `{` is kept as it is. A variable that is set
/// to the empty string counts as set.
///
/// Substitution happens after YAML parsing, so that a value from the environment can never change
/// the file's structure. But `{` and `}` end a plain value inside a flow mapping, and the
/// documented style `{kind: fcm, service_account_file: ${FCM_SERVICE_ACCOUNT}}` would not parse.
/// So before parsing each `${…}` is masked: replaced by as many copies of one private-use scalar
/// (U+F0000 + its index) as it has scalars. Columns stay exact, the mask is valid inside any
/// scalar, and after parsing each run of the scalar is replaced by the variable's value.
enum EnvironmentSubstitution {
    /// One `${…}` of the original text.
    struct Reference: Equatable {
        /// What is between the braces.
        var name: String
        /// The length of `${name}` in Unicode scalars.
        var length: Int
    }

    struct Problem: Equatable {
        var message: String
        var hint: String
        /// The position of the `$` in Unicode scalars from the start of the value.
        var offset: Int
    }

    private static let maskBase: UInt32 = 0xF0000
    private static let maskLimit = 0xFFFE

    /// The text with every `${…}` on one line masked, and the references in order. A text that
    /// already holds scalars of the mask plane is returned as it is, with no references.
    static func mask(_ text: String) -> (text: String, references: [Reference]) {
        guard text.contains("${") else { return (text, []) }
        let scalars = Array(text.unicodeScalars)
        guard !scalars.contains(where: isMask) else { return (text, []) }
        var result = String.UnicodeScalarView()
        var references: [Reference] = []
        var index = 0
        while index < scalars.count {
            if scalars[index] == "$", index + 1 < scalars.count, scalars[index + 1] == "$" {
                // `$$` stays as written, so that `$${X}` is not masked and reads as a literal.
                result.append(contentsOf: scalars[index...(index + 1)])
                index += 2
                continue
            }
            guard scalars[index] == "$", index + 1 < scalars.count, scalars[index + 1] == "{", references.count < maskLimit,
                  let close = closingBrace(in: scalars, from: index + 2)
            else {
                result.append(scalars[index])
                index += 1
                continue
            }
            let length = close - index + 1
            references.append(Reference(name: String(String.UnicodeScalarView(scalars[(index + 2)..<close])), length: length))
            if let mask = Unicode.Scalar(maskBase + UInt32(references.count - 1)) {
                result.append(contentsOf: repeatElement(mask, count: length))
            }
            index = close + 1
        }
        return (String(result), references)
    }

    /// The `}` closing a `${` on the same line, with no `{` or `$` in between.
    private static func closingBrace(in scalars: [Unicode.Scalar], from start: Int) -> Int? {
        var index = start
        while index < scalars.count, index - start <= 256 {
            switch scalars[index] {
            case "}": return index
            case "{", "$", "\n", "\r": return nil
            default: index += 1
            }
        }
        return nil
    }

    private static func isMask(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value >= maskBase && scalar.value < maskBase + UInt32(maskLimit)
    }

    /// The value of a masked scalar with every reference replaced from `environment`, and the
    /// problems at their offsets.
    static func substitute(_ text: String, references: [Reference], environment: [String: String]) -> (text: String, problems: [Problem]) {
        guard text.contains("$") || (!references.isEmpty && text.unicodeScalars.contains(where: isMask)) else { return (text, []) }
        let scalars = Array(text.unicodeScalars)
        var result = String.UnicodeScalarView()
        var problems: [Problem] = []
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if isMask(scalar), Int(scalar.value - maskBase) < references.count {
                let reference = references[Int(scalar.value - maskBase)]
                if !isValidName(reference.name) {
                    problems.append(Problem(
                        message: "'\(reference.name)' is not an environment variable name",
                        hint: "a name is letters, digits and '_', not starting with a digit, e.g. ${SMTP_PASSWORD}",
                        offset: index
                    ))
                } else if let value = environment[reference.name] {
                    result.append(contentsOf: value.unicodeScalars)
                } else {
                    problems.append(Problem(
                        message: "environment variable '\(reference.name)' is not set",
                        hint: "set \(reference.name) before starting herald, or write the value in place of ${\(reference.name)}",
                        offset: index
                    ))
                }
                var end = index
                while end < scalars.count, scalars[end] == scalar, end - index < reference.length { end += 1 }
                index = end
                continue
            }
            if scalar == "$", index + 2 < scalars.count, scalars[index + 1] == "$", scalars[index + 2] == "{" {
                result.append(contentsOf: "${".unicodeScalars)
                index += 3
                continue
            }
            if scalar == "$", index + 1 < scalars.count, scalars[index + 1] == "{" {
                problems.append(Problem(
                    message: "'${' is not closed",
                    hint: "write ${NAME} on one line to read an environment variable, or $${ for a literal '${'",
                    offset: index
                ))
                result.append(contentsOf: "${".unicodeScalars)
                index += 2
                continue
            }
            result.append(scalar)
            index += 1
        }
        return (String(result), problems)
    }

    /// A masked text with each reference written back as `${name}`, for messages and field names.
    static func unmask(_ text: String, references: [Reference]) -> String {
        guard !references.isEmpty, text.unicodeScalars.contains(where: isMask) else { return text }
        let scalars = Array(text.unicodeScalars)
        var result = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            guard isMask(scalar), Int(scalar.value - maskBase) < references.count else {
                result.append(scalar)
                index += 1
                continue
            }
            let reference = references[Int(scalar.value - maskBase)]
            result.append(contentsOf: "${\(reference.name)}".unicodeScalars)
            var end = index
            while end < scalars.count, scalars[end] == scalar, end - index < reference.length { end += 1 }
            index = end
        }
        return String(result)
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
    }
}
