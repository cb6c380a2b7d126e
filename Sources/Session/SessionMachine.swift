import Faults
import HTTP1
import Ledger

/// The decisions of one client connection, as a pure state machine: every input takes the time and
/// returns the actions the driver performs on the loop, in order. No sockets, no clock, no randomness:
/// the driver (`Proxy.ClientSession`) moves the bytes and reports what happened.
///
/// Requests on one connection are handled one after another (keep-alive; pipelined bytes wait in the
/// client's input until the exchange before them is over).
public struct SessionMachine: Sendable {
    public typealias Act = Action
    typealias Address = UpstreamAddress

    /// One exchange's request side and bookkeeping.
    struct Exchange: Sendable {
        var request: Request
        /// Set once selected: the exchange counts in the metrics and may be recorded.
        var profile: String?
        /// The faults at work (nil: passthrough). Moves into the shaper for a shaped stream.
        var plan: FaultPlan?
        /// The ledger record was asked for.
        var opened = false
        var requestDone: Bool
        /// Reading paused by back-pressure.
        var clientPaused = false
        var upstreamPaused = false

        init(request: Request) {
            self.request = request
            requestDone = request.bodyless
        }
    }

    /// The response on its way to the client.
    struct Response: Sendable {
        /// The status the client sees.
        var status: Int
        /// A long-lived response (event stream or close-delimited body): ends at shutdown.
        var isStream: Bool
        /// A 200 `text/event-stream` response.
        var isEventStream: Bool
        /// Whether the client connection may carry another request after this one.
        var keepClient: Bool
        /// The body ends with the upstream's close.
        var untilClose: Bool
        var shaped: Bool
        /// The upstream body is complete.
        var done = false
        /// Shaped: the upstream connection was closed (its body ended).
        var upstreamClosed = false
    }

    /// A profile's own answer.
    enum Synthetic: Sendable {
        /// Waiting for its delay.
        case delayed(SyntheticResponse)
        /// The head goes out in slices: these bytes are left, then the body.
        case slicing(SyntheticResponse, rest: ArraySlice<UInt8>, slice: Int, pause: Nanos)
        /// Written; the socket stays open until the client leaves.
        case open
    }

    enum State: Sendable {
        /// Between requests; `partial` once bytes of the next head have arrived.
        case awaitingHead(partial: Bool)
        case resolving(Exchange)
        /// The body is read (bounded, timed by `requestBody`) for a profile's body matchers; nothing is sent yet.
        case awaitingBody(Exchange, Address)
        case selecting(Exchange, Address)
        /// A fault delays the connection.
        case connectDelay(Exchange, Address, lastEventID: HeaderEdit)
        case synthetic(Exchange, Synthetic)
        /// The upstream connection is being made.
        case connecting(Exchange)
        /// Connected; the final response head has not arrived.
        case awaitingResponse(Exchange)
        /// A first-byte delay holds the client's head; an upstream end that comes meanwhile waits too.
        case holdingHead(Exchange, Response, head: [UInt8], upstreamEnd: PeerEnd?)
        /// The body goes to the client unchanged.
        case relaying(Exchange, Response)
        /// The body goes through the fault plan.
        case shaping(Exchange, Response)
        case closed
    }

    public let config: SessionConfig
    var state = State.awaitingHead(partial: false)
    /// Set by shutdown: close once the current exchange is over.
    var closeWhenIdle = false
    /// Requests seen (for the closing log line).
    public private(set) var requests = 0
    /// When the upstream's body last moved, and the client's request body (for the idle timers).
    var lastUpstreamActivity: Nanos = 0
    var lastClientActivity: Nanos = 0

    /// The machine starts waiting for a request head: perform `start` first.
    public init(config: SessionConfig) {
        self.config = config
    }

    public var start: [Act] { [.arm(.head, after: config.headTimeout)] }

    // MARK: - Queries for the driver

    /// What the upstream's readable path should do.
    public enum UpstreamReading: Equatable, Sendable {
        case none, head, body
    }

    public var upstreamReading: UpstreamReading {
        switch state {
        case .awaitingResponse(let ex): return ex.upstreamPaused ? .none : .head
        case .relaying, .shaping: return .body
        default: return .none
        }
    }

    public var isAwaitingHead: Bool { if case .awaitingHead = state { return true } else { return false } }
    /// Reading a request body for body matchers (before selection).
    public var isAwaitingBody: Bool { if case .awaitingBody = state { return true } else { return false } }
    public var isClosed: Bool { if case .closed = state { return true } else { return false } }

    /// Whether the control API's live actions apply now: an event stream on its way to the client.
    public var hasLiveStream: Bool {
        switch state {
        case .relaying(_, let r), .shaping(_, let r): return r.isEventStream
        default: return false
        }
    }

    /// Whether the current response is a long-lived stream (event-stream or close-delimited).
    public var isStreaming: Bool {
        switch state {
        case .holdingHead(_, let r, _, _), .relaying(_, let r), .shaping(_, let r): return r.isStream
        default: return false
        }
    }

