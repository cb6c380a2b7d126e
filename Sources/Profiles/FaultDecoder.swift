import Faults
import SSE

/// The keys every fault takes besides its own.
let commonFaultKeys = ["select", "probability"]

/// `faults: [...]` → specs. Each entry's first error is added to `errors` and the entry
/// skipped, so one bad fault does not hide the next.
func decodeFaults(_ value: YAMLValue, _ registry: FaultRegistry, errors: inout [ProfileError]) -> [FaultSpec] {
    let items: [YAMLValue]
    do {
        items = try value.list("faults")
    } catch {
        errors.append(error)
        return []
    }
    var specs: [FaultSpec] = []
    for item in items {
        do {
            specs.append(try decodeFault(item, registry))
        } catch {
            errors.append(error)
        }
    }
    return specs
}

/// One entry: `{ NAME: { settings…, select: {…}, probability: p } }`, or a bare `NAME` for
/// faults without required settings. The fault's own type (found in `registry`) reads its settings.
func decodeFault(_ item: YAMLValue, _ registry: FaultRegistry) throws(ProfileError) -> FaultSpec {
    let names = registry.names.joined(separator: ", ")
    let name: String
    let settings: YAMLValue
    switch item.node {
    case .scalar:
        name = try item.string("a fault name")
        settings = YAMLValue(node: .scalar(.init("", .implicit, .plain, item.node.mark)), path: "\(item.path).\(name)", file: item.file)
    case .mapping:
        let m = try item.map("a fault")
        guard m.entries.count == 1, let entry = m.entries.first else {
            throw item.error("expected one fault per list entry (one of: \(names)), found \(m.entries.count) keys: \(m.keys.joined(separator: ", "))")
        }
        name = entry.key
        settings = entry.value
    default:
        throw item.error("expected a fault such as '{ drop: { probability: 0.1 } }', found \(item.found)")
    }
    guard let type = registry.named(name) else {
        throw item.error("unknown fault '\(name)'; expected one of: \(names)", field: settings.path)
    }
    let m = try settings.map(name)
    try m.check(allowed: type.keys.map(\.name) + commonFaultKeys)
    var spec = FaultSpec(try decodeSettings(type, m))
    if let p = m["probability"] {
        spec.probability = try p.double("a probability from 0 to 1") { (0...1).contains($0) }
    }
    if let s = m["select"] { spec.selector = try decodeSelector(s) }
    try spec.fault.settings.check(selector: spec.selector, in: m)
    return spec
}

private func decodeSettings<F: FaultSettings>(_ type: F.Type, _ m: YAMLMap) throws(ProfileError) -> Fault {
    Fault(try F.decode(m))
}

let selectKeys = ["kinds", "types", "id", "id_range", "frame_index", "event_index"]

func decodeSelector(_ value: YAMLValue) throws(ProfileError) -> FaultSelector {
    let m = try value.map("select")
    try m.check(allowed: selectKeys)
    var s = FaultSelector()
    if let k = m["kinds"] {
        var kinds: Set<SSEFrame.Kind> = []
        for v in try stringList(k, "frame kinds") {
            guard let kind = SSEFrame.Kind(profileName: try v.string()) else {
                throw v.error("expected one of: event, fields, comment, blank; found \(v.found)")
            }
            kinds.insert(kind)
        }
        s.kinds = kinds
    }
    if let t = m["types"] {
        var types: [String] = []
        for v in try stringList(t, "event types") { types.append(try v.string("an event type")) }
        s.eventTypes = types
    }
    if let id = m["id"] { s.id = Glob(try id.string("an id pattern such as 'order-*'")) }
    if let r = m["id_range"] { s.idRange = try decodeRange(r, "id_range", min: Int.min) }
    if let r = m["frame_index"] { s.frameIndex = try decodeRange(r, "frame_index", min: 0) }
    if let r = m["event_index"] { s.eventIndex = try decodeRange(r, "event_index", min: 0) }
    return s
}

/// A list, or a single scalar standing for a list of one.
func stringList(_ value: YAMLValue, _ what: String) throws(ProfileError) -> [YAMLValue] {
    if case .scalar = value.node, !value.isNull { return [value] }
    return try value.list(what)
}

/// `{ from: a, to: b }`, both inclusive, either optional.
func decodeRange(_ value: YAMLValue, _ what: String, min: Int) throws(ProfileError) -> IntRange {
    let m = try value.map(what)
    try m.check(allowed: ["from", "to"])
    guard !m.entries.isEmpty else { throw value.error("expected 'from', 'to' or both in \(what), found nothing") }
    let from = try m["from"]?.int(in: min...Int.max)
    let to = try m["to"]?.int(in: min...Int.max)
    if let from, let to, to < from, let t = m["to"] {
        throw t.error("expected 'to' ≥ 'from' (\(from)), found \(to)")
    }
    return IntRange(from: from, to: to)
}
