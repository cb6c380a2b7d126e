/// One field line. `name` keeps the case it arrived with; `value` has surrounding whitespace removed.
public struct HTTPField: Sendable, Equatable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// The fields of a header (or trailer) section, in order, duplicates kept.
/// Lookups compare names ASCII case-insensitively.
public struct HTTPHeaders: Sendable, Equatable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public var fields: [HTTPField]

    public init() { fields = [] }

    public init(_ fields: [HTTPField]) { self.fields = fields }

    /// `["Host": "a", "Accept": "text/event-stream"]`; repeated names are allowed and kept in order.
    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { HTTPField(name: $0.0, value: $0.1) }
    }

    public func makeIterator() -> IndexingIterator<[HTTPField]> { fields.makeIterator() }

    public var count: Int { fields.count }

    /// The value of the first field named `name`, or nil.
    public func first(_ name: String) -> String? {
        for field in fields where ASCII.equalsIgnoringCase(field.name, name) { return field.value }
        return nil
    }

    /// The values of every field named `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.lazy.filter { ASCII.equalsIgnoringCase($0.name, name) }.map(\.value)
    }

    public func contains(_ name: String) -> Bool {
        fields.contains { ASCII.equalsIgnoringCase($0.name, name) }
    }

    /// Whether any field named `name`, read as a comma-separated list, has an element equal to `token`
    /// (case-insensitive). `Connection: keep-alive, Upgrade` contains the token "upgrade".
    public func containsToken(_ name: String, _ token: String) -> Bool {
        for field in fields where ASCII.equalsIgnoringCase(field.name, name) {
            var found = false
            ASCII.forEachListElement(field.value) { element in
                if !found && ASCII.equalsIgnoringCase(element.utf8, token) { found = true }
            }
            if found { return true }
        }
        return false
    }

    /// Appends a field (after any existing fields of the same name).
    public mutating func add(_ name: String, _ value: String) {
        fields.append(HTTPField(name: name, value: value))
    }

    /// Removes every field named `name`.
    public mutating func remove(_ name: String) {
        fields.removeAll { ASCII.equalsIgnoringCase($0.name, name) }
    }

    /// Makes `name: value` the only field of that name: the first existing one is overwritten in
    /// place (keeping its position, taking the new name's case), the others are removed; appended if none.
    public mutating func set(_ name: String, _ value: String) {
        guard let index = fields.firstIndex(where: { ASCII.equalsIgnoringCase($0.name, name) }) else {
            add(name, value)
            return
        }
        fields[index] = HTTPField(name: name, value: value)
        var i = fields.index(after: index)
        while i < fields.endIndex {
            if ASCII.equalsIgnoringCase(fields[i].name, name) { fields.remove(at: i) } else { i += 1 }
        }
    }

    /// Same as `set(_:_:)`.
    public mutating func replace(_ name: String, _ value: String) { set(name, value) }

    /// Fields that are only meaningful on one connection (RFC 9110 7.6.1), removed by `removeHopByHop()`.
    /// Transfer-Encoding is hop-by-hop in the RFC but is deliberately kept: the proxy relays framing as is.
    public static let hopByHopNames = [
        "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Upgrade", "Proxy-Authenticate", "Proxy-Authorization",
    ]

    /// Removes `Connection`, every field named in a `Connection` value, and `hopByHopNames`.
    /// Keeps `Transfer-Encoding` and `Content-Length` even when `Connection` names them, because the
    /// proxy relays body framing byte-exact.
    public mutating func removeHopByHop() {
        var named: [Substring] = []
        for field in fields where ASCII.equalsIgnoringCase(field.name, "Connection") {
            ASCII.forEachListElement(field.value) { element in
                if !element.isEmpty { named.append(element) }
            }
        }
        fields.removeAll { field in
            if ASCII.equalsIgnoringCase(field.name, "Transfer-Encoding")
                || ASCII.equalsIgnoringCase(field.name, "Content-Length") {
                return false
            }
            if HTTPHeaders.hopByHopNames.contains(where: { ASCII.equalsIgnoringCase(field.name, $0) }) { return true }
            return named.contains { ASCII.equalsIgnoringCase($0.utf8, field.name) }
        }
    }
}