    /// A short name of the state (tests, logs).
    public var stateName: String {
        switch state {
        case .awaitingHead(let partial): return partial ? "awaitingHead(partial)" : "awaitingHead"
        case .resolving: return "resolving"
        case .awaitingBody: return "awaitingBody"
        case .selecting: return "selecting"
        case .connectDelay: return "connectDelay"
        case .synthetic(_, .delayed): return "synthetic(delayed)"
        case .synthetic(_, .slicing): return "synthetic(slicing)"
        case .synthetic(_, .open): return "synthetic(open)"
        case .connecting: return "connecting"
        case .awaitingResponse: return "awaitingResponse"
        case .holdingHead: return "holdingHead"
        case .relaying: return "relaying"
        case .shaping: return "shaping"
        case .closed: return "closed"
        }
    }

    // MARK: - Inputs

    public mutating func handle(_ input: Input, now: Nanos) -> [Act] {
        var out: [Act] = []
        switch input {
        case .responseBodyRelayed(let done, let backlog):
            lastUpstreamActivity = now
            // The hot path: most reads change nothing, and are let go without touching the state.
            guard done || backlog >= config.highWater, case .relaying(let ex, let resp) = state else { break }
            guard done || !ex.upstreamPaused else { break }
            responseBodyRelayed(ex, resp, done: done, backlog: backlog, now: now, &out)
        case .headBytes:
            if case .awaitingHead(partial: false) = state {
                state = .awaitingHead(partial: true)
                out.append(.arm(.head, after: config.headTimeout))
            }
        case .invalidHead(let reply):
            guard isAwaitingHead else { break }
            replyAndClose(reply, headOnly: false, now: now, &out)
        case .requestHead(let request):
            guard isAwaitingHead else { break }
            requests += 1
            out.append(.cancel(.head))
            state = .resolving(Exchange(request: request))
            out.append(.resolve(host: request.upstreamHost, port: request.upstreamPort))
        case .requestRejected(let reply, let headOnly):
            guard isAwaitingHead else { break }
            requests += 1
            out.append(.cancel(.head))
            replyAndClose(reply, headOnly: headOnly, now: now, &out)
        case .resolved(let result):
            guard case .resolving(let ex) = state else { break }
            resolved(ex, result, now: now, &out)
        case .selected(let selected):
            guard case .selecting(let ex, let address) = state else { break }
            start(ex, address, selected, now: now, &out)
        case .selectionRejected(let reply):
            guard case .selecting(let ex, _) = state else { break }
            replyAndClose(reply, headOnly: ex.request.method == "HEAD", now: now, &out)
        case .requestBodyRelayed(let done, let backlog):
            requestBodyRelayed(done: done, backlog: backlog, now: now, &out)
        case .requestBodyInvalid(let reply):
            replyAndClose(reply, headOnly: false, now: now, &out)
        case .requestBodyBuffered(let complete):
            guard case .awaitingBody(let ex, let address) = state else { break }
            lastClientActivity = now
            guard complete else { break }
            // Selection next; `connect` arms the body timer again for what is left to relay.
            state = .selecting(ex, address)
            out.append(.cancel(.requestBody))
            out.append(.select)
        case .connected:
            guard case .connecting(let ex) = state else { break }
            state = .awaitingResponse(ex)
            out.append(.log(LogEntry(level: .debug, message: "upstream connected", metadata: ["upstream": ex.request.upstreamLabel])))
            if ex.requestDone, let timeout = config.responseHeadTimeout { out.append(.arm(.responseHead, after: timeout)) }
        case .upstreamHead(let head, let clientBacklog):
            guard case .awaitingResponse(let ex) = state else { break }
            upstreamHead(ex, head, clientBacklog: clientBacklog, now: now, &out)
        case .upstreamHeadInvalid(let reason):
            guard case .awaitingResponse(let ex) = state else { break }
            failUpstream(502, "upstream-bad-response", "upstream \(ex.request.upstreamLabel) sent an invalid response head (\(reason))", now: now, &out)
        case .responseBodyInvalid(let reason):
            guard case .relaying = state else { break }
            out.append(.log(LogEntry(level: .info, message: "upstream framing error", metadata: ["error": reason])))
            finish("upstream framing error: \(reason)", .fin, .upstreamError("invalid framing: \(reason)"), now: now, &out)
        case .shapedBodyIngested(let upstreamDone):
            guard case .shaping(let ex, var resp) = state else { break }
            lastUpstreamActivity = now
            if upstreamDone, !resp.upstreamClosed {
                resp.done = true
                resp.upstreamClosed = true
                state = .shaping(ex, resp)
                out.append(.finishShaper)
                out.append(.closeUpstream)
            }
            out.append(.pumpShaper(timerFired: false))
        case .shaperPumped(let next, let backlog, let delivered):
            guard case .shaping(let ex, let resp) = state else { break }
            shaperPumped(ex, resp, next, backlog: backlog, delivered: delivered, now: now, &out)
        case .drained(let side):
            drained(side, &out)
        case .ended(.client, let end):
            finish(end == .eof ? "client closed" : "client \(end)", .fin, .clientClose, now: now, &out)
        case .ended(.upstream, let end):
            upstreamEnded(end, now: now, &out)
        case .timerFired(let name):
            timerFired(name, now: now, &out)
        case .shutdown:
            closeWhenIdle = true
            if case .awaitingHead(partial: false) = state {
                finish("shutdown", .fin, .shutdown, now: now, &out)
            } else if isStreaming {
                finish("shutdown", .fin, .shutdown, now: now, &out)
            }
        case .stop(let reason, let kind, let end):
            finish(reason, kind, end, now: now, &out)
        case .live(let command, let delivered):
            live(command, delivered: delivered, now: now, &out)
        case .becameShaped:
            becameShaped(&out)
        }
        return out
    }

