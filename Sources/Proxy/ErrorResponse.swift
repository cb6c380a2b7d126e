import Session

/// A response Sputter makes itself (errors, refusals): the session machine's `ErrorReply`.
typealias ErrorResponse = ErrorReply
