import HTTP1
import XCTest

/// What a head parser made of some bytes.
enum HeadOutcome<Head: Equatable & Sendable>: Equatable {
    case incomplete
    case complete(Head, headLength: Int)
    case failed(HTTPParseError)

    var head: Head? { if case .complete(let h, _) = self { return h } else { return nil } }
    var headLength: Int? { if case .complete(_, let n) = self { return n } else { return nil } }
    var error: HTTPParseError? { if case .failed(let e) = self { return e } else { return nil } }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Runs a stateless head parser on `input` whole and on every prefix, the way the proxy calls it as bytes
/// trickle in (in the spirit of swift-nio's ByteToMessageDecoderVerifier), and checks they agree:
/// - every prefix shorter than the head is `.incomplete`, and every longer one gives the same head and length;
/// - when the whole input throws, the first prefix that throws throws the same error, and so do all longer ones;
/// - when the whole input is incomplete, so is every prefix.
/// Returns the outcome for the whole input.
func verifyHead<Head: Equatable & Sendable>(
    _ input: [UInt8],
    file: StaticString = #filePath, line: UInt = #line,
    _ parse: ([UInt8]) throws(HTTPParseError) -> HeadParseResult<Head>
) -> HeadOutcome<Head> {
    func run(_ b: [UInt8]) -> HeadOutcome<Head> {
        do throws(HTTPParseError) {
            switch try parse(b) {
            case .incomplete: return .incomplete
            case .complete(let h, let n): return .complete(h, headLength: n)
            }
        } catch {
            return .failed(error)
        }
    }
    let whole = run(input)
    var firstFailure: Int?
    for k in 0..<input.count {
        let partial = run(Array(input[..<k]))
        switch whole {
        case .incomplete:
            XCTAssertEqual(partial, .incomplete, "prefix of \(k) bytes", file: file, line: line)
        case .complete(_, let length):
            XCTAssertEqual(partial, k < length ? .incomplete : whole, "prefix of \(k) bytes", file: file, line: line)
        case .failed:
            if firstFailure == nil, partial != .incomplete { firstFailure = k }
            if firstFailure != nil {
                XCTAssertEqual(partial, whole, "prefix of \(k) bytes", file: file, line: line)
            }
        }
        if case .complete = whole {} else if case .complete = partial {
            XCTFail("prefix of \(k) bytes is a complete head but the whole input is not", file: file, line: line)
        }
    }
    return whole
}

func verifyRequest(_ s: String, limits: HTTPLimits = .init(), file: StaticString = #filePath, line: UInt = #line) -> HeadOutcome<RequestHead> {
    verifyRequest(bytes(s), limits: limits, file: file, line: line)
}

func verifyRequest(_ b: [UInt8], limits: HTTPLimits = .init(), file: StaticString = #filePath, line: UInt = #line) -> HeadOutcome<RequestHead> {
    verifyHead(b, file: file, line: line) { (x: [UInt8]) throws(HTTPParseError) in try HeadParser.parseRequest(x, limits: limits) }
}

func verifyResponse(_ s: String, limits: HTTPLimits = .init(), file: StaticString = #filePath, line: UInt = #line) -> HeadOutcome<ResponseHead> {
    verifyResponse(bytes(s), limits: limits, file: file, line: line)
}

func verifyResponse(_ b: [UInt8], limits: HTTPLimits = .init(), file: StaticString = #filePath, line: UInt = #line) -> HeadOutcome<ResponseHead> {
    verifyHead(b, file: file, line: line) { (x: [UInt8]) throws(HTTPParseError) in try HeadParser.parseResponse(x, limits: limits) }
}

func err(_ status: Int, _ reason: String) -> HTTPParseError { HTTPParseError(status: status, reason: reason) }

/// What a chunked decoder made of some bytes.
struct ChunkedOutcome: Equatable, CustomStringConvertible {
    var payload: [UInt8]
    var consumed: Int
    var done: Bool
    var error: HTTPParseError?

    var description: String {
        "payload \(String(decoding: payload, as: UTF8.self).debugDescription) consumed \(consumed) done \(done) error \(String(describing: error))"
    }
}

/// Feeds `pieces` to a fresh decoder in order, stopping at `done` or at an error.
/// Checks that every payload slice lies inside the piece it came from (the decoder never copies).
func decodeChunked(_ pieces: [[UInt8]], limits: HTTPLimits = .init(), file: StaticString = #filePath, line: UInt = #line) -> ChunkedOutcome {
    var decoder = ChunkedDecoder(limits: limits)
    var outcome = ChunkedOutcome(payload: [], consumed: 0, done: false, error: nil)
    for piece in pieces {
        piece.withUnsafeBytes { buffer in
            do throws(HTTPParseError) {
                let (consumed, done) = try decoder.feed(buffer) { slice in
                    if !slice.isEmpty {
                        let inside = slice.baseAddress! >= buffer.baseAddress! && slice.baseAddress! + slice.count <= buffer.baseAddress! + buffer.count
                        XCTAssertTrue(inside, "payload slice is not a slice of the input", file: file, line: line)
                    }
                    outcome.payload.append(contentsOf: slice)
                }
                XCTAssertTrue(done || consumed == buffer.count, "consumed less than given without being done", file: file, line: line)
                outcome.consumed += consumed
                outcome.done = done
            } catch {
                // What was consumed before an error does not matter: the connection is closed.
                outcome.error = error
                outcome.consumed = 0
            }
        }
        if outcome.done || outcome.error != nil { break }
    }
    return outcome
}

/// Decodes `input` whole, one byte at a time, and split in two at every point (with an empty feed between),
/// checks all give the same payload, consumed count, completion and error, and returns that outcome.
func verifyChunked(_ input: [UInt8], limits: HTTPLimits = .init(), file: StaticString = #filePath, line: UInt = #line) -> ChunkedOutcome {
    let whole = decodeChunked([input], limits: limits, file: file, line: line)
    let single = decodeChunked(input.map { [$0] }, limits: limits, file: file, line: line)
    XCTAssertEqual(single, whole, "fed one byte at a time", file: file, line: line)
    for k in 0...input.count {
        let split = decodeChunked([Array(input[..<k]), [], Array(input[k...])], limits: limits, file: file, line: line)
        XCTAssertEqual(split, whole, "split at \(k)", file: file, line: line)
    }
    return whole
}

func verifyChunked(_ s: String, limits: HTTPLimits = .init(), file: StaticString = #filePath, line: UInt = #line) -> ChunkedOutcome {
    verifyChunked(bytes(s), limits: limits, file: file, line: line)
}
