import EventLoop
import Faults
import HTTP1
import Ledger
import Logging
import Session

/// One client connection on the loop: the driver of a `SessionMachine`. It parses heads, moves the
/// bytes (evbuffer to evbuffer), and performs the machine's actions: writes, connects, timers (one per
/// kind of wait), pauses, closes, ledger, metrics and logs. Every decision is the machine's.
final class ClientSession: ConnectionDelegate {
    typealias Machine = SessionMachine

    unowned let server: ProxyServer
    let id: UInt64
    let client: Connection
    private var machine: Machine
    private var exchange: Exchange?
    private var upstream: Connection?
    private var timers: [Timer?] = Array(repeating: nil, count: TimerName.allCases.count)
    private var headScanOffset = 0
    /// The client was closed (the machine's last action).
    private var over = false
    /// Live actions waiting for the stream's shaper (a passthrough stream switches at a frame boundary).
    private var pendingLive: [(LiveCommand, LiveAction)] = []
    /// The action being run (the machine's `.live` actions carry only the command).
    private var liveAction: LiveAction?
    private var wantShaped = false
    /// The response body goes to the client chunked (a passthrough stream relays the upstream's framing).
    private var responseChunked = false
    /// This exchange's entry in the live registry (an event stream), while it is open.
    private var liveTarget: LiveTarget?

    var config: ProxyConfig { server.config }
    var logger: Logger { server.logger }

    init(server: ProxyServer, id: UInt64, client: Connection) {
        self.server = server
        self.id = id
        self.client = client
        let config = server.config
        machine = Machine(config: SessionConfig(
            headTimeout: config.headTimeout, keepAliveTimeout: config.keepAliveTimeout, connectTimeout: config.connectTimeout,
            highWater: config.highWater, lowWater: config.lowWater, recordLedger: config.recordLedger,
            responseHeadTimeout: config.responseHeadTimeout, requestBodyTimeout: config.requestBodyTimeout,
            streamIdleTimeout: config.streamIdleTimeout))
        client.delegate = self
        client.setReadHighWatermark(config.highWater)
        client.setWriteLowWatermark(config.lowWater)
        perform(machine.start)
    }

    /// Bytes this session holds in its buffers (both directions, both sockets).
    var bufferedBytes: Int {
        guard !machine.isClosed else { return 0 }
        return client.output.count + client.input.count + (upstream.map { $0.input.count + $0.output.count } ?? 0)
    }

    /// Every byte this session holds for its exchange: `bufferedBytes`, plus the response's parser, fault
    /// engine and ledger share (`Exchange.heldBytes`). The README's per-stream bound is a bound on this.
    var heldBytes: Int {
        guard !machine.isClosed else { return 0 }
        return bufferedBytes + (exchange?.heldBytes ?? 0)
    }

    /// Whether the connection is between requests (nothing in flight).
    var isIdle: Bool { machine.isAwaitingHead && client.input.isEmpty }
    /// Whether the current response is a long-lived stream (event-stream or close-delimited).
    var isStreaming: Bool { machine.isStreaming }

    // MARK: - The machine

    private func run(_ input: Input) {
        let actions = machine.handle(input, now: monotonicNanos())
        if !actions.isEmpty { perform(actions) }
    }

    private func perform(_ actions: [Action]) {
        for action in actions {
            // A nested input (a read an action ran) may have ended the session: nothing more to do.
            guard !over else { return }
            switch action {
            case .write(let bytes): client.write(bytes)
            case .readHead: if !client.input.isEmpty { readHead() }
            case .resolve(let host, let port): resolve(host: host, port: port)
            case .bufferBody(let limit): bufferBody(limit: limit)
            case .select: select()
            case .connect(let address, let lastEventID):
                guard let address = address.value as? SocketAddress else {
                    finish(reason: "internal error: upstream address \(address) is not a socket address", end: .upstreamError("internal error"))
                    continue
                }
                connectUpstream(address, lastEventID)
            case .startBody(let framing, let mode): startBody(framing, mode)
            case .readUpstream: upstreamReadable()
            case .readClient: clientReadable()
            case .pumpShaper(let fired): pumpShaper(timerFired: fired)
            case .finishShaper: exchange?.shaper?.finishUpstream(now: monotonicNanos())
            case .arm(let name, let delay): timer(name).arm(after: delay)
            case .cancel(let name): timers[name.rawValue]?.cancel()
            case .pause(.client): client.disableReading()
            case .pause(.upstream): upstream?.disableReading()
            case .resume(.client): client.enableReading()
            case .resume(.upstream): upstream?.enableReading()
            case .closeUpstream:
                upstream?.close(.fin)
                upstream = nil
            case .closeClient(let kind, let reason): close(kind, reason: reason)
            case .record(let entry): record(entry)
            case .count(let metric): count(metric)
            case .log(let entry): log(entry)
            case .endExchange(let end): endExchange(end)
            case .live(let command):
                guard let action = liveAction else { continue }
                if let shaper = exchange?.shaper { apply(command, action, to: shaper) } else { pendingLive.append((command, action)) }
            case .becomeShaped:
                wantShaped = true
                switchToShaping()
            }
        }
    }

