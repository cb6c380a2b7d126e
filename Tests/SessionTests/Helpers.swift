import Faults
import HTTP1
import Ledger
import Testing

@testable import Session

let ms: Nanos = 1_000_000

/// Addresses are plain strings here: the machine never looks inside them.
typealias Machine = SessionMachine<String>
typealias Act = Action<String>

let testConfig = SessionConfig(headTimeout: 30_000 * ms, keepAliveTimeout: 75_000 * ms, connectTimeout: 10_000 * ms,
                               highWater: 1000, lowWater: 100, recordLedger: true)
