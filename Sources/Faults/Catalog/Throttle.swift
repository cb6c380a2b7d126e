/// A slow link: cap the byte rate, or drip the stream in small slices with a pause between.
/// Works on bytes, not frames, so it runs after every frame fault; slices of 1 byte split
/// UTF-8 sequences and CR LF pairs as they come.
public struct ThrottleFault: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        /// At most `n` bytes per second, written in slices of a tenth of a second's worth.
        case bytesPerSecond(Int)
        /// Slices of `bytes`, each `pause` after the previous one.
        case drip(bytes: Int, pause: Nanos)
    }
    public var mode: Mode
    public init(_ mode: Mode) { self.mode = mode }
}

struct ThrottleStage: FaultStage {
    static var phase: StagePhase { .bytes }
    let settings: ThrottleFault
    /// The earliest time the next slice may go.
    var nextFree: Nanos = 0

    init(_ settings: ThrottleFault) { self.settings = settings }

    mutating func onMatch(_ chunk: Chunk, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        let sliceSize: Int
        switch settings.mode {
        case .bytesPerSecond(let rate): sliceSize = Swift.max(1, rate / 10)
        case .drip(let bytes, _): sliceSize = Swift.max(1, bytes)
        }
        var offset = 0
        var slices = 0
        while offset < chunk.bytes.count {
            let end = Swift.min(chunk.bytes.count, offset + sliceSize)
            var slice = chunk
            slice.bytes = Array(chunk.bytes[offset..<end])
            slice.frame = nil
            slice.notBefore = Swift.max(chunk.notBefore, nextFree)
            switch settings.mode {
            case .bytesPerSecond(let rate):
                nextFree = slice.notBefore + UInt64(end - offset) * 1_000_000_000 / UInt64(Swift.max(1, rate))
            case .drip(_, let pause):
                nextFree = slice.notBefore + pause
            }
            out.append(.chunk(slice))
            offset = end
            slices += 1
        }
        if slices > 1 {
            switch settings.mode {
            case .bytesPerSecond(let rate): ctx.record(chunk.frameIndex, .throttled(bytesPerSecond: rate, writes: slices))
            case .drip(let bytes, let pause):
                ctx.record(chunk.frameIndex, .dripped(slices: slices, bytes: bytes, pause: pause))
            }
        }
    }

    mutating func onOther(_ item: StreamItem, _ ctx: inout StageContext, into out: inout [StreamItem]) {
        // Injected bytes are slow too.
        if case .chunk(let c) = item { return onMatch(c, &ctx, into: &out) }
        out.append(item)
    }
}

extension ThrottleFault: FaultSettings {
    public static let name = "throttle"
    public static let summary = "Cap the byte rate, or drip slices with a pause."
    public static let guide = """
        Works on bytes, so it always runs after every frame fault. Exactly one of `bytes_per_second`
        or `slice_bytes` with `pause` (the drip). With `slice_bytes: 1` writes split UTF-8 sequences
        and CR LF pairs.
        """
    public static let keys = [
        SettingKey("bytes_per_second", Schema.integer(min: 1), "at most N bytes per second, in slices of N/10 bytes"),
        SettingKey("slice_bytes", Schema.integer(min: 1), "write slices of N bytes (needs `pause`)"),
        SettingKey("pause", Schema.duration, "with `slice_bytes`: the wait between slices"),
    ]
    public static let schemaRules = [
        JSONMember(
            "oneOf",
            [["required": ["bytes_per_second"], "not": ["required": ["pause"]]], ["required": ["slice_bytes", "pause"]]])
    ]
    public static let examples = ["throttle: { slice_bytes: 1, pause: 20ms }", "throttle: { bytes_per_second: 2048 }"]
    public static let defaultKinds: Set<FrameKind> = FrameKind.allKinds
    public static let probabilityScope = ProbabilityScope.perFrame

    public static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> ThrottleFault {
        let (key, v) = try m.exactlyOne(of: ["bytes_per_second", "slice_bytes"])
        if key == "bytes_per_second" {
            if let p = m["pause"] { throw p.error("pause goes with slice_bytes, not bytes_per_second") }
            return ThrottleFault(.bytesPerSecond(try v.int(in: 1...Int.max)))
        }
        return ThrottleFault(.drip(bytes: try v.int(in: 1...Int.max), pause: try m.required("pause").nanos()))
    }

    public func makeStage() -> AnyFaultStage { AnyFaultStage(ThrottleStage(self)) }
}

extension Fault {
    public static func throttle(_ f: ThrottleFault) -> Fault { Fault(f) }
}