    private func timer(_ name: TimerName) -> Timer {
        if let timer = timers[name.rawValue] { return timer }
        let timer = server.loop.makeTimer { [unowned self] in self.run(.timerFired(name)) }
        timers[name.rawValue] = timer
        return timer
    }

    // MARK: - Connection events

    func connectionReadable(_ connection: Connection) {
        if connection === client { clientReadable() } else if connection === upstream { upstreamReadable() }
    }

    func connectionDrained(_ connection: Connection) {
        if connection === client { run(.drained(.client)) } else if connection === upstream { run(.drained(.upstream)) }
    }

    func connectionConnected(_ connection: Connection) {
        guard connection === upstream else { return }
        run(.connected)
        relayRequestBody()
        upstreamReadable()
    }

    func connectionEnded(_ connection: Connection, _ end: Connection.End) {
        let peerEnd: PeerEnd
        switch end {
        case .eof: peerEnd = .eof
        case .timeout: peerEnd = .timeout
        case .tls(let reason): peerEnd = .tls(reason)
        case .error(let code): peerEnd = .error(code, "\(end)")
        }
        if connection === client {
            logger.debug("client ended", metadata: ["conn": "\(id)", "end": "\(end)"])
            run(.ended(.client, peerEnd))
        } else if connection === upstream {
            upstream = nil
            run(.ended(.upstream, peerEnd))
        }
    }

    // MARK: - Client side

    private func clientReadable() {
        if machine.isAwaitingHead { readHead() } else if machine.isAwaitingBody { bufferBody(limit: nil) } else { relayRequestBody() }
    }

    private func readHead() {
        let input = client.input
        guard !input.isEmpty else { return }
        if headScanOffset == 0 { run(.headBytes) }
        // Parse only once a blank line has arrived (or the limit is passed): parsing the growing
        // prefix on every read would be quadratic for a head that trickles in.
        let window = input.contiguous(min(input.count, config.limits.maxHeaderBytes + config.limits.maxRequestLineBytes + 4))
        let end = Self.findBlankLine(window, from: max(0, headScanOffset - 3))
        headScanOffset = window.count
        let overLimit = window.count > config.limits.maxHeaderBytes + config.limits.maxRequestLineBytes
        guard end != nil || overLimit || !Self.firstLineFits(window, limit: config.limits.maxRequestLineBytes) else { return }
        let parsed: HeadParseResult<RequestHead>
        do {
            parsed = try HeadParser.parseRequest(window, limits: config.limits)
        } catch {
            return run(.invalidHead(ErrorReply(status: error.status, kind: "bad-request", message: error.reason)))
        }
        guard case .complete(let head, let length) = parsed else {
            if overLimit {
                run(.invalidHead(ErrorReply(status: 431, kind: "bad-request", message: "request head larger than \(config.limits.maxHeaderBytes) bytes")))
            }
            return
        }
        input.drain(length)
        headScanOffset = 0
        startExchange(head)
    }

    /// Index just past the first empty line ("\n\n" or "\n\r\n") at or after `from`.
    static func findBlankLine(_ bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        var i = from
        while i < bytes.count {
            if bytes[i] == 0x0A {
                if i + 1 < bytes.count, bytes[i + 1] == 0x0A { return i + 2 }
                if i + 2 < bytes.count, bytes[i + 1] == 0x0D, bytes[i + 2] == 0x0A { return i + 3 }
            }
            i += 1
        }
        return nil
    }

    /// False when the request line is already longer than the limit (so the parser can say 414 now).
    static func firstLineFits(_ bytes: UnsafeRawBufferPointer, limit: Int) -> Bool {
        let n = min(bytes.count, limit + 1)
        for i in 0..<n where bytes[i] == 0x0A { return true }
        return bytes.count <= limit
    }