    // MARK: - Request side

    private mutating func resolved(_ ex: Exchange, _ result: Result<Address, ResolveError>, now: Nanos, _ out: inout [Act]) {
        let label = ex.request.upstreamLabel
        switch result {
        case .success(let address):
            if let limit = ex.request.bodyMatchLimit, !ex.request.bodyless {
                // A profile selects by body: read it first (the client's input keeps it for the upstream).
                state = .awaitingBody(ex, address)
                lastClientActivity = now
                if let timeout = config.requestBodyTimeout { out.append(.arm(.requestBody, after: timeout)) }
                out.append(.bufferBody(limit: limit))
            } else {
                state = .selecting(ex, address)
                out.append(.select)
            }
        case .failure(.failed(let reason)):
            replyAndClose(ErrorReply(status: 502, kind: "upstream-unresolvable", message: "upstream \(label) could not be resolved (\(reason))"),
                          headOnly: false, now: now, &out)
        case .failure(.timedOut(let ms)):
            replyAndClose(ErrorReply(status: 504, kind: "upstream-unresolvable", message: "upstream \(label) could not be resolved within \(ms) ms"),
                          headOnly: false, now: now, &out)
        case .failure(.forbidden(let address)):
            replyAndClose(ErrorReply(status: 403, kind: "host-not-allowed",
                                     message: "upstream \(label) resolved to \(address), which forward-proxy requests may not reach (see --allow-host)"),
                          headOnly: false, now: now, &out)
        }
    }

    /// The exchange starts: the fault plan's request decision (refuse, answer, or relay after a delay).
    private mutating func start(_ exchange: Exchange, _ address: Address, _ selected: Selected, now: Nanos, _ out: inout [Act]) {
        var ex = exchange
        ex.profile = selected.profile
        ex.plan = selected.faultPlan
        out.append(.count(.exchangeStarted(profile: selected.profile)))
        let decision = ex.plan?.request(now: now) ?? .relay(connectDelay: 0, lastEventID: .keep)
        if ex.request.acceptsEventStream { open(&ex, now: now, &out) }
        // A fault's own answer (refuse, 503, 204…) counts as an attempt: record it even when the
        // request did not say it wanted an event stream, so the ledger's attempts match the profile's.
        switch decision {
        case .refuse, .respond: open(&ex, now: now, &out)
        case .relay: break
        }
        recordFaults(&ex, &out)
        switch decision {
        case .refuse:
            state = .synthetic(ex, .open)
            finish("refused by profile \(selected.profile)", .rstNow, .refused, now: now, &out)
        case .respond(let response, let delay):
            state = .synthetic(ex, .delayed(response))
            if delay > 0 {
                out.append(.arm(.syntheticDelay, after: delay))
            } else {
                writeSynthetic(ex, response, now: now, &out)
            }
        case .relay(let connectDelay, let lastEventID):
            if connectDelay > 0 {
                state = .connectDelay(ex, address, lastEventID: lastEventID)
                out.append(.arm(.connectDelay, after: connectDelay))
            } else {
                connect(ex, address, lastEventID, now: now, &out)
            }
        }
    }

    private mutating func connect(_ ex: Exchange, _ address: Address, _ lastEventID: HeaderEdit, now: Nanos, _ out: inout [Act]) {
        state = .connecting(ex)
        if !ex.requestDone, let timeout = config.requestBodyTimeout {
            lastClientActivity = now
            out.append(.arm(.requestBody, after: timeout))
        }
        // Last: the driver relays the request body at once, which may end the exchange.
        out.append(.connect(address, lastEventID: lastEventID))
    }

