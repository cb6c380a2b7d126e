/// What a client under test promises to do with a stream, so that the ledger judges it by the right rules
/// (see docs/LEDGER.md). Chosen per request: `Sputter-Contract` / `sputter_contract`, else the profile's
/// `client:`, else `--contract`, else `ClientContract.defaultRule`.
public enum ClientContract: String, Sendable, CaseIterable, Equatable {
    /// A WHATWG `EventSource`: reconnects after the reconnection time with `Last-Event-ID`, never after a
    /// response that makes it fail.
    case eventsource
    /// A resuming client (MCP Streamable HTTP, SDK retry loops): resumes a cut stream with `Last-Event-ID`
    /// on any method, honours `Retry-After`; JSON and 202 answers are not stream attempts.
    case resume
    /// One stream per request (LLM completions): a cut is `truncated`; a new request starts a new stream.
    case once

    /// `eventsource, resume, once`, for messages.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// Parses a contract name (any case); the error names the value and the known contracts.
    public static func parse(_ text: String) throws(ContractError) -> ClientContract {
        guard let c = ClientContract(rawValue: text.lowercased()) else {
            throw ContractError(message: "unknown client contract '\(text)'; expected one of: \(names)")
        }
        return c
    }

    /// The contract of a request that names none (neither the request, the profile nor `--contract`):
    /// a request with an `Mcp-Session-Id` header → `resume`; else `GET` → `eventsource`; else a request
    /// with a `Last-Event-ID` header, or whose `Accept` names both `application/json` and
    /// `text/event-stream` (MCP Streamable HTTP's `initialize`) → `resume`; else (a `POST` …) → `once`.
    public static func defaultRule(method: String, accept: String? = nil, lastEventID: String?, mcpSessionID: String?) -> ClientContract {
        if mcpSessionID != nil { return .resume }
        if method == "GET" || method == "HEAD" { return .eventsource }
        if lastEventID != nil { return .resume }
        if let a = accept?.lowercased(), a.contains("application/json"), a.contains("text/event-stream") { return .resume }
        return .once
    }

    /// Whether a request is a stream attempt under this contract: only stream attempts advance the client's
    /// attempt counter (and so a profile's per-attempt schedule). Decided at request time:
    /// - `eventsource`, `once`: every request.
    /// - `resume`: a request with `Last-Event-ID`, or whose `Accept` names `text/event-stream` and not
    ///   `application/json` (an MCP `GET` stream). A `POST` that accepts JSON may be answered with JSON or a
    ///   202, so it is not counted: it gets the profile's `faults`, never a per-attempt entry.
    public func isStreamAttempt(accept: String?, lastEventID: String?) -> Bool {
        switch self {
        case .eventsource, .once: return true
        case .resume:
            if lastEventID != nil { return true }
            guard let accept = accept?.lowercased() else { return false }
            return accept.contains("text/event-stream") && !accept.contains("application/json")
        }
    }
}

/// A contract name that is not one.
public struct ContractError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// The message that ends a stream cleanly under `once` (an OpenAI-style `data: [DONE]`), written in a
/// profile as one SSE field line: `data: [DONE]` or `event: done`.
public struct StreamTerminator: Sendable, Equatable {
    public enum Field: String, Sendable { case data, event }
    public var field: Field
    public var value: String

    public init(field: Field, value: String) {
        self.field = field
        self.value = value
    }

    /// `data: [DONE]` → (.data, "[DONE]"). One optional space after the colon is removed, as in SSE.
    public init(parsing text: String) throws(ContractError) {
        guard let colon = text.firstIndex(of: ":") else {
            throw ContractError(message: "terminator '\(text)' is not an SSE field line; expected e.g. 'data: [DONE]' or 'event: done'")
        }
        let name = String(text[..<colon])
        var value = text[text.index(after: colon)...]
        if value.first == " " { value = value.dropFirst() }
        guard let field = Field(rawValue: name) else {
            throw ContractError(message: "terminator '\(text)': field '\(name)' is not 'data' or 'event'")
        }
        self.field = field
        self.value = String(value)
    }

    /// Whether a dispatched message (type, data) is this terminator.
    public func matches(type: String, data: String) -> Bool {
        switch field {
        case .data: return data == value
        case .event: return type == value
        }
    }

    /// `data: [DONE]`.
    public var text: String { "\(field.rawValue): \(value)" }
}