    private func startExchange(_ head: RequestHead) {
        let requestFraming: BodyFraming
        do {
            requestFraming = try head.bodyFraming()
        } catch {
            return run(.requestRejected(ErrorReply(status: error.status, kind: "bad-request", message: error.reason), headOnly: false))
        }
        let plan: ExchangePlan
        do {
            plan = try ExchangePlan(request: head, client: client.peer, config: config)
        } catch let error as ErrorResponse {
            return run(.requestRejected(error, headOnly: head.method == "HEAD"))
        } catch {
            return run(.requestRejected(ErrorReply(status: 400, kind: "bad-request", message: "\(error)"), headOnly: false))
        }
        let exchange = Exchange(request: head, plan: plan, requestFraming: requestFraming, limits: config.limits)
        exchange.metrics = server.metrics
        self.exchange = exchange
        let expectsContinue = head.headers.first("Expect")?.lowercased() == "100-continue"
        let bodyLimit = requestFraming == .none || requestFraming == .contentLength(0) ? nil
            : server.bodyMatchLimit(controls: plan.controls, method: head.method, path: plan.path, expectsContinue: expectsContinue)
        run(.requestHead(Request(head: head, framing: requestFraming, upstreamHost: plan.upstreamHost,
                                 upstreamPort: plan.upstreamPort, upstreamLabel: plan.upstreamLabel, bodyMatchLimit: bodyLimit)))
    }