    /// A profile answers instead of the upstream (503 with Retry-After, 204, an empty stream…).
    private mutating func writeSynthetic(_ ex: Exchange, _ response: SyntheticResponse, now: Nanos, _ out: inout [Act]) {
        var headers = HTTPHeaders()
        for field in response.headers { headers.add(field.name, field.value) }
        let head = ResponseHead(version: .http11, status: response.status, reason: response.reason, headers: headers).serialized()
        let contentType = response.headers.first { $0.name.lowercased() == "content-type" }?.value
        out.append(.record(.responseStarted(status: response.status, contentType: contentType, synthetic: true, at: now)))
        if response.status == 200 { out.append(.record(.delivered(syntheticBody(ex, response), at: now))) }
        guard let slice = response.headSlice, slice.bytes > 0 else {
            out.append(.write(head))
            return endSynthetic(ex, response, now: now, &out)
        }
        writeSlices(ex, response, head[...], slice: slice.bytes, pause: slice.pause, now: now, &out)
    }

    private func syntheticBody(_ ex: Exchange, _ response: SyntheticResponse) -> [UInt8] {
        ex.request.method == "HEAD" ? [] : response.body
    }

    private mutating func writeSlices(_ ex: Exchange, _ response: SyntheticResponse, _ bytes: ArraySlice<UInt8>, slice: Int, pause: Nanos,
                                      now: Nanos, _ out: inout [Act]) {
        out.append(.write(Array(bytes.prefix(slice))))
        let rest = bytes.dropFirst(slice)
        if rest.isEmpty { return endSynthetic(ex, response, now: now, &out) }
        state = .synthetic(ex, .slicing(response, rest: rest, slice: slice, pause: pause))
        out.append(.arm(.headSlice, after: max(pause, 1)))
    }

    private mutating func endSynthetic(_ ex: Exchange, _ response: SyntheticResponse, now: Nanos, _ out: inout [Act]) {
        let body = syntheticBody(ex, response)
        out.append(.write(body))
        state = .synthetic(ex, .open)
        if let kind = response.after {
            finish("profile answered \(response.status)", CloseKind(kind), .fault(kind: kind, atByte: body.count), now: now, &out)
        }
        // nil: the socket stays open until the client leaves.
    }

    private mutating func requestBodyRelayed(done: Bool, backlog: Int, now: Nanos, _ out: inout [Act]) {
        var finished = false
        var headWait = false
        let highWater = config.highWater
        lastClientActivity = now
        if done, case .awaitingResponse(let ex) = state, !ex.requestDone { headWait = true }
        update { ex, resp in
            if backlog >= highWater, !ex.clientPaused {
                ex.clientPaused = true
                out.append(.pause(.client))
            }
            if done {
                ex.requestDone = true
                finished = resp?.done == true
            }
        }
        if headWait, let timeout = config.responseHeadTimeout { out.append(.arm(.responseHead, after: timeout)) }
        if finished, case .relaying(let ex, let resp) = state { maybeFinishExchange(ex, resp, now: now, &out) }
    }

    /// Changes the exchange (and response) of the current state in place, if it has an upstream.
    private mutating func update(_ body: (inout Exchange, inout Response?) -> Void) {
        var none: Response? = nil
        switch state {
        case .connecting(var ex):
            body(&ex, &none)
            state = .connecting(ex)
        case .awaitingResponse(var ex):
            body(&ex, &none)
            state = .awaitingResponse(ex)
        case .holdingHead(var ex, let resp, let head, let end):
            var r: Response? = resp
            body(&ex, &r)
            state = .holdingHead(ex, r!, head: head, upstreamEnd: end)
        case .relaying(var ex, let resp):
            var r: Response? = resp
            body(&ex, &r)
            state = .relaying(ex, r!)
        case .shaping(var ex, let resp):
            var r: Response? = resp
            body(&ex, &r)
            state = .shaping(ex, r!)
        default:
            break
        }
    }

    // MARK: - Response side

