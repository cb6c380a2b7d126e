/// One value of a profile, as a fault's decoder reads it. `Profiles` implements this over its
/// YAML nodes, so a fault decodes its own settings without Faults knowing YAML; every error is a
/// `Failure` that the implementation locates (`file:line: field: message`).
public protocol SettingsValue {
    associatedtype Map: SettingsMap where Map.Value == Self
    associatedtype Failure: Error

    /// How the value reads in an error message: `'abc'`, `a list`, `nothing`.
    var found: String { get }
    var isNull: Bool { get }
    /// An error located at this value.
    func error(_ message: String) -> Failure

    /// A mapping (null reads as an empty one). `what` names it in errors.
    func map(_ what: String) throws(Failure) -> Map
    /// A list (null reads as an empty one).
    func list(_ what: String) throws(Failure) -> [Self]
    func string(_ what: String) throws(Failure) -> String
    func int(in range: ClosedRange<Int>) throws(Failure) -> Int
    /// A finite number for which `ok` holds; `what` describes the expected value.
    func double(_ what: String, _ ok: (Double) -> Bool) throws(Failure) -> Double
    func bool() throws(Failure) -> Bool
    /// `true` only: for flags whose absence is the other choice.
    func trueFlag() throws(Failure)
    /// A duration with a unit, in nanoseconds.
    func duration(allowNegative: Bool) throws(Failure) -> Double
    func nanos() throws(Failure) -> Nanos
}

/// A mapping of settings whose keys the decoder looks up.
public protocol SettingsMap {
    associatedtype Value: SettingsValue where Value.Map == Self

    /// The mapping as a value (for errors about the whole mapping).
    var value: Value { get }
    /// How errors name the mapping, e.g. `corrupt (mode truncate)`.
    var what: String { get set }
    /// Keys in document order.
    var keys: [String] { get }
    subscript(_ key: String) -> Value? { get }

    /// Fails on the first key not in `allowed`.
    func check(allowed: [String]) throws(Value.Failure)
    /// The value of `key`, or an error saying it is missing.
    func required(_ key: String) throws(Value.Failure) -> Value
    /// Exactly one of `options` must be present.
    func exactlyOne(of options: [String]) throws(Value.Failure) -> (key: String, value: Value)
}
