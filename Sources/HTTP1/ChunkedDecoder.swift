/// Incremental decoder for the chunked transfer coding (RFC 9112 7.1). A value: copy it to fork state.
///
/// Feed it the bytes that follow a chunked message head, in as many pieces as they arrive. Payload is
/// passed to `onData` as slices of the input (never copied). Chunk extensions are checked against the
/// grammar (`*( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] )`) and skipped; trailer fields
/// are validated like header fields and consumed.
///
/// Strict on line ends: every line of the coding (chunk-size lines, trailer lines, the final empty line)
/// must end in CRLF. The proxy relays chunked bodies byte for byte, so a line end it accepted but the next
/// hop read differently (a bare LF, RFC 9112 2.2 leaves it to the recipient) would let the two disagree on
/// where the body ends: request smuggling.
/// Rejected (400): an empty or non-hex size, a size over 2^62, whitespace after the size not followed by
/// `;`, a malformed chunk extension, a size line longer than `maxChunkLineBytes`, anything but CRLF right
/// after the data, a bare CR or bare LF, obs-fold or a malformed trailer field. A trailer section over
/// `maxHeaderBytes` or `maxHeaderCount` fields: 431.
/// After an error every later `feed` throws the same error; after the message is done `feed` consumes nothing.
public struct ChunkedDecoder: Sendable {
    enum State: Sendable, Equatable {
        case size, sizeWhitespace, sizeLF
        /// After `;` (BWS, then a name); in a name; BWS after a name; after `=` (BWS, then a value); in a
        /// token value; in a quoted-string value; after `\\` in one; right after the closing quote; BWS after a
        /// value (only `;` may follow).
        case extNameStart, extName, extAfterName, extValueStart, extToken, extQuoted, extQuotedPair, extAfterQuoted, extAfterValue
        case data, dataCR, dataLF
        case trailerStart, trailerName, trailerValue, trailerLF, finalLF
        case done
        case failed(HTTPParseError)
    }

    public let limits: HTTPLimits
    var state: State = .size
    /// The chunk size being read (while in the size line).
    var size: UInt64 = 0
    var sizeDigits = 0
    var lineBytes = 0
    /// Payload bytes still to come in the current chunk.
    var remaining: UInt64 = 0
    var trailerBytes = 0
    var trailerCount = 0

    /// The largest chunk size accepted, 2^62: large enough for anything real, far from overflow.
    public static let maxChunkSize: UInt64 = 1 << 62

    public init(limits: HTTPLimits = .init()) {
        self.limits = limits
    }

    /// Whether the last chunk, the trailers and the final empty line have all been read.
    public var isDone: Bool { state == .done }
    /// Between two chunks: every byte consumed so far belongs to whole chunks (the next is a size line).
    public var isBetweenChunks: Bool { state == .size && sizeDigits == 0 && lineBytes == 0 }

    /// Feeds the next bytes of the message body.
    /// - Parameters:
    ///   - bytes: bytes following what earlier calls consumed.
    ///   - onData: called with each slice of payload, in order; the slice is only valid during the call.
    /// - Returns: `consumed`, how many of `bytes` belong to this message (all of them unless `done`; the
    ///   rest belong to the next message), and `done`, whether the message is complete.
    public mutating func feed(
        _ bytes: UnsafeRawBufferPointer, onData: (UnsafeRawBufferPointer) -> Void
    ) throws(HTTPParseError) -> (consumed: Int, done: Bool) {
        let result = feedUntilError(bytes, onData: onData)
        if let failure = result.failure { throw failure }
        return (result.consumed, result.done)
    }

    /// As `feed(_:onData:)`, without throwing: on a framing error, `consumed` counts the bytes accepted
    /// before the byte that broke the framing (their payload was passed to `onData`), and `failure` is the
    /// error (a decoder that had already failed consumes nothing). The count does not depend on how the
    /// input was split.
    public mutating func feedUntilError(
        _ bytes: UnsafeRawBufferPointer, onData: (UnsafeRawBufferPointer) -> Void
    ) -> (consumed: Int, done: Bool, failure: HTTPParseError?) {
        var accepted = 0
        do throws(HTTPParseError) {
            let (consumed, done) = try run(bytes, accepted: &accepted, onData: onData)
            return (consumed, done, nil)
        } catch {
            state = .failed(error)
            return (accepted, false, error)
        }
    }

