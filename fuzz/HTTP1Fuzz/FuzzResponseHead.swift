// libFuzzer target: the response head parser and response body framing. Traps when
// - the checks in Common.swift (prefix consistency, documented statuses) fail;
// - a parsed head, serialized and parsed again, is not the same head at exactly its serialized length;
// - framing differs between methods where it must not (GET and POST frame alike; HEAD never has a body),
//   or a head with valid framing still carries repeated Content-Length or Transfer-Encoding fields.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard var input = FuzzInput(data, size) else { return 0 }
    let limits = input.limits
    let parse = { (b: [UInt8]) in outcome { () throws(HTTPParseError) in try HeadParser.parseResponse(b, limits: limits) } }
    guard case .complete(let head, _) = checkPrefixes(&input, parse) else { return 0 }
    check((100...599).contains(head.status), "status \(head.status)")

    let bytes = head.serialized()
    let again = outcome { () throws(HTTPParseError) in try HeadParser.parseResponse(bytes) }
    check(again == .complete(head, bytes.count), "round trip: \(head) became \(again)")

    let get = Result { () throws(HTTPParseError) in try head.bodyFraming(requestMethod: "GET") }
    let post = Result { () throws(HTTPParseError) in try head.bodyFraming(requestMethod: "POST") }
    let headMethod = Result { () throws(HTTPParseError) in try head.bodyFraming(requestMethod: "HEAD") }
    check(get == post, "GET and POST frame differently")
    check(headMethod == .success(.none), "a response to HEAD has a body: \(headMethod)")
    switch get {
    case .success(let f): checkFramingFields(head.headers, f)
    case .failure(let e): check(e.status == 400, "framing error status \(e.status)")
    }
    return 0
}