    private mutating func upstreamHead(_ exchange: Exchange, _ upstreamHead: ResponseHead, clientBacklog: Int, now: Nanos, _ out: inout [Act]) {
        var ex = exchange
        var head = upstreamHead
        if head.status >= 100, head.status < 200 {
            // Interim responses (100 Continue, 103 Early Hints) go to the client as they are, under the
            // same back-pressure as bodies: endless 103s to a client that reads nothing stop at the watermark.
            if head.status != 101 {
                head.headers.removeHopByHop()
                let bytes = head.serialized()
                out.append(.write(bytes))
                if clientBacklog + bytes.count >= config.highWater, !ex.upstreamPaused {
                    ex.upstreamPaused = true
                    state = .awaitingResponse(ex)
                    out.append(.pause(.upstream))
                }
            }
            return
        }
        out.append(.cancel(.responseHead))
        let framing: BodyFraming
        do {
            framing = try head.bodyFraming(requestMethod: ex.request.method)
        } catch {
            return failUpstream(502, "upstream-bad-response", "upstream \(ex.request.upstreamLabel) sent an invalid response (\(error.reason))", now: now, &out)
        }
        let request = ex.request
        var dechunk = request.version == .http10 && framing == .chunked
        var keepClient = request.keepAlive && !closeWhenIdle && framing != .untilClose && !dechunk
        let contentType = head.headers.first("Content-Type")?.lowercased() ?? ""
        let isEventStream = head.status == 200 && contentType.hasPrefix("text/event-stream")
        var out_ = head
        out_.version = .http11
        out_.headers.removeHopByHop()
        var firstByteDelay: Nanos = 0
        var mode = BodyMode.plain
        var notFaulted: FaultRecord?
        if var plan = ex.plan {
            var decision = plan.responseHead(status: head.status, contentType: head.headers.first("Content-Type"), now: now)
            if decision.streamFaults, let encoding = head.headers.first("Content-Encoding"), encoding.lowercased() != "identity" {
                // A compressed stream cannot be parsed into frames: relay it unchanged, and say so (never silently).
                decision.streamFaults = false
                out.append(.log(LogEntry(level: .warning, message: "event stream not faulted: compressed upstream response",
                                         metadata: ["content-encoding": encoding, "upstream": ex.request.upstreamLabel])))
                notFaulted = FaultRecord(frameIndex: nil, fault: "sputter", effect: .encodedNotFaulted(contentEncoding: encoding), at: now)
            }
            firstByteDelay = decision.firstByteDelay
            switch decision.contentType {
            case .keep: break
            case .remove: out_.headers.remove("Content-Type")
            case .set(let value): out_.headers.set("Content-Type", value)
            }
            if decision.streamFaults, framing != .none {
                // The body will be rewritten: re-chunk it for HTTP/1.1 clients, else end it with the connection.
                let chunked = request.version == .http11
                out_.headers.remove("Content-Length")
                out_.headers.remove("Transfer-Encoding")
                if chunked { out_.headers.add("Transfer-Encoding", "chunked") }
                mode = .shaped(plan, chunked: chunked)
                keepClient = false
                dechunk = false
                ex.plan = nil
            } else {
                ex.plan = plan
            }
        }
        var shaped = false
        if case .shaped = mode { shaped = true }
        if !shaped {
            if dechunk {
                mode = .dechunk
            } else if isEventStream, framing != .none {
                mode = .observed
            }
        }
        if dechunk { out_.headers.remove("Transfer-Encoding") }
        out_.headers.add("Via", "1.1 sputter")
        if !keepClient {
            out_.headers.add("Connection", "close")
        } else if request.version == .http10 {
            out_.headers.add("Connection", "keep-alive")
        }
        let response = Response(status: out_.status, isStream: contentType.hasPrefix("text/event-stream") || framing == .untilClose,
                                isEventStream: isEventStream, keepClient: keepClient, untilClose: framing == .untilClose, shaped: shaped)
        if isEventStream { open(&ex, now: now, &out) }
        out.append(.record(.responseStarted(status: out_.status, contentType: out_.headers.first("Content-Type"), synthetic: false, at: now)))
        out.append(.startBody(framing, mode))
        recordFaults(&ex, &out)
        if let notFaulted { out.append(.record(.fault(notFaulted))) }
        out.append(.log(LogEntry(level: .debug, message: "response",
                                 metadata: ["status": "\(head.status)", "framing": "\(framing)", "shaped": "\(shaped)"])))
        let headBytes = out_.serialized()
        if firstByteDelay > 0 {
            // Hold the head (and so everything after it); the upstream waits too.
            ex.upstreamPaused = true
            state = .holdingHead(ex, response, head: headBytes, upstreamEnd: nil)
            out.append(.pause(.upstream))
            out.append(.arm(.firstByte, after: firstByteDelay))
            return
        }
        out.append(.write(headBytes))
        state = shaped ? .shaping(ex, response) : .relaying(ex, response)
        watchStream(response, now: now, &out)
    }

    /// A stream starts: arm its idle timer.
    private mutating func watchStream(_ resp: Response, now: Nanos, _ out: inout [Act]) {
        guard resp.isStream, let timeout = config.streamIdleTimeout else { return }
        lastUpstreamActivity = now
        out.append(.arm(.streamIdle, after: timeout))
    }

    private mutating func releaseHead(now: Nanos, _ out: inout [Act]) {
        guard case .holdingHead(var ex, let resp, let head, let end) = state else { return }
        out.append(.write(head))
        ex.upstreamPaused = false
        state = resp.shaped ? .shaping(ex, resp) : .relaying(ex, resp)
        out.append(.resume(.upstream))
        watchStream(resp, now: now, &out)
        out.append(.readUpstream)
        if let end { upstreamEnded(end, now: now, &out) }
    }

    private mutating func responseBodyRelayed(_ exchange: Exchange, _ response: Response, done: Bool, backlog: Int, now: Nanos, _ out: inout [Act]) {
        var ex = exchange
        var resp = response
        if backlog >= config.highWater, !ex.upstreamPaused {
            ex.upstreamPaused = true
            out.append(.pause(.upstream))
        }
        if done { resp.done = true }
        state = .relaying(ex, resp)
        if done { maybeFinishExchange(ex, resp, now: now, &out) }
    }

