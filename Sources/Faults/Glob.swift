/// A shell-style pattern: `*` any run of characters, `?` one character, `[abc]`, `[a-z]`,
/// `[!a-z]` one character of (or not of) a set. Everything else matches itself.
/// Not handled: escapes, `**`, brace expansion.
public struct Glob: Sendable, Equatable, CustomStringConvertible {
    public let pattern: String
    private let tokens: [Token]

    private enum Token: Sendable, Equatable {
        case literal(Character)
        case any
        case star
        case set([ClosedRange<Character>], negated: Bool)
    }

    public init(_ pattern: String) {
        self.pattern = pattern
        var tokens: [Token] = []
        let chars = Array(pattern)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            switch c {
            case "*": if tokens.last != .star { tokens.append(.star) }
            case "?": tokens.append(.any)
            case "[":
                if let (token, next) = Glob.parseSet(chars, from: i + 1) {
                    tokens.append(token)
                    i = next
                    continue
                }
                tokens.append(.literal(c))
            default: tokens.append(.literal(c))
            }
            i += 1
        }
        self.tokens = tokens
    }

    private static func parseSet(_ chars: [Character], from start: Int) -> (Token, Int)? {
        var i = start
        var negated = false
        if i < chars.count, chars[i] == "!" || chars[i] == "^" {
            negated = true
            i += 1
        }
        var ranges: [ClosedRange<Character>] = []
        var first = true
        while i < chars.count {
            let c = chars[i]
            if c == "]" && !first { return (.set(ranges, negated: negated), i + 1) }
            first = false
            if i + 2 < chars.count, chars[i + 1] == "-", chars[i + 2] != "]" {
                let hi = chars[i + 2]
                ranges.append(c <= hi ? c...hi : hi...c)
                i += 3
            } else {
                ranges.append(c...c)
                i += 1
            }
        }
        return nil
    }

    public var description: String { pattern }

    /// Whether the whole of `text` matches the pattern.
    public func matches(_ text: String) -> Bool {
        let s = Array(text)
        var t = 0, p = 0
        var starP = -1, starT = 0
        while t < s.count {
            if p < tokens.count, step(tokens[p], s[t]) {
                t += 1
                p += 1
            } else if p < tokens.count, tokens[p] == .star {
                starP = p
                starT = t
                p += 1
            } else if starP >= 0 {
                p = starP + 1
                starT += 1
                t = starT
            } else {
                return false
            }
        }
        while p < tokens.count, tokens[p] == .star { p += 1 }
        return p == tokens.count
    }

    private func step(_ token: Token, _ c: Character) -> Bool {
        switch token {
        case .literal(let l): return l == c
        case .any: return true
        case .star: return false
        case .set(let ranges, let negated): return ranges.contains { $0.contains(c) } != negated
        }
    }
}
