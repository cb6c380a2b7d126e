import EventLoop
import Faults
import HTTP1
import Ledger
import Logging

/// One client connection: reads request heads, relays each exchange to its upstream, and streams
/// the response back. Requests on one connection are handled one after another (keep-alive;
/// pipelined bytes wait in the input buffer until the exchange before them is over).
final class ClientSession: ConnectionDelegate {
    enum Phase {
        /// Waiting for (the rest of) a request head.
        case awaitingHead
        /// An exchange is in progress.
        case exchanging
        case closed
    }

    unowned let server: ProxyServer
    let id: UInt64
    let client: Connection
    private(set) var phase = Phase.awaitingHead
    private var exchange: Exchange?
    private var upstream: Connection?
    private lazy var idleTimer = server.loop.makeTimer { [unowned self] in self.idleTimeout() }
    /// Fault timing: connect delay, delayed or sliced synthetic responses, first-byte delay, shaped writes.
    private lazy var faultTimer = server.loop.makeTimer { [unowned self] in
        let action = self.onFaultTimer
        self.onFaultTimer = nil
        action?()
    }
    private var onFaultTimer: (() -> Void)?
    private var headScanOffset = 0
    private var requests = 0
    /// Set by shutdown: close once the current exchange is over.
    private var closeWhenIdle = false

    var config: ProxyConfig { server.config }
    var logger: Logger { server.logger }

    init(server: ProxyServer, id: UInt64, client: Connection) {
        self.server = server
        self.id = id
        self.client = client
        client.delegate = self
        client.setReadHighWatermark(server.config.highWater)
        client.setWriteLowWatermark(server.config.lowWater)
        idleTimer.arm(after: config.headTimeout)
    }

    /// Bytes this session holds in its buffers (both directions, both sockets).
    var bufferedBytes: Int {
        guard phase != .closed else { return 0 }
        return client.output.count + client.input.count + (upstream.map { $0.input.count + $0.output.count } ?? 0)
    }

    /// Whether the connection is between requests (nothing in flight).
    var isIdle: Bool { phase == .awaitingHead && client.input.isEmpty }
    /// Whether the current response is a long-lived stream (event-stream or close-delimited).
    var isStreaming: Bool { exchange?.isStream ?? false }

    // MARK: - Client side

    func connectionReadable(_ connection: Connection) {
        if connection === client { clientReadable() } else { upstreamReadable() }
    }

    func connectionDrained(_ connection: Connection) {
        guard let exchange else { return }
        if connection === client {
            if exchange.shaper != nil { pumpShaper(exchange) }
            // The client caught up: read from the upstream again.
            if exchange.upstreamPaused, let upstream, exchange.heldHead == nil {
                exchange.upstreamPaused = false
                upstream.enableReading()
                upstreamReadable()
            }
        } else if exchange.clientPaused {
            exchange.clientPaused = false
            client.enableReading()
            clientReadable()
        }
    }

    func connectionConnected(_ connection: Connection) {
        guard let exchange, connection === upstream else { return }
        exchange.connected = true
        logger.debug("upstream connected", metadata: ["conn": "\(id)", "upstream": "\(exchange.plan.upstreamLabel)"])
        relayRequestBody()
        upstreamReadable()
    }

    func connectionEnded(_ connection: Connection, _ end: Connection.End) {
        if connection === client {
            logger.debug("client ended", metadata: ["conn": "\(id)", "end": "\(end)"])
            finish(reason: end == .eof ? "client closed" : "client \(end)", end: .clientClose)
        } else {
            upstreamEnded(end)
        }
    }

    private func clientReadable() {
        switch phase {
        case .closed:
            return
        case .exchanging:
            relayRequestBody()
        case .awaitingHead:
            readHead()
        }
    }