    private mutating func shaperPumped(_ exchange: Exchange, _ resp: Response, _ next: ShaperNext, backlog: Int, delivered: Int,
                                       now: Nanos, _ out: inout [Act]) {
        var ex = exchange
        switch next {
        case .idle, .blocked:
            break
        case .wake(let at):
            out.append(.arm(.shaperWake, after: at > now ? at - now : 1))
        case .stalled:
            // Keep the socket open and quiet; stop taking from the upstream.
            if !resp.upstreamClosed { out.append(.pause(.upstream)) }
        case .close(let kind, byFault: false):
            return finish("response complete (shaped)", CloseKind(kind), .upstreamEnd, now: now, &out)
        case .close(let kind, byFault: true):
            return finish("profile \(ex.profile ?? "") closed the stream (\(kind))", CloseKind(kind),
                          .fault(kind: kind, atByte: delivered), now: now, &out)
        case .cut(let kind):
            return liveCut(kind, delivered: delivered, now: now, &out)
        }
        // Back-pressure covers the shaper's queue as well as the socket buffer.
        guard !resp.upstreamClosed else { return }
        if backlog >= config.highWater, !ex.upstreamPaused {
            ex.upstreamPaused = true
            out.append(.pause(.upstream))
        } else if backlog < config.lowWater, ex.upstreamPaused {
            ex.upstreamPaused = false
            out.append(.resume(.upstream))
        } else {
            return
        }
        state = .shaping(ex, resp)
    }

    private mutating func drained(_ side: Side, _ out: inout [Act]) {
        switch side {
        case .client:
            switch state {
            case .shaping:
                out.append(.pumpShaper(timerFired: false))
            case .relaying(var ex, let resp) where ex.upstreamPaused:
                // The client caught up: read from the upstream again.
                ex.upstreamPaused = false
                state = .relaying(ex, resp)
                out.append(.resume(.upstream))
                out.append(.readUpstream)
            case .awaitingResponse(var ex) where ex.upstreamPaused:
                // The client took the interim heads: read the next ones.
                ex.upstreamPaused = false
                state = .awaitingResponse(ex)
                out.append(.resume(.upstream))
                out.append(.readUpstream)
            default:
                // A held head stays held: its release is the first-byte timer's alone.
                break
            }
        case .upstream:
            var resumed = false
            update { ex, _ in
                if ex.clientPaused {
                    ex.clientPaused = false
                    resumed = true
                }
            }
            if resumed {
                out.append(.resume(.client))
                out.append(.readClient)
            }
        }
    }

    private mutating func upstreamEnded(_ end: PeerEnd, now: Nanos, _ out: inout [Act]) {
        switch state {
        case .connecting(let ex):
            let label = ex.request.upstreamLabel
            switch end {
            case .timeout:
                failUpstream(504, "upstream-timeout", "upstream \(label) did not accept the connection within \(config.connectTimeout / 1_000_000) ms", now: now, &out)
            case .tls(let reason):
                let hint = reason.contains("certificate") ? " (trust its CA with --upstream-ca FILE, or use --insecure for a self-signed test server)" : ""
                failUpstream(502, "upstream-tls", "upstream \(label): TLS failed: \(reason)\(hint)", now: now, &out)
            default:
                var cause = "could not be reached"
                if case .error(PeerEnd.connectionRefused, _) = end { cause = "refused the connection" }
                failUpstream(502, "upstream-unreachable", "upstream \(label) \(cause) (\(end))", now: now, &out)
            }
        case .awaitingResponse(let ex):
            failUpstream(502, "upstream-closed", "upstream \(ex.request.upstreamLabel) closed the connection without a response (\(end))", now: now, &out)
        case .holdingHead(let ex, let resp, let head, _):
            state = .holdingHead(ex, resp, head: head, upstreamEnd: end)
        case .shaping(let ex, var resp):
            // The stream ended (cleanly or not): what the plan holds is released, then the end.
            if end == .eof || resp.done {
                let first = !resp.upstreamClosed
                resp.upstreamClosed = true
                resp.done = true
                state = .shaping(ex, resp)
                if first { out.append(.finishShaper) }
                out.append(.pumpShaper(timerFired: false))
            } else {
                out.append(.count(.upstreamError(kind: "reset")))
                finish("upstream \(end)", .rst, .upstreamError("\(end)"), now: now, &out)
            }
        case .relaying(let ex, let resp):
            if resp.untilClose, end == .eof {
                // A close-delimited body ends here: the client's connection must end too.
                finish("response complete (close-delimited)", .fin, .upstreamEnd, now: now, &out)
            } else if resp.done {
                maybeFinishExchange(ex, resp, now: now, &out)
            } else if end == .eof {
                out.append(.count(.upstreamError(kind: "closed-mid-body")))
                finish("upstream closed mid-body", .fin, .upstreamError("closed mid-body"), now: now, &out)
            } else {
                out.append(.count(.upstreamError(kind: "reset")))
                // An upstream reset reaches the client as a reset, after what had already arrived.
                finish("upstream \(end)", .rst, .upstreamError("\(end)"), now: now, &out)
            }
        default:
            break
        }
    }

