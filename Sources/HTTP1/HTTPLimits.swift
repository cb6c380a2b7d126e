/// Bounds on what the parsers buffer before they give up, so memory stays bounded per connection.
public struct HTTPLimits: Sendable, Equatable {
    /// Longest request line, without its line terminator. Longer: 414.
    public var maxRequestLineBytes: Int
    /// Largest header section: everything after the start line up to and including the empty line
    /// (and, for chunked trailers, the trailer section). Larger: 431.
    public var maxHeaderBytes: Int
    /// Most field lines in a header (or trailer) section. More: 431.
    public var maxHeaderCount: Int
    /// Longest chunk-size line (size and extensions), without its line terminator. Longer: 400.
    public var maxChunkLineBytes: Int

    public init(
        maxRequestLineBytes: Int = 8 * 1024,
        maxHeaderBytes: Int = 64 * 1024,
        maxHeaderCount: Int = 100,
        maxChunkLineBytes: Int = 4 * 1024
    ) {
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxChunkLineBytes = maxChunkLineBytes
    }
}
