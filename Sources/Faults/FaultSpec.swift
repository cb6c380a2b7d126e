import SSE

/// One fault as a profile names it: what it does, which frames it targets and how often.
public struct FaultSpec: Sendable, Equatable {
    public var fault: Fault
    public var selector: FaultSelector
    /// 0…1. Drawn per matching frame or per connection (see `Fault.probabilityScope`).
    public var probability: Double

    public init(_ fault: Fault, selector: FaultSelector = .all, probability: Double = 1) {
        self.fault = fault
        self.selector = selector
        self.probability = probability
    }

    /// The fault's name in profiles and records, e.g. `"drop"`.
    public var name: String { fault.name }
}

/// A fault's settings type and everything known about the fault: its name, documentation,
/// keys, decoding, default frame kinds, probability scope and stage. One type per file in
/// `Catalog/`, listed once in `FaultRegistry.standard`.
public protocol FaultSettings: Sendable, Equatable {
    /// The name in profiles and records, e.g. `"drop"`.
    static var name: String { get }
    /// One line: what the fault imitates (the schema's description, the docs' heading).
    static var summary: String { get }
    /// Markdown for docs/FAULTS.md, after the heading and before the key table.
    static var guide: String { get }
    /// The fault's own keys (`select` and `probability` are common to all).
    static var keys: [SettingKey] { get }
    /// Extra JSON Schema members of the settings object, e.g. `Schema.exactlyOne([...])`.
    static var schemaRules: [JSONMember] { get }
    /// Profile entries shown in the docs (each one decodes: a test checks).
    static var examples: [String] { get }
    /// The frame kinds the fault targets when its selector names none.
    static var defaultKinds: Set<SSEFrame.Kind> { get }
    static var probabilityScope: ProbabilityScope { get }

    /// Reads the settings from the fault's mapping (its keys were checked against `keys`).
    static func decode<M: SettingsMap>(_ m: M) throws(M.Value.Failure) -> Self
    /// The JSON Schema of the settings object; `common` are the `select` and `probability`
    /// properties. The default builds it from `keys` and `schemaRules`.
    static func settingsSchema(common: [JSONMember]) -> JSONValue

    /// These settings' default kinds (they may depend on a setting, as `drop`'s do).
    var defaultKinds: Set<SSEFrame.Kind> { get }
    /// Checks the settings against the selector decoded beside them.
    func check<M: SettingsMap>(selector: FaultSelector, in m: M) throws(M.Value.Failure)
    /// The fault at work on one connection.
    func makeStage() -> AnyFaultStage
}

/// One key of a fault's settings: its schema and its documentation.
public struct SettingKey: Sendable, Equatable {
    public var name: String
    /// The JSON Schema of its value (without description).
    public var schema: JSONValue
    /// What it means, one or two sentences of Markdown (the docs' table, the schema's description).
    public var doc: String
    public var required: Bool

    public init(_ name: String, _ schema: JSONValue, _ doc: String, required: Bool = false) {
        self.name = name
        self.schema = schema
        self.doc = doc
        self.required = required
    }
}

/// A stage behind a public face: only Faults (and its tests) make one.
public struct AnyFaultStage: Sendable {
    let stage: any FaultStage
    init(_ stage: some FaultStage) { self.stage = stage }
}

extension FaultSettings {
    public static var schemaRules: [JSONMember] { [] }
    public var defaultKinds: Set<SSEFrame.Kind> { Self.defaultKinds }
    public func check<M: SettingsMap>(selector: FaultSelector, in m: M) throws(M.Value.Failure) {}

    /// Whether a bare name (`- refuse`) or an empty value is a complete entry.
    public static var bareNameAllowed: Bool { schemaRules.isEmpty && !keys.contains(where: \.required) }

    public static func settingsSchema(common: [JSONMember]) -> JSONValue {
        let own = keys.map { JSONMember($0.name, $0.schema.merging([JSONMember("description", .string($0.doc))])) }
        var members: [JSONMember] = [
            JSONMember("type", "object"), JSONMember("description", .string(summary)),
            JSONMember("properties", .object(own + common)), JSONMember("additionalProperties", false),
        ]
        let required = keys.filter(\.required).map(\.name)
        if !required.isEmpty { members.append(JSONMember("required", .array(required.map { .string($0) }))) }
        members += schemaRules
        return .object(members)
    }

    func isEqual(to other: any FaultSettings) -> Bool { (other as? Self) == self }
}

/// A fault of a profile: any registered settings value.
public struct Fault: Sendable, Equatable, CustomStringConvertible {
    public let settings: any FaultSettings
    /// The fault's name, e.g. `"drop"`. It and the scope are read for every frame: kept here
    /// rather than asked of the settings' type each time.
    public let name: String
    public let probabilityScope: ProbabilityScope

    public init(_ settings: some FaultSettings) {
        self.settings = settings
        self.name = type(of: settings).name
        self.probabilityScope = type(of: settings).probabilityScope
    }

    /// The frame kinds the fault targets when its selector names none.
    public var defaultKinds: Set<SSEFrame.Kind> { settings.defaultKinds }
    /// Every name of the standard registry, in catalog order.
    public static var names: [String] { FaultRegistry.standard.names }

    public var description: String { "\(name)(\(settings))" }

    func makeStage() -> any FaultStage { settings.makeStage().stage }

    public static func == (a: Fault, b: Fault) -> Bool { a.settings.isEqual(to: b.settings) }
}

/// The catalog: every fault the profiles may name, in order. Adding a fault is one file in
/// `Catalog/` and one entry in `standard` (then regenerate `Profiles/profile.schema.json` and
/// the catalog of docs/FAULTS.md: `sputter profiles schema`, `sputter profiles catalog --update`).
/// Decoding, the schema and the docs take a registry, so a test can add a fault of its own.
public struct FaultRegistry: Sendable {
    /// Settings types in catalog order; names are unique.
    public let faults: [any FaultSettings.Type]

    /// - Precondition: no two faults share a name.
    public init(_ faults: [any FaultSettings.Type]) {
        precondition(Set(faults.map { $0.name }).count == faults.count, "two faults share a name")
        self.faults = faults
    }

    public static let standard = FaultRegistry([
        DelayFault.self, BufferFault.self, ThrottleFault.self, DropFault.self, DuplicateFault.self, ReorderFault.self,
        CorruptFault.self, StripIDsFault.self, RewriteIDsFault.self, RetryFault.self, LastEventIDFault.self,
        DisconnectFault.self, StallFault.self, RespondFault.self, RefuseFault.self, ContentTypeFault.self,
        EndFault.self, InjectFault.self,
    ])

    public var names: [String] { faults.map { $0.name } }

    public func named(_ name: String) -> (any FaultSettings.Type)? { faults.first { $0.name == name } }

    /// This registry with `fault` added at the end.
    public func adding(_ fault: any FaultSettings.Type) -> FaultRegistry { FaultRegistry(faults + [fault]) }
}

/// `SSEFrame.Kind`, for catalog files that need nothing else of SSE.
public typealias FrameKind = SSEFrame.Kind
