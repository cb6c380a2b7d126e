/// A problem in a profile file, located by file, line and field.
public struct ProfileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based; 0 when unknown.
    public var line: Int
    /// Dotted path to the field, e.g. `faults[1].delay.jitter.sigma`.
    public var field: String
    /// What was expected and what was found.
    public var message: String

    public init(file: String, line: Int, field: String, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    /// `file:line: field: message`
    public var description: String { "\(file):\(line): \(field): \(message)" }
}

/// Every problem found while loading a directory of profiles.
public struct ProfileLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    public var errors: [ProfileError]
    public init(errors: [ProfileError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
