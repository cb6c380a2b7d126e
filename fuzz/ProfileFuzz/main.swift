// libFuzzer target: YAML text → Profile, through Yams (libyaml) and Sources/Profiles. Built by scripts/fuzz
// as separate modules (SSE, Faults, CYaml, Yams, Profiles), all instrumented. The input is the profile text
// (inputs that are not UTF-8 are skipped: profile files are read as UTF-8 and rejected before parsing
// otherwise). Traps when
// - parsing the same text twice gives different results (profiles or errors);
// - an error has no field or message, or a line outside 0 … (number of lines + 1);
// - a profile has an invalid name, a probability outside 0…1, an attempt number below 1, or does not
//   record the file it came from;
// - the text with every LF turned into CRLF parses differently: both must succeed with the same profile,
//   or both fail (YAML treats CRLF and LF line breaks alike).
import Faults
import Foundation
import Profiles

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError(message()) }
}

func parse(_ text: String) -> Result<Profile, ProfileError> {
    Result { () throws(ProfileError) in try ProfileLibrary.parse(yaml: text, file: "fuzz.yaml") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) else { return 0 }
    let first = parse(text)
    check(parse(text) == first, "parsing twice differs")
    switch first {
    case .failure(let e):
        let lines = text.utf8.filter { $0 == 0x0A || $0 == 0x0D }.count + 1
        check(!e.field.isEmpty && !e.message.isEmpty, "error without field or message: \(e)")
        check(e.line >= 0 && e.line <= lines + 1, "error line \(e.line) outside 0...\(lines + 1): \(e)")
        check(e.file == "fuzz.yaml", "error names another file: \(e)")
    case .success(let p):
        check(p.file == "fuzz.yaml", "profile does not record its file")
        check(!p.name.isEmpty && p.name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0) },
              "invalid profile name '\(p.name)'")
        let all = p.faults + (p.defaultAttempt ?? []) + p.attempts.values.flatMap { $0 }
        for spec in all { check((0...1).contains(spec.probability), "probability \(spec.probability) of \(spec.name)") }
        check(p.attempts.keys.allSatisfy { $0 >= 1 }, "attempt number below 1")
        for n in 1...4 { _ = p.faults(forAttempt: n) }
    }
    if !text.utf8.contains(0x0D) {
        let crlf = parse(text.replacingOccurrences(of: "\n", with: "\r\n"))
        switch (first, crlf) {
        case (.success(let a), .success(let b)): check(a == b, "CRLF line breaks change the profile")
        case (.failure, .failure): break
        default: fatalError("CRLF line breaks change the outcome: \(first) vs \(crlf)")
        }
    }
    return 0
}
