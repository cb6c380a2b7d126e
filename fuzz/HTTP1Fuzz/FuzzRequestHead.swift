// libFuzzer target: the request head parser and request body framing. Traps when
// - the checks in Common.swift (prefix consistency, documented statuses) fail;
// - a parsed head, serialized and parsed again, is not the same head, or is not complete at exactly its
//   serialized length (parse → serialize → parse round trip);
// - the framing of the re-parsed head differs, or a head with valid framing still carries repeated
//   Content-Length or Transfer-Encoding fields.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard var input = FuzzInput(data, size) else { return 0 }
    let limits = input.limits
    let parse = { (b: [UInt8]) in outcome { () throws(HTTPParseError) in try HeadParser.parseRequest(b, limits: limits) } }
    guard case .complete(let head, _) = checkPrefixes(&input, parse) else { return 0 }
    check(!head.method.isEmpty && !head.target.isEmpty, "empty method or target")

    let bytes = head.serialized()
    // Re-parse with default limits: serialization writes CRLF where the input may have had LF, so the
    // line may grow by a byte per field.
    let again = outcome { () throws(HTTPParseError) in try HeadParser.parseRequest(bytes) }
    check(again == .complete(head, bytes.count), "round trip: \(head) became \(again)")

    let framing = Result { () throws(HTTPParseError) in try head.bodyFraming() }
    switch framing {
    case .success(let f): checkFramingFields(head.headers, f)
    case .failure(let e): check([400, 501].contains(e.status), "framing error status \(e.status)")
    }
    return 0
}