    private mutating func failUpstream(_ status: Int, _ kind: String, _ message: String, now: Nanos, _ out: inout [Act]) {
        out.append(.count(.upstreamError(kind: kind)))
        out.append(.log(LogEntry(level: .info, message: "upstream error", metadata: ["status": "\(status)", "cause": message])))
        if headSent {
            finish(message, .rst, .upstreamError(message), now: now, &out)
        } else {
            replyAndClose(ErrorReply(status: status, kind: kind, message: message), headOnly: exchange?.request.method == "HEAD", now: now, &out)
        }
    }

    // MARK: - Timers

    private mutating func timerFired(_ name: TimerName, now: Nanos, _ out: inout [Act]) {
        switch (name, state) {
        case (.head, .awaitingHead(let partial)):
            if partial {
                replyAndClose(ErrorReply(status: 408, kind: "request-timeout", message: "request head not received within \(config.headTimeout / 1_000_000) ms"),
                              headOnly: false, now: now, &out)
            } else {
                finish("idle", .fin, .clientClose, now: now, &out)
            }
        case (.connectDelay, .connectDelay(let ex, let address, let lastEventID)):
            connect(ex, address, lastEventID, now: now, &out)
        case (.syntheticDelay, .synthetic(let ex, .delayed(let response))):
            writeSynthetic(ex, response, now: now, &out)
        case (.headSlice, .synthetic(let ex, .slicing(let response, let rest, let slice, let pause))):
            writeSlices(ex, response, rest, slice: slice, pause: pause, now: now, &out)
        case (.firstByte, .holdingHead):
            releaseHead(now: now, &out)
        case (.shaperWake, .shaping):
            out.append(.pumpShaper(timerFired: true))
        case (.responseHead, .awaitingResponse(let ex)):
            guard let timeout = config.responseHeadTimeout else { break }
            let ms = timeout / 1_000_000
            failUpstream(504, "upstream-timeout", "upstream \(ex.request.upstreamLabel) sent no response head within \(ms) ms", now: now, &out)
        case (.requestBody, _):
            requestBodyTimer(now: now, &out)
        case (.streamIdle, .relaying(let ex, _)), (.streamIdle, .shaping(let ex, _)):
            streamIdleTimer(ex, now: now, &out)
        default:
            // A timer of a wait that is over: nothing to do.
            break
        }
    }

    private mutating func requestBodyTimer(now: Nanos, _ out: inout [Act]) {
        guard let ex = exchange, !ex.requestDone, let timeout = config.requestBodyTimeout else { return }
        let idle = now &- lastClientActivity
        // A client held back by the upstream's back-pressure is not idle.
        if ex.clientPaused || idle < timeout {
            out.append(.arm(.requestBody, after: ex.clientPaused ? timeout : timeout - idle))
            return
        }
        let message = "request body not received within \(timeout / 1_000_000) ms"
        if headSent {
            finish(message, .fin, .upstreamError(message), now: now, &out)
        } else {
            replyAndClose(ErrorReply(status: 408, kind: "request-timeout", message: message), headOnly: false, now: now, &out)
        }
    }

    private mutating func streamIdleTimer(_ ex: Exchange, now: Nanos, _ out: inout [Act]) {
        guard let timeout = config.streamIdleTimeout else { return }
        let idle = now &- lastUpstreamActivity
        // An upstream held back by a slow client is not silent.
        if ex.upstreamPaused || idle < timeout {
            out.append(.arm(.streamIdle, after: ex.upstreamPaused ? timeout : timeout - idle))
            return
        }
        let message = "upstream \(ex.request.upstreamLabel) silent for \(timeout / 1_000_000) ms"
        out.append(.count(.upstreamError(kind: "stream-idle")))
        out.append(.log(LogEntry(level: .info, message: "stream idle", metadata: ["cause": message])))
        finish("stream idle: \(message)", .fin, .upstreamError(message), now: now, &out)
    }

    // MARK: - Ledger and ends

    /// The exchange in flight, if any.
    private var exchange: Exchange? {
        switch state {
        case .resolving(let ex), .awaitingBody(let ex, _), .selecting(let ex, _), .connectDelay(let ex, _, _), .synthetic(let ex, _), .connecting(let ex),
             .awaitingResponse(let ex), .holdingHead(let ex, _, _, _), .relaying(let ex, _), .shaping(let ex, _):
            return ex
        case .awaitingHead, .closed:
            return nil
        }
    }

    /// Whether the client has been sent (or promised) a response head.
    private var headSent: Bool {
        switch state {
        case .synthetic(_, .slicing), .synthetic(_, .open), .holdingHead, .relaying, .shaping: return true
        default: return false
        }
    }

    /// Starts the exchange's ledger record (event streams and a fault's own answers).
    private func open(_ ex: inout Exchange, now: Nanos, _ out: inout [Act]) {
        guard !ex.opened else { return }
        ex.opened = true
        out.append(.record(.open(at: now)))
    }

