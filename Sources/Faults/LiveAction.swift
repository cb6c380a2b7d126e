/// An action the control API took on a client's open stream (`POST /clients/KEY/cut` and the others), as
/// the ledger records it: a `fault` record named `control` whose effect is `.controlled(LiveAction)`.
public struct LiveAction: Sendable, Equatable, CustomStringConvertible {
    public enum Verb: String, Sendable, Equatable, CaseIterable {
        case cut, stall, resume, inject, faults
    }

    /// How a cut ends the response: `clean` writes the chunked terminator, then FIN.
    public enum CutKind: String, Sendable, Equatable, CaseIterable {
        case rst, fin, clean
    }

    public var verb: Verb
    /// The control peer that asked ("127.0.0.1:53122").
    public var peer: String
    /// `cut`: how.
    public var cut: CutKind?
    /// `cut`: after this many more events (nil: now).
    public var afterEvents: Int?
    /// `cut` with `afterEvents`: false when asked, true when it took effect (the record's frame is where).
    public var landed: Bool
    /// `stall`: comment-only frames still pass.
    public var heartbeats: Bool
    /// `inject`: the bytes written.
    public var bytes: Int
    /// `faults`: the names of the new fault list.
    public var faults: [String]

    public init(verb: Verb, peer: String, cut: CutKind? = nil, afterEvents: Int? = nil, landed: Bool = false,
                heartbeats: Bool = false, bytes: Int = 0, faults: [String] = []) {
        self.verb = verb
        self.peer = peer
        self.cut = cut
        self.afterEvents = afterEvents
        self.landed = landed
        self.heartbeats = heartbeats
        self.bytes = bytes
        self.faults = faults
    }

    public var description: String {
        var text: String
        switch verb {
        case .cut:
            text = "cut (\(cut?.rawValue ?? "rst"))"
            if let n = afterEvents { text += landed ? " after \(n) events: done" : " after \(n) more events: armed" }
        case .stall: text = heartbeats ? "stalled (heartbeats pass)" : "stalled"
        case .resume: text = "resumed"
        case .inject: text = "injected \(bytes) bytes"
        case .faults: text = "faults set to [\(faults.joined(separator: ", "))]"
        }
        return text + " by control peer \(peer)"
    }
}
