import Faults

/// An action of the control API on a client's open event stream (`POST /clients/KEY/cut`, …), as the
/// session machine receives it. The driver turns the API's JSON into this; the machine decides whether
/// it applies now (an event stream on its way to the client) and how.
public enum LiveCommand: Sendable, Equatable {
    /// End the stream: now (`afterEvents` nil), or after that many more events are written to the client.
    case cut(LiveAction.CutKind, afterEvents: Int?)
    /// Write nothing more (comment-only frames still pass with `heartbeats`); the socket stays open.
    case stall(heartbeats: Bool)
    /// Let a stalled stream go on: what was held is written in order.
    case resume
    /// One whole event (its bytes, ending with a blank line), written between frames.
    case inject([UInt8])
    /// The stream takes this fault list from now on.
    case faults([FaultSpec])
}

extension LiveCommand {
    /// The bytes of one event: `event:` (if given), a `data:` line per line of `data`, `id:` (if given), a blank line.
    /// `type` and `id` must not contain line breaks (the control API checks).
    public static func eventBytes(type: String?, data: String, id: String?) -> [UInt8] {
        var text = type.map { "event: \($0)\n" } ?? ""
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) {
            text += "data: \(line.hasSuffix("\r") ? line.dropLast() : line)\n"
        }
        if let id { text += "id: \(id)\n" }
        return Array((text + "\n").utf8)
    }
}