    /// The decisions the plan took so far (request and head faults).
    private func recordFaults(_ ex: inout Exchange, _ out: inout [Act]) {
        guard let records = ex.plan?.drainRecords(), !records.isEmpty else { return }
        for r in records { out.append(.count(.faultFired(r.fault))) }
        for r in records { out.append(.record(.fault(r))) }
    }

    private func endExchange(_ end: ConnectionEnd, clientReset: Bool = false, now: Nanos, _ out: inout [Act]) {
        guard let ex = exchange, let profile = ex.profile else { return }
        var status: Int?
        var isEventStream = false
        switch state {
        case .holdingHead(_, let r, _, _), .relaying(_, let r), .shaping(_, let r):
            status = r.status
            isEventStream = r.isEventStream
        default:
            break
        }
        out.append(.endExchange(ExchangeEnd(end: end, profile: profile, status: status,
                                             announce: isEventStream || (ex.opened && config.recordLedger), at: now,
                                             clientReset: clientReset)))
    }

    /// The response is complete: the next request may come (keep-alive), or the connection ends.
    private mutating func maybeFinishExchange(_ ex: Exchange, _ resp: Response, now: Nanos, _ out: inout [Act]) {
        guard resp.done, !resp.shaped else { return }
        endExchange(.upstreamEnd, now: now, &out)
        out.append(.closeUpstream)
        state = .awaitingHead(partial: false)
        guard ex.requestDone, resp.keepClient, !closeWhenIdle else {
            return finish("response complete", .fin, .upstreamEnd, now: now, &out)
        }
        if ex.clientPaused { out.append(.resume(.client)) }
        // The next exchange starts with no wait of this one pending.
        out.append(.cancel(.responseHead))
        out.append(.cancel(.requestBody))
        out.append(.cancel(.streamIdle))
        out.append(.arm(.head, after: config.keepAliveTimeout))
        out.append(.readHead)
    }

    private mutating func replyAndClose(_ reply: ErrorReply, headOnly: Bool, now: Nanos, _ out: inout [Act]) {
        guard !isClosed else { return }
        out.append(.write(reply.serialized(headOnly: headOnly)))
        if let ex = exchange, ex.profile != nil, !headSent {
            out.append(.record(.responseStarted(status: reply.status, contentType: "text/plain; charset=utf-8", synthetic: true, at: now)))
        }
        finish("\(reply.status) \(reply.message)", .fin, .upstreamError("\(reply.status) \(reply.message)"), now: now, &out)
    }

    /// Closes both sides; `end` is what the ledger records for the exchange in flight.
    private mutating func finish(_ reason: String, _ kind: CloseKind, _ end: ConnectionEnd, now: Nanos, _ out: inout [Act]) {
        guard !isClosed else { return }
        endExchange(end, clientReset: kind == .rst || kind == .rstNow, now: now, &out)
        state = .closed
        out.append(.closeUpstream)
        out.append(.closeClient(kind, reason: reason))
    }

    // MARK: - Live actions (the control API on an open stream)

    /// A cut, stall, resume, inject or new fault list from the control API. A cut by RST or FIN "now" ends
    /// the connection at once; everything else goes through the stream's shaper, so it lands between frames:
    /// a passthrough stream is switched to shaping first (at its next frame boundary).
    private mutating func live(_ command: LiveCommand, delivered: Int, now: Nanos, _ out: inout [Act]) {
        guard hasLiveStream, case .relaying(_, let resp) = state, !resp.shaped else {
            if hasLiveStream { liveShaped(command, delivered: delivered, now: now, &out) }
            return
        }
        if case .cut(let kind, nil) = command, kind != .clean { return liveCut(kind, delivered: delivered, now: now, &out) }
        // Held by the driver until the shaper exists; `.becameShaped` then pumps.
        out.append(.live(command))
        out.append(.becomeShaped)
    }

    private mutating func liveShaped(_ command: LiveCommand, delivered: Int, now: Nanos, _ out: inout [Act]) {
        if case .cut(let kind, nil) = command, kind != .clean { return liveCut(kind, delivered: delivered, now: now, &out) }
        out.append(.live(command))
        out.append(.pumpShaper(timerFired: false))
    }

    private mutating func becameShaped(_ out: inout [Act]) {
        guard case .relaying(let ex, var resp) = state, resp.isEventStream else { return }
        resp.shaped = true
        // The stream now ends with its connection (a shaped response is never kept alive).
        resp.keepClient = false
        state = .shaping(ex, resp)
        out.append(.pumpShaper(timerFired: false))
    }

    private mutating func liveCut(_ kind: LiveAction.CutKind, delivered: Int, now: Nanos, _ out: inout [Act]) {
        let close: Faults.CloseKind = kind == .rst ? .rst : .fin
        finish("cut by the control API (\(kind.rawValue))", CloseKind(close), .fault(kind: close, atByte: delivered), now: now, &out)
    }
}