    private func readHead() {
        let input = client.input
        guard !input.isEmpty else { return }
        if headScanOffset == 0 { idleTimer.arm(after: config.headTimeout) }
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
            respondAndClose(ErrorResponse(status: error.status, kind: "bad-request", message: error.reason))
            return
        }
        guard case .complete(let head, let length) = parsed else {
            if overLimit {
                respondAndClose(ErrorResponse(status: 431, kind: "bad-request", message: "request head larger than \(config.limits.maxHeaderBytes) bytes"))
            }
            return
        }
        input.drain(length)
        headScanOffset = 0
        idleTimer.cancel()
        requests += 1
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
            respondAndClose(ErrorResponse(status: error.status, kind: "bad-request", message: error.reason))
            return
        }
        let plan: ExchangePlan
        do {
            plan = try ExchangePlan(request: head, client: client.peer, config: config)
        } catch let error as ErrorResponse {
            respondAndClose(error, headOnly: head.method == "HEAD")
            return
        } catch {
            respondAndClose(ErrorResponse(status: 400, kind: "bad-request", message: "\(error)"))
            return
        }
        let address: SocketAddress
        do {
            address = try server.resolve(host: plan.upstreamHost, port: plan.upstreamPort)
        } catch {
            respondAndClose(ErrorResponse(status: 502, kind: "upstream-unresolvable",
                                          message: "upstream \(plan.upstreamLabel) could not be resolved (\(error))"))
            return
        }
        let selection: Selection
        do {
            selection = try server.select(controls: plan.controls, method: head.method, path: plan.path, peerHost: client.peer.host)
        } catch {
            respondAndClose(error, headOnly: head.method == "HEAD")
            return
        }
        phase = .exchanging
        let exchange = Exchange(request: head, plan: plan, requestFraming: requestFraming, limits: config.limits)
        exchange.selection = selection
        exchange.metrics = server.metrics
        server.metrics.exchangeStarted(profile: selection.profile.name)
        self.exchange = exchange
        logger.debug("request", metadata: ["conn": "\(id)", "method": "\(head.method)", "target": "\(head.target)",
                                           "upstream": "\(plan.upstreamLabel)", "profile": "\(selection.profile.name)",
                                           "client": "\(selection.clientKey)", "attempt": "\(selection.attempt)"])
        var decision = RequestDecision.relay(connectDelay: 0, lastEventID: .keep)
        if !selection.faults.isEmpty {
            var faultPlan = FaultPlan(faults: selection.faults, context: ConnectionContext(
                clientKey: selection.clientKey, attempt: selection.attempt, seed: selection.seed,
                method: head.method, path: plan.path, lastEventID: head.headers.first("Last-Event-ID")))
            decision = faultPlan.request(now: monotonicNanos())
            exchange.faultPlan = faultPlan
        }
        exchange.startedAt = monotonicNanos()
        exchange.wallMs = wallClockMillis()
        if head.headers.first("Accept")?.lowercased().contains("text/event-stream") == true { openRecord(exchange) }
        // A fault's own answer (refuse, 503, 204…) counts as an attempt: record it even when the
        // request did not say it wanted an event stream, so the ledger's attempts match the profile's.
        switch decision {
        case .refuse, .respond: openRecord(exchange)
        case .relay: break
        }
        recordFaults(exchange)
        switch decision {
        case .refuse:
            finish(reason: "refused by profile \(selection.profile.name)", clientClose: .rstNow, end: .refused)
        case .respond(let response, let delay):
            after(delay) { [unowned self] in self.writeSynthetic(response) }
        case .relay(let connectDelay, let lastEventID):
            switch lastEventID {
            case .keep: break
            case .remove: exchange.plan.upstreamHead.headers.remove("Last-Event-ID")
            case .set(let value): exchange.plan.upstreamHead.headers.set("Last-Event-ID", value)
            }
            after(connectDelay) { [unowned self] in self.connectUpstream(address, exchange) }
        }
    }

    /// Runs `body` now, or after `delay` on the fault timer.
    private func after(_ delay: UInt64, _ body: @escaping () -> Void) {
        guard delay > 0 else { return body() }
        onFaultTimer = body
        faultTimer.arm(after: delay)
    }

    private func connectUpstream(_ address: SocketAddress, _ exchange: Exchange) {
        guard phase == .exchanging, self.exchange === exchange else { return }
        let tls = exchange.plan.upstreamTLS ? server.tlsContext.map { (context: $0, host: exchange.plan.upstreamHost) } : nil
        let upstream = Connection(loop: server.loop, connectingTo: address, timeout: config.connectTimeout, delegate: self, tls: tls)
        upstream.setReadHighWatermark(config.highWater)
        upstream.setWriteLowWatermark(config.lowWater)
        upstream.write(exchange.plan.upstreamHead.serialized())
        self.upstream = upstream
        relayRequestBody()
    }

    /// A profile answers instead of the upstream (503 with Retry-After, 204, an empty stream…).
    private func writeSynthetic(_ response: SyntheticResponse) {
        guard phase == .exchanging else { return }
        var headers = HTTPHeaders()
        for field in response.headers { headers.add(field.name, field.value) }
        let head = ResponseHead(version: .http11, status: response.status, reason: response.reason, headers: headers).serialized()
        let body = exchange?.request.method == "HEAD" ? [] : response.body
        if let exchange {
            exchange.responseHeadSent = true
            let contentType = response.headers.first { $0.name.lowercased() == "content-type" }?.value
            record(exchange) { ledger, id in
                ledger.responseStarted(id: id, status: response.status, contentType: contentType, synthetic: true, at: monotonicNanos())
                if response.status == 200 { ledger.delivered(id: id, bytes: body, at: monotonicNanos()) }
            }
        }
        let end = { [unowned self] in
            self.client.write(body)
            if let kind = response.after {
                self.finish(reason: "profile answered \(response.status)", clientClose: Self.closeKind(kind),
                            end: .fault(kind: kind, atByte: body.count))
            }
            // nil: the socket stays open until the client leaves.
        }
        guard let slice = response.headSlice, slice.bytes > 0 else {
            client.write(head)
            return end()
        }
        writeSliced(head[...], slice: slice.bytes, pause: slice.pause, then: end)
    }

    private func writeSliced(_ bytes: ArraySlice<UInt8>, slice: Int, pause: UInt64, then: @escaping () -> Void) {
        guard phase == .exchanging else { return }
        client.write(Array(bytes.prefix(slice)))
        let rest = bytes.dropFirst(slice)
        if rest.isEmpty { return then() }
        after(max(pause, 1)) { [unowned self] in self.writeSliced(rest, slice: slice, pause: pause, then: then) }
    }

    static func closeKind(_ kind: Faults.CloseKind) -> Connection.CloseKind {
        switch kind {
        case .fin: return .fin
        case .rst: return .rst
        case .halfClose: return .halfClose
        }
    }

    /// Moves request-body bytes from the client to the upstream, up to the end of the body.
    private func relayRequestBody() {
        guard let exchange, let upstream, !exchange.requestBody.isDone else { return }
        do {
            _ = try relay(&exchange.requestBody, from: client, to: upstream.output)
        } catch {
            respondAndClose(ErrorResponse(status: error.status, kind: "bad-request", message: "request body: \(error.reason)"))
            return
        }
        if upstream.output.count >= config.highWater, !exchange.clientPaused {
            exchange.clientPaused = true
            client.disableReading()
        }
        if exchange.requestBody.isDone { maybeFinishExchange() }
    }

    // MARK: - Upstream side

    private func upstreamReadable() {
        guard let exchange, let upstream, exchange.connected else { return }
        if exchange.response == nil {
            readResponseHead(exchange, upstream)
            guard exchange.response != nil else { return }
        }
        relayResponseBody(exchange, upstream)
    }

    private func readResponseHead(_ exchange: Exchange, _ upstream: Connection) {
        while exchange.response == nil, !upstream.input.isEmpty {
            let window = upstream.input.contiguous(min(upstream.input.count, config.limits.maxHeaderBytes + config.limits.maxRequestLineBytes + 4))
            let parsed: HeadParseResult<ResponseHead>
            do {
                parsed = try HeadParser.parseResponse(window, limits: config.limits)
            } catch {
                failUpstream(status: 502, kind: "upstream-bad-response", "upstream \(exchange.plan.upstreamLabel) sent an invalid response head (\(error.reason))")
                return
            }
            guard case .complete(var head, let length) = parsed else { return }
            upstream.input.drain(length)
            if head.status >= 100, head.status < 200 {
                // Interim responses (100 Continue, 103 Early Hints) go to the client as they are.
                if head.status != 101 {
                    head.headers.removeHopByHop()
                    client.write(head.serialized())
                }
                continue
            }
            let framing: BodyFraming
            do {
                framing = try head.bodyFraming(requestMethod: exchange.request.method)
            } catch {
                failUpstream(status: 502, kind: "upstream-bad-response", "upstream \(exchange.plan.upstreamLabel) sent an invalid response (\(error.reason))")
                return
            }
            let now = monotonicNanos()
            exchange.beginResponse(head, framing: framing, limits: config.limits, closeWhenIdle: closeWhenIdle, now: now,
                                   maxFrameBytes: config.maxFrameBytes, highWater: config.highWater)
            exchange.responseHeadSent = true
            if exchange.ledgerID == nil, exchange.isEventStream { openRecord(exchange) }
            record(exchange) { ledger, id in
                ledger.responseStarted(id: id, status: exchange.clientResponseHead!.status,
                                       contentType: exchange.clientResponseHead!.headers.first("Content-Type"), synthetic: false, at: now)
            }
            exchange.shaper?.record(into: exchange.ledgerID.map { (server.ledger, $0) }, metrics: server.metrics)
            recordFaults(exchange)
            logger.debug("response", metadata: ["conn": "\(id)", "status": "\(head.status)", "framing": "\(framing)",
                                                "shaped": "\(exchange.shaper != nil)"])
            let headBytes = exchange.clientResponseHead!.serialized()
            if exchange.firstByteDelay > 0 {
                // Hold the head (and so everything after it); the upstream waits too.
                exchange.heldHead = headBytes
                upstream.disableReading()
                exchange.upstreamPaused = true
                after(exchange.firstByteDelay) { [unowned self] in self.releaseHead(exchange) }
                return
            }
            client.write(headBytes)
        }
    }

    private func releaseHead(_ exchange: Exchange) {
        guard self.exchange === exchange, let head = exchange.heldHead else { return }
        exchange.heldHead = nil
        client.write(head)
        exchange.upstreamPaused = false
        upstream?.enableReading()
        upstreamReadable()
    }

    private func relayResponseBody(_ exchange: Exchange, _ upstream: Connection) {
        guard exchange.heldHead == nil else { return }
        if let shaper = exchange.shaper { return shapeResponseBody(exchange, shaper, upstream) }
        guard !exchange.responseBody.isDone else { maybeFinishExchange(); return }
        do {
            if exchange.dechunk {
                _ = try relayPayload(&exchange.responseBody, from: upstream, to: client.output)
            } else {
                let moved: Int
                if exchange.observer != nil {
                    moved = try relay(&exchange.responseBody, from: upstream, to: client.output, sendingDirectlyTo: client,
                                      observingAfter: { exchange.observe($0) }, scratch: &server.relayScratch)
                } else {
                    moved = try relay(&exchange.responseBody, from: upstream, to: client.output, sendingDirectlyTo: client)
                }
                server.metrics.bytesToClients.increment(by: Int64(moved))
            }
        } catch {
            // The upstream broke its own framing mid-body: the client sees the connection end.
            logger.info("upstream framing error", metadata: ["conn": "\(id)", "error": "\(error.reason)"])
            finish(reason: "upstream framing error: \(error.reason)", clientClose: .fin, end: .upstreamError("invalid framing: \(error.reason)"))
            return
        }
        if client.output.count >= config.highWater, !exchange.upstreamPaused {
            exchange.upstreamPaused = true
            upstream.disableReading()
        }
        if exchange.responseBody.isDone { maybeFinishExchange() }
    }

    /// An event stream under faults: payload → frames → plan → timed writes.
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
        if failure != nil || exchange.responseBody.isDone {
            shaper.finishUpstream(now: now)
            upstream.close(.fin)
            self.upstream = nil
        }
        pumpShaper(exchange)
    }

    private func pumpShaper(_ exchange: Exchange) {
        guard let shaper = exchange.shaper, phase == .exchanging else { return }
        let now = monotonicNanos()
        let next = shaper.pump(into: client, now: now)
        shaper.recordPending()
        switch next {
        case .idle, .blocked:
            break
        case .wake(let at):
            after(at > now ? at - now : 1) { [unowned self] in
                shaper.timerFired(now: monotonicNanos())
                self.pumpShaper(exchange)
            }
        case .stalled:
            // Keep the socket open and quiet; stop taking from the upstream.
            upstream?.disableReading()
        case .close(let kind, byFault: false):
            finish(reason: "response complete (shaped)", clientClose: Self.closeKind(kind), end: .upstreamEnd)
            return
        case .close(let kind, byFault: true):
            finish(reason: "profile \(exchange.selection?.profile.name ?? "") closed the stream (\(kind))", clientClose: Self.closeKind(kind),
                   end: .fault(kind: kind, atByte: shaper.bytesDelivered))
            return
        }
        // Back-pressure covers the queue as well as the socket buffer.
        let backlog = shaper.queuedBytes + client.output.count
        if let upstream {
            if backlog >= config.highWater, !exchange.upstreamPaused {
                exchange.upstreamPaused = true
                upstream.disableReading()
            } else if backlog < config.lowWater, exchange.upstreamPaused {
                exchange.upstreamPaused = false
                upstream.enableReading()
            }
        }
    }

    private func upstreamEnded(_ end: Connection.End) {
        guard let exchange else { return }
        upstream = nil
        if let shaper = exchange.shaper, exchange.responseHeadSent {
            // The stream ended (cleanly or not): what the plan holds is released, then the end.
            if end == .eof || exchange.responseBody.isDone {
                shaper.finishUpstream(now: monotonicNanos())
                pumpShaper(exchange)
            } else {
                server.metrics.upstreamError("reset")
                finish(reason: "upstream \(end)", clientClose: .rst, end: .upstreamError("\(end)"))
            }
            return
        }
        if !exchange.connected {
            switch end {
            case .timeout:
                failUpstream(status: 504, kind: "upstream-timeout", "upstream \(exchange.plan.upstreamLabel) did not accept the connection within \(config.connectTimeout / 1_000_000) ms")
            case .tls(let reason):
                let hint = reason.contains("certificate") ? " (trust its CA with --upstream-ca FILE, or use --insecure for a self-signed test server)" : ""
                failUpstream(status: 502, kind: "upstream-tls", "upstream \(exchange.plan.upstreamLabel): TLS failed: \(reason)\(hint)")
            default:
                let cause = end == .error(111) ? "refused the connection" : "could not be reached"
                failUpstream(status: 502, kind: "upstream-unreachable", "upstream \(exchange.plan.upstreamLabel) \(cause) (\(end))")
            }
            return
        }
        if !exchange.responseHeadSent {
            failUpstream(status: 502, kind: "upstream-closed", "upstream \(exchange.plan.upstreamLabel) closed the connection without a response (\(end))")
            return
        }
        if exchange.responseBody.isUntilClose, end == .eof {
            // A close-delimited body ends here: the client's connection must end too.
            finish(reason: "response complete (close-delimited)", clientClose: .fin, end: .upstreamEnd)
        } else if exchange.responseBody.isDone {
            maybeFinishExchange()
        } else if end == .eof {
            server.metrics.upstreamError("closed-mid-body")
            finish(reason: "upstream closed mid-body", clientClose: .fin, end: .upstreamError("closed mid-body"))
        } else {
            server.metrics.upstreamError("reset")
            // An upstream reset reaches the client as a reset, after what had already arrived.
            finish(reason: "upstream \(end)", clientClose: .rst, end: .upstreamError("\(end)"))
        }
    }

    private func failUpstream(status: Int, kind: String, _ message: String) {
        server.metrics.upstreamError(kind)
        logger.info("upstream error", metadata: ["conn": "\(id)", "status": "\(status)", "cause": "\(message)"])
        if exchange?.responseHeadSent == true {
            finish(reason: message, clientClose: .rst, end: .upstreamError(message))
        } else {
            respondAndClose(ErrorResponse(status: status, kind: kind, message: message),
                            headOnly: exchange?.request.method == "HEAD")
        }
    }

    // MARK: - Ledger

    /// Starts the exchange's ledger record (event streams only: an `Accept: text/event-stream`
    /// request, or a `text/event-stream` response).
    private func openRecord(_ exchange: Exchange) {
        guard config.recordLedger, exchange.ledgerID == nil, let selection = exchange.selection else { return }
        let id = server.ledger.makeID()
        exchange.ledgerID = id
        exchange.ledger = server.ledger
        let lastEventID = exchange.request.headers.first("Last-Event-ID")
        server.ledger.with {
            $0.connectionOpened(id: id, clientKey: selection.clientKey, attempt: selection.attempt, at: exchange.startedAt,
                                wallMs: exchange.wallMs, method: exchange.request.method, path: exchange.plan.path,
                                lastEventIDSent: lastEventID, profile: selection.profile.name, seed: selection.seed)
        }
    }

    private func record(_ exchange: Exchange, _ body: (Ledger, UInt64) -> Void) {
        if let id = exchange.ledgerID { server.ledger.with { body($0, id) } }
    }

    /// The decisions the plan took before the stream (request and head faults).
    private func recordFaults(_ exchange: Exchange) {
        guard let records = exchange.faultPlan?.drainRecords(), !records.isEmpty else { return }
        for r in records { server.metrics.faultFired(r.fault) }
        record(exchange) { ledger, id in for r in records { ledger.fault(id: id, record: r) } }
    }

    private func recordEnd(_ exchange: Exchange, _ end: ConnectionEnd) {
        guard !exchange.ledgerClosed else { return }
        exchange.ledgerClosed = true
        if let profile = exchange.selection?.profile.name { server.metrics.exchangeEnded(profile: profile) }
        if exchange.totalOversizedBlocks > 0 {
            logger.warning("oversized SSE blocks passed through unparsed", metadata: [
                "conn": "\(id)", "blocks": "\(exchange.totalOversizedBlocks)", "limit": "\(config.maxFrameBytes)"])
        }
        if let selection = exchange.selection, exchange.isEventStream || exchange.ledgerID != nil {
            logger.info("stream ended", metadata: [
                "conn": "\(id)", "client": "\(selection.clientKey)", "attempt": "\(selection.attempt)",
                "profile": "\(selection.profile.name)", "seed": "\(selection.seed)", "end": "\(end.name)",
                "status": "\(exchange.clientResponseHead?.status ?? 0)",
            ])
        }
        guard let id = exchange.ledgerID else { return }
        exchange.shaper?.recordPending()
        server.ledger.connectionClosed(id: id, end: end, at: monotonicNanos())
    }

    // MARK: - Ends

    private func maybeFinishExchange() {
        guard let exchange, exchange.responseBody.isDone, exchange.response != nil, exchange.shaper == nil else { return }
        recordEnd(exchange, .upstreamEnd)
        upstream?.close(.fin)
        upstream = nil
        self.exchange = nil
        guard exchange.requestBody.isDone, exchange.keepClient, !closeWhenIdle else {
            finish(reason: "response complete", clientClose: .fin, end: .upstreamEnd)
            return
        }
        phase = .awaitingHead
        if exchange.clientPaused { client.enableReading() }
        idleTimer.arm(after: config.keepAliveTimeout)
        if !client.input.isEmpty { readHead() }
    }

    private func idleTimeout() {
        guard phase == .awaitingHead else { return }
        if client.input.isEmpty {
            finish(reason: "idle", clientClose: .fin)
        } else {
            respondAndClose(ErrorResponse(status: 408, kind: "request-timeout", message: "request head not received within \(config.headTimeout / 1_000_000) ms"))
        }
    }

    private func respondAndClose(_ response: ErrorResponse, headOnly: Bool = false) {
        guard phase != .closed else { return }
        client.write(response.serialized(headOnly: headOnly))
        if let exchange, !exchange.responseHeadSent {
            exchange.responseHeadSent = true
            record(exchange) { $0.responseStarted(id: $1, status: response.status, contentType: "text/plain; charset=utf-8", synthetic: true, at: monotonicNanos()) }
        }
        finish(reason: "\(response.status) \(response.message)", clientClose: .fin, end: .upstreamError("\(response.status) \(response.message)"))
    }

    /// Closes both sides and forgets the session; `end` is what the ledger records for the exchange in flight.
    func finish(reason: String, clientClose: Connection.CloseKind = .fin, end: ConnectionEnd = .clientClose) {
        guard phase != .closed else { return }
        if let exchange { recordEnd(exchange, end) }
        phase = .closed
        idleTimer.cancel()
        faultTimer.cancel()
        onFaultTimer = nil
        upstream?.close(.fin)
        upstream = nil
        exchange = nil
        client.close(clientClose)
        server.sessionClosed(self, reason: reason, requests: requests)
    }

    /// SIGINT/SIGTERM: idle connections close now, streams end, plain exchanges may finish.
    func beginShutdown() {
        closeWhenIdle = true
        if isIdle || isStreaming {
            finish(reason: "shutdown", clientClose: .fin, end: .shutdown)
        }
    }
}