    /// Convenience for tests and small inputs.
    public mutating func feed(_ bytes: [UInt8], onData: (UnsafeRawBufferPointer) -> Void) throws(HTTPParseError) -> (consumed: Int, done: Bool) {
        let result: Result<(consumed: Int, done: Bool), HTTPParseError> = bytes.withUnsafeBytes { buffer in
            do throws(HTTPParseError) { return .success(try feed(buffer, onData: onData)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// `accepted`: the index of the byte being read (on an error, the bytes before it were accepted).
    private mutating func run(
        _ bytes: UnsafeRawBufferPointer, accepted: inout Int, onData: (UnsafeRawBufferPointer) -> Void
    ) throws(HTTPParseError) -> (consumed: Int, done: Bool) {
        let n = bytes.count
        var i = 0
        while i < n {
            accepted = i
            switch state {
            case .data:
                let take = Int(min(remaining, UInt64(n - i)))
                onData(UnsafeRawBufferPointer(rebasing: bytes[i..<(i + take)]))
                i += take
                remaining -= UInt64(take)
                if remaining == 0 { state = .dataCR }
                continue
            case .done:
                return (i, true)
            case .failed(let error):
                throw error
            default:
                break
            }
            let b = bytes[i]
            i += 1
            switch state {
            case .size:
                if let digit = ASCII.hexValue(b) {
                    try countLineByte()
                    guard size <= (ChunkedDecoder.maxChunkSize - digit) / 16 else { throw .badRequest("chunk size too large") }
                    size = size * 16 + digit
                    sizeDigits += 1
                } else if sizeDigits == 0 {
                    throw .badRequest(b == ASCII.cr || b == ASCII.lf || b == ASCII.semicolon || ASCII.isWhitespace(b)
                                      ? "missing chunk size" : "invalid chunk size")
                } else if b == ASCII.cr {
                    state = .sizeLF
                } else if b == ASCII.lf {
                    throw .badRequest("bare LF in chunk size line")
                } else if b == ASCII.semicolon {
                    try countLineByte()
                    state = .extNameStart
                } else if ASCII.isWhitespace(b) {
                    try countLineByte()
                    state = .sizeWhitespace
                } else {
                    throw .badRequest("invalid chunk size")
                }
            case .sizeWhitespace:
                // BWS after the size is only allowed before ";".
                try countLineByte()
                if b == ASCII.semicolon {
                    state = .extNameStart
                } else if !ASCII.isWhitespace(b) {
                    throw .badRequest(b == ASCII.lf ? "bare LF in chunk size line" : "invalid chunk size")
                }
            case .extNameStart, .extName, .extAfterName, .extValueStart, .extToken, .extQuoted, .extQuotedPair, .extAfterQuoted,
                 .extAfterValue:
                try chunkExtension(b)
            case .sizeLF:
                guard b == ASCII.lf else { throw .badRequest("bare CR in chunk size line") }
                endOfSizeLine()
            case .dataCR:
                guard b == ASCII.cr else { throw .badRequest("missing CRLF after chunk data") }
                state = .dataLF
            case .dataLF:
                guard b == ASCII.lf else { throw .badRequest("missing CRLF after chunk data") }
                state = .size
            case .trailerStart:
                try countTrailerByte()
                if b == ASCII.cr {
                    state = .finalLF
                } else if b == ASCII.lf {
                    throw .badRequest("bare LF in trailer section")
                } else if ASCII.isWhitespace(b) {
                    throw .badRequest("obsolete line folding in trailer section")
                } else if ASCII.isTokenChar(b) {
                    trailerCount += 1
                    if trailerCount > limits.maxHeaderCount { throw HTTPParseError(status: 431, reason: "too many trailer fields") }
                    state = .trailerName
                } else {
                    throw .badRequest("invalid trailer field")
                }
            case .trailerName:
                try countTrailerByte()
                if b == ASCII.colon {
                    state = .trailerValue
                } else if !ASCII.isTokenChar(b) {
                    throw .badRequest("invalid trailer field")
                }
            case .trailerValue:
                try countTrailerByte()
                if b == ASCII.cr {
                    state = .trailerLF
                } else if b == ASCII.lf {
                    throw .badRequest("bare LF in trailer section")
                } else if ASCII.isForbiddenInFieldValue(b) {
                    throw .badRequest("invalid character in trailer field")
                }
            case .trailerLF:
                try countTrailerByte()
                guard b == ASCII.lf else { throw .badRequest("bare CR in trailer section") }
                state = .trailerStart
            case .finalLF:
                try countTrailerByte()
                guard b == ASCII.lf else { throw .badRequest("bare CR in trailer section") }
                state = .done
            case .data, .done, .failed:
                preconditionFailure("handled above")
            }
        }
        return (n, state == .done)
    }

    /// One byte of a chunk extension (RFC 9112 7.1.1):
    /// `chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )`,
    /// `chunk-ext-name = token`, `chunk-ext-val = token / quoted-string` (RFC 9110 5.6.4).
    /// The CR that ends the line is accepted only where an extension may end.
    private mutating func chunkExtension(_ b: UInt8) throws(HTTPParseError) {
        if b == ASCII.cr {
            switch state {
            case .extName, .extToken, .extAfterQuoted: state = .sizeLF; return
            case .extQuoted, .extQuotedPair: throw .badRequest("invalid character in chunk extension")
            default: throw .badRequest("invalid chunk extension")
            }
        }
        try countLineByte()
        let token = ASCII.isTokenChar(b), space = ASCII.isWhitespace(b)
        switch state {
        case .extNameStart:
            if token { state = .extName } else if !space { throw extensionError(b) }
        case .extName, .extAfterName:
            if b == ASCII.semicolon {
                state = .extNameStart
            } else if b == ASCII.equals {
                state = .extValueStart
            } else if space {
                state = .extAfterName
            } else if !(token && state == .extName) {
                throw extensionError(b)
            }
        case .extValueStart:
            if b == ASCII.quote { state = .extQuoted } else if token { state = .extToken } else if !space { throw extensionError(b) }
        case .extToken, .extAfterQuoted, .extAfterValue:
            if b == ASCII.semicolon {
                state = .extNameStart
            } else if space {
                state = .extAfterValue
            } else if !(token && state == .extToken) {
                throw extensionError(b)
            }
        case .extQuoted:
            // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
            if b == ASCII.quote {
                state = .extAfterQuoted
            } else if b == ASCII.backslash {
                state = .extQuotedPair
            } else if ASCII.isForbiddenInFieldValue(b) {
                throw .badRequest("invalid character in chunk extension")
            }
        case .extQuotedPair:
            // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
            if ASCII.isForbiddenInFieldValue(b) { throw .badRequest("invalid character in chunk extension") }
            state = .extQuoted
        default:
            preconditionFailure("not in a chunk extension")
        }
    }

    /// The error for byte `b` where it does not fit: control characters get their own reason.
    private func extensionError(_ b: UInt8) -> HTTPParseError {
        if b == ASCII.lf { return .badRequest("bare LF in chunk size line") }
        if ASCII.isForbiddenInFieldValue(b) { return .badRequest("invalid character in chunk extension") }
        return .badRequest("invalid chunk extension")
    }

    @inline(__always)
    private mutating func countLineByte() throws(HTTPParseError) {
        lineBytes += 1
        if lineBytes > limits.maxChunkLineBytes { throw .badRequest("chunk size line too long") }
    }

    @inline(__always)
    private mutating func countTrailerByte() throws(HTTPParseError) {
        trailerBytes += 1
        if trailerBytes > limits.maxHeaderBytes { throw HTTPParseError(status: 431, reason: "trailer section too large") }
    }

    private mutating func endOfSizeLine() {
        if size == 0 {
            state = .trailerStart
        } else {
            remaining = size
            state = .data
        }
        size = 0
        sizeDigits = 0
        lineBytes = 0
    }
}
