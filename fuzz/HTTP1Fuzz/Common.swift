// Shared by the HTTP/1 libFuzzer targets (built by scripts/fuzz with Sources/HTTP1/*.swift into one module,
// so the targets see the module's internals without an import). A violated invariant traps with a message.

/// Input layout shared by the targets: byte 0 picks the limits, byte 1 seeds the split points, the rest is
/// the message.
struct FuzzInput {
    let limits: HTTPLimits
    var seed: UInt64
    let bytes: [UInt8]

    init?(_ data: UnsafePointer<UInt8>, _ size: Int) {
        guard size >= 2 else { return nil }
        // Small limits reach the 414/431/chunk-line paths with short inputs; the defaults reach the rest.
        let choices = [
            HTTPLimits(),
            HTTPLimits(maxRequestLineBytes: 16, maxHeaderBytes: 32, maxHeaderCount: 3, maxChunkLineBytes: 4),
            HTTPLimits(maxRequestLineBytes: 40, maxHeaderBytes: 100, maxHeaderCount: 8, maxChunkLineBytes: 12),
            HTTPLimits(maxRequestLineBytes: 1, maxHeaderBytes: 2, maxHeaderCount: 1, maxChunkLineBytes: 1),
        ]
        limits = choices[Int(data[0]) % choices.count]
        seed = UInt64(data[1]) &* 0x9E37_79B9_7F4A_7C15 | 1
        bytes = Array(UnsafeBufferPointer(start: data + 2, count: size - 2))
    }

    /// xorshift64: the next pseudo-random number (deterministic per input).
    mutating func next() -> UInt64 {
        seed ^= seed << 13
        seed ^= seed >> 7
        seed ^= seed << 17
        return seed
    }

    /// `bytes` cut into pieces of 1…17 bytes at seeded points.
    mutating func pieces() -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        while i < bytes.count {
            let n = Swift.min(bytes.count - i, Int(next() % 17) + 1)
            out.append(Array(bytes[i..<(i + n)]))
            i += n
        }
        return out
    }
}

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError(message()) }
}

/// What a head parser made of some bytes.
enum Outcome<Head: Equatable>: Equatable {
    case incomplete
    case complete(Head, Int)
    case failed(HTTPParseError)
}

func outcome<Head>(_ parse: () throws(HTTPParseError) -> HeadParseResult<Head>) -> Outcome<Head> {
    do throws(HTTPParseError) {
        switch try parse() {
        case .incomplete: return .incomplete
        case .complete(let head, let length): return .complete(head, length)
        }
    } catch {
        return .failed(error)
    }
}

/// The invariants every head parser keeps, whatever the input:
/// - a complete head took between 1 and all of the bytes, and the bytes after it do not change it;
/// - a prefix of the input is never complete unless it holds the whole head, then it gives the same head;
///   a prefix that fails fails with the same error as the whole input (checked at seeded prefixes and at
///   the head's end);
/// - errors carry one of the statuses the parser documents and a reason.
func checkPrefixes<Head: Equatable>(_ input: inout FuzzInput, _ parse: ([UInt8]) -> Outcome<Head>) -> Outcome<Head> {
    let bytes = input.bytes
    let whole = parse(bytes)
    switch whole {
    case .complete(_, let length):
        check(length >= 1 && length <= bytes.count, "head length \(length) outside 1...\(bytes.count)")
        check(parse(Array(bytes[..<length])) == whole, "the head alone parses differently")
        if length > 0 { check(parse(Array(bytes[..<(length - 1)])) == .incomplete, "complete before the head ends") }
    case .failed(let error):
        check([400, 414, 431, 501, 505].contains(error.status), "unexpected status \(error.status)")
        check(!error.reason.isEmpty, "error without a reason")
    case .incomplete:
        break
    }
    for _ in 0..<4 where !bytes.isEmpty {
        let k = Int(input.next() % UInt64(bytes.count + 1))
        let partial = parse(Array(bytes[..<k]))
        switch (whole, partial) {
        case (_, .incomplete): break
        case (.complete(_, let length), _): check(k >= length && partial == whole, "prefix of \(k) bytes differs from the whole")
        case (.failed, .failed): check(partial == whole, "prefix of \(k) bytes fails differently: \(partial) vs \(whole)")
        default: fatalError("prefix of \(k) bytes is \(partial) but the whole input is \(whole)")
        }
    }
    return whole
}

/// After folding, a head whose framing parses names Content-Length at most once, as plain digits, and
/// Transfer-Encoding at most once (RFC 9112 6.3: what the proxy forwards carries one value).
func checkFramingFields(_ headers: HTTPHeaders, _ framing: BodyFraming?) {
    let lengths = headers.values("Content-Length")
    let codings = headers.values("Transfer-Encoding")
    check(codings.count <= 1, "Transfer-Encoding not folded: \(codings)")
    if case .contentLength(let n)? = framing, codings.isEmpty {
        check(lengths == [String(n)], "Content-Length not folded to one value: \(lengths) for \(n)")
    }
}