    private func resolve(host: String, port: Int) {
        // `done` may come now or later on the loop thread; a session closed meanwhile ignores it.
        server.resolve(host: host, port: port) { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(let address): self.run(.resolved(.success(UpstreamAddress(address))))
            case .failure(.failed(let reason)): self.run(.resolved(.failure(.failed(reason))))
            case .failure(.timedOut(let ms)): self.run(.resolved(.failure(.timedOut(ms))))
            case .failure(.forbidden(let address)): self.run(.resolved(.failure(.forbidden(address))))
            }
        }
    }

    /// Reads the request body for body matchers (`limit` starts the read); it stays in the client's input.
    private func bufferBody(limit: Int?) {
        guard let exchange else { return }
        if let limit, exchange.bodyPeek == nil {
            exchange.bodyPeek = BodyPeek(framing: exchange.requestFraming, limits: config.limits, limit: limit)
        }
        guard var peek = exchange.bodyPeek else { return }
        do {
            try peek.scan(client.input)
        } catch {
            return run(.requestBodyInvalid(ErrorReply(status: error.status, kind: "bad-request", message: "request body: \(error.reason)")))
        }
        exchange.bodyPeek = peek
        run(.requestBodyBuffered(complete: peek.complete))
    }

    private func select() {
        guard let exchange else { return }
        let head = exchange.request, plan = exchange.plan
        let selection: Selection
        do {
            selection = try server.select(controls: plan.controls, method: head.method, path: plan.path, peerHost: client.peer.host,
                                          traits: RequestTraits(head.headers), body: exchange.bodyPeek?.body)
        } catch {
            return run(.selectionRejected(error))
        }
        exchange.selection = selection
        logger.debug("request", metadata: ["conn": "\(id)", "method": "\(head.method)", "target": "\(head.target)",
                                           "upstream": "\(plan.upstreamLabel)", "profile": "\(selection.profile.name)",
                                           "client": "\(selection.clientKey)", "attempt": "\(selection.attempt)"])
        let faultPlan = selection.faults.isEmpty ? nil : FaultPlan(faults: selection.faults, context: Self.context(exchange, selection))
        run(.selected(Selected(profile: selection.profile.name, faultPlan: faultPlan)))
    }

    static func context(_ exchange: Exchange, _ selection: Selection) -> ConnectionContext {
        ConnectionContext(clientKey: selection.clientKey, attempt: selection.attempt, seed: selection.seed,
                          method: exchange.request.method, path: exchange.plan.path, lastEventID: exchange.request.headers.first("Last-Event-ID"))
    }

    private func connectUpstream(_ address: SocketAddress, _ lastEventID: HeaderEdit) {
        guard let exchange else { return }
        switch lastEventID {
        case .keep: break
        case .remove: exchange.plan.upstreamHead.headers.remove("Last-Event-ID")
        case .set(let value): exchange.plan.upstreamHead.headers.set("Last-Event-ID", value)
        }
        // Faults need frames: ask for an uncompressed body when the profile has any (docs/FAULTS.md).
        if exchange.selection?.faults.isEmpty == false { exchange.plan.upstreamHead.headers.remove("Accept-Encoding") }
        let tls = exchange.plan.upstreamTLS ? server.tlsContext.map { (context: $0, host: exchange.plan.upstreamHost) } : nil
        let upstream = Connection(loop: server.loop, connectingTo: address, timeout: config.connectTimeout, delegate: self, tls: tls)
        upstream.setReadHighWatermark(config.highWater)
        upstream.setWriteLowWatermark(config.lowWater)
        upstream.write(exchange.plan.upstreamHead.serialized())
        self.upstream = upstream
        relayRequestBody()
    }

    /// Moves request-body bytes from the client to the upstream, up to the end of the body.
    private func relayRequestBody() {
        guard let exchange, let upstream, !exchange.requestBody.isDone else { return }
        do {
            _ = try relay(&exchange.requestBody, from: client, to: upstream.output)
        } catch {
            return run(.requestBodyInvalid(ErrorReply(status: error.status, kind: "bad-request", message: "request body: \(error.reason)")))
        }
        run(.requestBodyRelayed(done: exchange.requestBody.isDone, upstreamBacklog: upstream.output.count))
    }

    // MARK: - Upstream side

    private func upstreamReadable() {
        guard let exchange, let upstream else { return }
        switch machine.upstreamReading {
        case .none:
            return
        case .head:
            readResponseHead(upstream)
            guard machine.upstreamReading == .body, self.upstream === upstream else { return }
            relayResponseBody(exchange, upstream)
        case .body:
            relayResponseBody(exchange, upstream)
        }
    }

    private func readResponseHead(_ upstream: Connection) {
        while machine.upstreamReading == .head, self.upstream === upstream, !upstream.input.isEmpty {
            let window = upstream.input.contiguous(min(upstream.input.count, config.limits.maxHeaderBytes + config.limits.maxRequestLineBytes + 4))
            let parsed: HeadParseResult<ResponseHead>
            do {
                parsed = try HeadParser.parseResponse(window, limits: config.limits)
            } catch {
                return run(.upstreamHeadInvalid(error.reason))
            }
            guard case .complete(let head, let length) = parsed else { return }
            upstream.input.drain(length)
            run(.upstreamHead(head, clientBacklog: client.output.count))
        }
    }

    private func startBody(_ framing: BodyFraming, _ mode: BodyMode) {
        guard let exchange else { return }
        exchange.responseBody = BodyTracker(framing, limits: config.limits)
        responseChunked = framing == .chunked
        switch mode {
        case .observed, .shaped: registerLive(exchange)
        case .plain, .dechunk: break
        }
        switch mode {
        case .plain: exchange.body = .plain
        case .dechunk: exchange.body = .dechunk
        case .observed:
            let wholeBlocks = exchange.ledgerID.map { id in !server.ledger.with { $0.recordsOversizedBlocks(id: id) } } ?? false
            exchange.body = .observed(Exchange.Observer(maxFrameBytes: config.maxFrameBytes, holdsWholeBlocks: wholeBlocks))
        case .shaped(let plan, let chunked):
            let shaper = StreamShaper(plan: plan, chunked: chunked, maxFrameBytes: config.maxFrameBytes, highWater: config.highWater)
            shaper.record(into: exchange.ledgerID.map { (server.ledger, $0) }, metrics: server.metrics)
            exchange.body = .shaped(shaper)
        }
    }

    private func relayResponseBody(_ exchange: Exchange, _ upstream: Connection) {
        if case .shaped(let shaper) = exchange.body { return shapeResponseBody(exchange, shaper, upstream) }
        guard !exchange.responseBody.isDone else {
            return run(.responseBodyRelayed(done: true, clientBacklog: client.output.count))
        }
        do {
            switch exchange.body {
            case .dechunk:
                _ = try relayPayload(&exchange.responseBody, from: upstream, to: client.output)
            case .observed:
                let moved = try relay(&exchange.responseBody, from: upstream, to: client.output, sendingDirectlyTo: client,
                                      observingAfter: { exchange.observe($0) }, scratch: &server.relayScratch)
                server.metrics.bytesToClients.increment(by: Int64(moved))
            case .plain, .shaped:
                let moved = try relay(&exchange.responseBody, from: upstream, to: client.output, sendingDirectlyTo: client)
                server.metrics.bytesToClients.increment(by: Int64(moved))
            }
        } catch {
            // The upstream broke its own framing mid-body: the client sees the connection end.
            return run(.responseBodyInvalid(error.reason))
        }
        run(.responseBodyRelayed(done: exchange.responseBody.isDone, clientBacklog: client.output.count))
        if wantShaped, !over { switchToShaping() }
    }

    /// An event stream under faults: payload → frames → plan (the machine then asks for a pump).
    private func shapeResponseBody(_ exchange: Exchange, _ shaper: StreamShaper, _ upstream: Connection) {
        let now = monotonicNanos()
        var consumed = 0
        var failure: HTTPParseError?
        let input = upstream.input
        input.forEachSegment(limit: input.count) { segment in
            guard failure == nil, !exchange.responseBody.isDone else { return }
            do throws(HTTPParseError) {
                consumed += try exchange.responseBody.consume(segment) { shaper.ingest($0, now: now) }
            } catch {
                failure = error
            }
        }
        input.drain(consumed)
        run(.shapedBodyIngested(upstreamDone: failure != nil || exchange.responseBody.isDone))
    }

    private func pumpShaper(timerFired: Bool) {
        guard let shaper = exchange?.shaper else { return }
        if timerFired { shaper.timerFired(now: monotonicNanos()) }
        let next = shaper.pump(into: client, now: monotonicNanos())
        shaper.recordPending()
        run(.shaperPumped(next, backlog: shaper.queuedBytes + client.output.count, delivered: shaper.bytesDelivered))
    }

    // MARK: - Live actions (the control API on the open stream)

    /// Performs `command` now, if an event stream is open; the ledger records `action` (who asked, what).
    /// Returns false when there is no open stream.
    @discardableResult
    func live(_ command: LiveCommand, action: LiveAction) -> Bool {
        guard let exchange, machine.hasLiveStream else { return false }
        exchange.shaper?.recordPending()
        if let ledgerID = exchange.ledgerID {
            let record = FaultRecord(frameIndex: nil, fault: "control", effect: .controlled(action), at: monotonicNanos())
            server.ledger.with { $0.fault(id: ledgerID, record: record) }
        }
        logger.info("live action", metadata: ["conn": "\(id)", "client": "\(exchange.selection?.clientKey ?? "")", "action": "\(action)"])
        let delivered = exchange.shaper?.bytesDelivered ?? Int(clamping: exchange.responseBody.payloadBytes)
        liveAction = action
        defer { liveAction = nil }
        run(.live(command, delivered: delivered))
        return true
    }

    private func apply(_ command: LiveCommand, _ action: LiveAction, to shaper: StreamShaper) {
        switch command {
        case .cut(let kind, let after): shaper.liveCut(kind, afterEvents: after ?? 0, action: action)
        case .stall(let heartbeats): shaper.liveStall(heartbeats: heartbeats)
        case .resume: shaper.liveResume()
        case .inject(let bytes): shaper.inject(bytes, now: monotonicNanos())
        case .faults(let specs):
            guard let exchange, let selection = exchange.selection else { return }
            shaper.replacePlan(FaultPlan(faults: specs, context: Self.context(exchange, selection)))
        }
    }

    /// A passthrough event stream goes through a shaper from here, if its bytes so far end on a frame (and
    /// chunk) boundary; else after a later read that does.
    private func switchToShaping() {
        guard wantShaped, let exchange, case .observed(let observer) = exchange.body, let selection = exchange.selection,
              observer.parser.unfinishedTail.isEmpty, exchange.responseBody.isAtFramingBoundary else { return }
        wantShaped = false
        let plan = FaultPlan(faults: [], context: Self.context(exchange, selection))
        var parser = observer.parser
        parser.raiseLimit(to: config.maxFrameBytes)  // faults act on whole blocks up to --max-event-bytes
        let shaper = StreamShaper(plan: plan, chunked: responseChunked, maxFrameBytes: config.maxFrameBytes, highWater: config.highWater,
                                  parser: parser)
        shaper.record(into: exchange.ledgerID.map { (server.ledger, $0) }, metrics: server.metrics)
        exchange.body = .shaped(shaper)
        let held = pendingLive
        pendingLive = []
        for (command, action) in held { apply(command, action, to: shaper) }
        run(.becameShaped)
    }

    private func registerLive(_ exchange: Exchange) {
        guard liveTarget == nil, let selection = exchange.selection else { return }
        let target = LiveTarget(clientKey: selection.clientKey, connection: exchange.ledgerID ?? id, server: ObjectIdentifier(server),
                                loop: server.loop.handle, session: self)
        liveTarget = target
        server.shared.live.add(target)
    }

    private func unregisterLive() {
        pendingLive = []
        wantShaped = false
        guard let target = liveTarget else { return }
        liveTarget = nil
        server.shared.live.remove(target)
    }

    // MARK: - Ledger, metrics, logs

    private func record(_ entry: LedgerEntry) {
        guard let exchange else { return }
        if case .open(let at) = entry {
            // Starts the exchange's ledger record (event streams only: an `Accept: text/event-stream`
            // request, a `text/event-stream` response, or a fault's own answer).
            guard config.recordLedger, exchange.ledgerID == nil, let selection = exchange.selection else { return }
            let id = server.ledger.makeID()
            exchange.ledgerID = id
            exchange.ledger = server.ledger
            exchange.wallMs = wallClockMillis()
            let lastEventID = exchange.request.headers.first("Last-Event-ID")
            server.ledger.with {
                $0.connectionOpened(id: id, clientKey: selection.clientKey, attempt: selection.attempt, at: at,
                                    wallMs: exchange.wallMs, method: exchange.request.method, path: exchange.plan.path,
                                    lastEventIDSent: lastEventID, profile: selection.profile.name, seed: selection.seed,
                                    contract: selection.contract, terminator: selection.terminator)
            }
            return
        }
        guard let id = exchange.ledgerID else { return }
        server.ledger.with { ledger in
            switch entry {
            case .open: break
            case .responseStarted(let status, let contentType, let synthetic, let at):
                ledger.responseStarted(id: id, status: status, contentType: contentType, synthetic: synthetic, at: at)
            case .delivered(let bytes, let at): ledger.delivered(id: id, bytes: bytes, at: at)
            case .fault(let r): ledger.fault(id: id, record: r)
            }
        }
    }

    private func count(_ metric: Metric) {
        switch metric {
        case .exchangeStarted(let profile): server.metrics.exchangeStarted(profile: profile)
        case .upstreamError(let kind): server.metrics.upstreamError(kind)
        case .faultFired(let fault): server.metrics.faultFired(fault)
        }
    }

    private func log(_ entry: LogEntry) {
        var metadata: Logger.Metadata = ["conn": "\(id)"]
        for (key, value) in entry.metadata { metadata[key] = "\(value)" }
        switch entry.level {
        case .debug: logger.debug("\(entry.message)", metadata: metadata)
        case .info: logger.info("\(entry.message)", metadata: metadata)
        case .warning: logger.warning("\(entry.message)", metadata: metadata)
        }
    }

    private func endExchange(_ e: ExchangeEnd) {
        guard let exchange else { return }
        self.exchange = nil
        unregisterLive()
        server.metrics.exchangeEnded(profile: e.profile)
        if exchange.totalOversizedBlocks > 0 {
            logger.warning("oversized SSE blocks passed through unparsed", metadata: [
                "conn": "\(id)", "blocks": "\(exchange.totalOversizedBlocks)", "limit": "\(config.maxFrameBytes)"])
        }
        if e.announce, let selection = exchange.selection {
            logger.info("stream ended", metadata: [
                "conn": "\(id)", "client": "\(selection.clientKey)", "attempt": "\(selection.attempt)",
                "profile": "\(selection.profile.name)", "seed": "\(selection.seed)", "end": "\(e.end.name)",
                "status": "\(e.status ?? 0)",
            ])
        }
        guard let id = exchange.ledgerID else { return }
        exchange.shaper?.recordPending()
        server.ledger.connectionClosed(id: id, end: e.end, at: e.at, reset: e.clientReset)
    }

    // MARK: - Ends

    private func close(_ kind: Session.CloseKind, reason: String) {
        over = true
        unregisterLive()
        for timer in timers { timer?.cancel() }
        upstream?.close(.fin)
        upstream = nil
        exchange = nil
        switch kind {
        case .fin: client.close(.fin)
        case .rst: client.close(.rst)
        case .rstNow: client.close(.rstNow)
        case .halfClose: client.close(.halfClose)
        }
        server.sessionClosed(self, reason: reason, requests: machine.requests)
    }

    /// Ends the session; `end` is what the ledger records for the exchange in flight.
    func finish(reason: String, clientClose: Session.CloseKind = .fin, end: ConnectionEnd = .clientClose) {
        run(.stop(reason: reason, close: clientClose, end: end))
    }

    /// SIGINT/SIGTERM: idle connections close now, streams end, plain exchanges may finish.
    func beginShutdown() {
        run(.shutdown)
    }
}