/// Moves the bytes of one message body from `source.input` into `destination` unchanged.
/// `observe` sees the payload (de-chunked) slices as they pass. Returns the bytes moved.
/// With `direct` (the connection `destination` belongs to), bytes go straight to its socket when
/// its output is empty; only what the socket does not take is queued.
func relay(_ tracker: inout BodyTracker, from source: Connection, to destination: Buffer,
           sendingDirectlyTo direct: Connection? = nil,
           observe: (UnsafeRawBufferPointer) -> Void = { _ in }) throws(HTTPParseError) -> Int {
    var consumed = 0
    var failure: HTTPParseError?
    let input = source.input
    input.forEachSegment(limit: input.count) { segment in
        guard failure == nil, !tracker.isDone else { return }
        do throws(HTTPParseError) {
            consumed += try tracker.consume(segment, onPayload: observe)
        } catch {
            failure = error
        }
    }
    if consumed > 0 {
        let sent = direct?.sendDirect(consumed, from: input) ?? 0
        if consumed > sent { input.move(consumed - sent, to: destination) }
    }
    if let failure { throw failure }
    return consumed
}

/// As `relay`, with `observe` called once the bytes are on their way (sent, or queued behind others): the
/// observer's work (the SSE parse, the ledger) stays off the event's path. The payload is copied into
/// `scratch` first (the input's bytes are gone once sent); `scratch` is the caller's, reused between calls.
func relay(_ tracker: inout BodyTracker, from source: Connection, to destination: Buffer, sendingDirectlyTo direct: Connection?,
           observingAfter observe: (UnsafeRawBufferPointer) -> Void, scratch: inout [UInt8]) throws(HTTPParseError) -> Int {
    scratch.removeAll(keepingCapacity: scratch.capacity <= 1 << 20)
    defer { scratch.withUnsafeBytes(observe) }
    return try relay(&tracker, from: source, to: destination, sendingDirectlyTo: direct) { scratch.append(contentsOf: $0) }
}

/// Like `relay`, but writes only the payload (a chunked body to an HTTP/1.0 client).
func relayPayload(_ tracker: inout BodyTracker, from source: Connection, to destination: Buffer) throws(HTTPParseError) -> Int {
    var consumed = 0
    var failure: HTTPParseError?
    let input = source.input
    input.forEachSegment(limit: input.count) { segment in
        guard failure == nil, !tracker.isDone else { return }
        do throws(HTTPParseError) {
            consumed += try tracker.consume(segment) { payload in destination.append(payload) }
        } catch {
            failure = error
        }
    }
    if consumed > 0 { input.drain(consumed) }
    if let failure { throw failure }
    return consumed
}
