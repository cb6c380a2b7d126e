@testable import Faults

/// A fault that exists only in the tests, to show the bar for adding one: this file and one
/// entry in a registry (`FaultRegistry.standard.adding(NoteFault.self)`), nothing else.
/// It writes a comment line (`: text`) before each matching event.
struct NoteFault: FaultSettings {
    var text: String
    var blankLine: Bool

    static let name = "note"
    static let summary = "Write a comment before each matching event."
    static let guide = "A comment is ignored by every SSE client; the stream is otherwise unchanged."
    static let keys = [
        SettingKey("text", Schema.string, "the comment's text, on one line", required: true),
        SettingKey("blank_line", Schema.boolean, "end the comment with a blank line (default false)"),
    ]
    static let examples = ["note: { text: hello }"]
    static let defaultKinds: Set<FrameKind> = [.event]
    static let probabilityScope = ProbabilityScope.perFrame

    static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> NoteFault {
        let v = try m.required("text")
        let text = try v.string("a comment text")
        guard !text.contains(where: { $0 == "\n" || $0 == "\r" }) else {
            throw v.error("expected a text on one line, found a line break")
        }
        return NoteFault(text: text, blankLine: try m["blank_line"]?.bool() ?? false)
    }

    func makeStage() -> AnyFaultStage { AnyFaultStage(NoteStage(settings: self)) }
}

struct NoteStage: FaultStage {
    let settings: NoteFault

    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        let line = Array(": \(settings.text)\n\(settings.blankLine ? "\n" : "")".utf8)
        out.append(.chunk(.injected(line, at: chunk.notBefore)))
        out.append(.chunk(chunk))
    }
}
