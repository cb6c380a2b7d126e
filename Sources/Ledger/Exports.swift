// Digest64 lives in SSE (the client model digests an event too large to hold as its bytes pass); every
// user of the ledger sees it, and the SSE types the ledger's API speaks, with `import Ledger` alone.
@_exported import SSE
