import Faults
import HTTP1
import Ledger
import Testing

@testable import Session

let ms: Nanos = 1_000_000

/// Addresses are plain strings here: the machine never looks inside them.
typealias Machine = SessionMachine
typealias Act = Action

let testConfig = SessionConfig(headTimeout: 30_000 * ms, keepAliveTimeout: 75_000 * ms, connectTimeout: 10_000 * ms,
                               highWater: 1000, lowWater: 100, recordLedger: true)

/// The kind of an action, without its payload: for order assertions.
enum Kind: Equatable {
    case write, readHead, resolve, bufferBody, select, connect, startBody, readUpstream, readClient, pumpShaper, finishShaper
    case arm(TimerName), cancel(TimerName), pause(Side), resume(Side)
    case closeUpstream, closeClient, record, count, log, endExchange
    case live, becomeShaped
}

extension Action {
    var kind: Kind {
        switch self {
        case .write: .write
        case .readHead: .readHead
        case .resolve: .resolve
        case .bufferBody: .bufferBody
        case .select: .select
        case .connect: .connect
        case .startBody: .startBody
        case .readUpstream: .readUpstream
        case .readClient: .readClient
        case .pumpShaper: .pumpShaper
        case .finishShaper: .finishShaper
        case .arm(let n, _): .arm(n)
        case .cancel(let n): .cancel(n)
        case .pause(let s): .pause(s)
        case .resume(let s): .resume(s)
        case .closeUpstream: .closeUpstream
        case .closeClient: .closeClient
        case .record: .record
        case .count: .count
        case .log: .log
        case .endExchange: .endExchange
        case .live: .live
        case .becomeShaped: .becomeShaped
        }
    }
}

extension Array where Element == Act {
    /// The kinds in order, without log lines, ledger entries and metrics.
    var steps: [Kind] { map(\.kind).filter { $0 != .log && $0 != .record && $0 != .count } }
    var written: String {
        String(decoding: flatMap { if case .write(let b) = $0 { return b } else { return [] } }, as: UTF8.self)
    }
    var writes: [[UInt8]] { compactMap { if case .write(let b) = $0 { return b } else { return nil } } }
    func armed(_ name: TimerName) -> Nanos? {
        for a in self { if case .arm(name, let after) = a { return after } }
        return nil
    }
    var closed: (kind: Session.CloseKind, reason: String)? {
        for a in self { if case .closeClient(let k, let r) = a { return (k, r) } }
        return nil
    }
    var ended: ExchangeEnd? {
        for a in self { if case .endExchange(let e) = a { return e } }
        return nil
    }
    var ledger: [LedgerEntry] { compactMap { if case .record(let e) = $0 { return e } else { return nil } } }
    var metrics: [Metric] { compactMap { if case .count(let m) = $0 { return m } else { return nil } } }
    var connect: (address: String?, lastEventID: HeaderEdit)? {
        for a in self { if case .connect(let ad, let e) = a { return (ad.value as? String, e) } }
        return nil
    }
    var body: (framing: BodyFraming, mode: BodyMode)? {
        for a in self { if case .startBody(let f, let m) = a { return (f, m) } }
        return nil
    }
}

extension BodyMode {
    var name: String {
        switch self {
        case .plain: "plain"
        case .observed: "observed"
        case .dechunk: "dechunk"
        case .shaped(_, let chunked): chunked ? "shaped(chunked)" : "shaped"
        }
    }
}

func requestHead(_ method: String = "GET", _ target: String = "/s", version: HTTPVersion = .http11,
                 _ fields: [(String, String)] = []) -> RequestHead {
    var headers = HTTPHeaders()
    headers.add("Host", "proxy")
    for (n, v) in fields { headers.add(n, v) }
    return RequestHead(method: method, target: target, version: version, headers: headers)
}

func request(_ method: String = "GET", version: HTTPVersion = .http11, _ fields: [(String, String)] = [],
             framing: BodyFraming = .none) -> Request {
    Request(head: requestHead(method, version: version, fields), framing: framing,
            upstreamHost: "origin", upstreamPort: 5000, upstreamLabel: "http://origin:5000")
}

func responseHead(_ status: Int = 200, _ fields: [(String, String)] = []) -> ResponseHead {
    var headers = HTTPHeaders()
    for (n, v) in fields { headers.add(n, v) }
    return ResponseHead(version: .http11, status: status, reason: HTTPStatus.reasonPhrase(status), headers: headers)
}

let eventStream = [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")]

func faultPlan(_ faults: [FaultSpec]) -> FaultPlan? {
    faults.isEmpty ? nil : FaultPlan(faults: faults, context: ConnectionContext(clientKey: "c", seed: 1))
}

/// One session with a mock clock: feeds inputs, answers `.select` and `.resolve` as told.
struct Harness {
    var machine = Machine(config: testConfig)
    var now: Nanos = 0
    var log: [Act] = []

    init(config: SessionConfig = testConfig) {
        machine = Machine(config: config)
        log = machine.start
    }

    @discardableResult
    mutating func send(_ input: Input) -> [Act] {
        let acts = machine.handle(input, now: now)
        log += acts
        return acts
    }

    var state: String { machine.stateName }

    /// Request head → resolved → selected (with these faults); returns every action on the way.
    @discardableResult
    mutating func begin(_ req: Request = request(), faults: [FaultSpec] = [], profile: String = "p") -> [Act] {
        var acts = send(.requestHead(req))
        acts += send(.resolved(.success(UpstreamAddress("10.0.0.1:5000"))))
        acts += send(.selected(Selected(profile: profile, faultPlan: faultPlan(faults))))
        return acts
    }

    /// `begin`, connected, and the response head in.
    @discardableResult
    mutating func respond(faults: [FaultSpec] = [], _ head: ResponseHead) -> [Act] {
        respond(request(), faults: faults, head)
    }

    @discardableResult
    mutating func respond(_ req: Request, faults: [FaultSpec] = [], _ head: ResponseHead) -> [Act] {
        var acts = begin(req, faults: faults)
        acts += send(.connected)
        acts += send(.upstreamHead(head))
        return acts
    }
}
