/// An HTTP version as it appears on a start line (`HTTP/1.1`). Only 1.0 and 1.1 are ever parsed.
public struct HTTPVersion: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http10 = HTTPVersion(major: 1, minor: 0)
    public static let http11 = HTTPVersion(major: 1, minor: 1)

    /// `HTTP/<major>.<minor>`
    public var description: String { "HTTP/\(major).\(minor)" }
}
