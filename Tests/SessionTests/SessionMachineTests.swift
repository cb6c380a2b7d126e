import Faults
import HTTP1
import Ledger
import Testing

@testable import Session

@Suite struct RequestSideTests {
    @Test func startArmsTheHeadTimer() {
        let h = Harness()
        #expect(h.log.steps == [.arm(.head)])
        #expect(h.log.armed(.head) == testConfig.headTimeout)
        #expect(h.state == "awaitingHead")
    }

    @Test func firstHeadBytesRearmTheHeadTimerOnce() {
        var h = Harness()
        #expect(h.send(.headBytes).armed(.head) == testConfig.headTimeout)
        #expect(h.state == "awaitingHead(partial)")
        #expect(h.send(.headBytes).isEmpty)
    }

    @Test func headTimeoutWithPartialHeadAnswers408() {
        var h = Harness()
        h.send(.headBytes)
        let acts = h.send(.timerFired(.head))
        #expect(acts.written.hasPrefix("HTTP/1.1 408 "))
        #expect(acts.written.contains("request head not received within 30000 ms"))
        #expect(acts.closed?.kind == .fin)
        #expect(acts.ended == nil)
        #expect(h.state == "closed")
    }

    @Test func idleConnectionClosesQuietly() {
        var h = Harness()
        let acts = h.send(.timerFired(.head))
        #expect(acts.writes.isEmpty)
        #expect(acts.closed?.reason == "idle")
    }

    @Test func invalidHeadIsAnsweredAndNotCounted() {
        var h = Harness()
        let acts = h.send(.invalidHead(ErrorReply(status: 400, kind: "bad-request", message: "bad line")))
        #expect(acts.written.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(acts.written.contains("Sputter-Error: bad-request\r\n"))
        #expect(acts.written.hasSuffix("sputter: bad line\n"))
        #expect(acts.closed?.reason == "400 bad line")
        #expect(h.machine.requests == 0)
    }

    @Test func rejectedRequestIsCountedAndHeadGetsNoBody() {
        var h = Harness()
        let acts = h.send(.requestRejected(ErrorReply(status: 502, kind: "no-upstream", message: "no upstream"), headOnly: true))
        #expect(acts.written.hasPrefix("HTTP/1.1 502 "))
        #expect(!acts.written.contains("sputter: no upstream"))
        #expect(h.machine.requests == 1)
        #expect(acts.ended == nil)  // never selected: no metrics, no ledger
    }

    @Test func requestHeadResolvesThenSelectsThenConnects() {
        var h = Harness()
        #expect(h.send(.requestHead(request())).steps == [.cancel(.head), .resolve])
        #expect(h.state == "resolving")
        #expect(h.send(.resolved(.success(UpstreamAddress("10.0.0.1:5000")))).steps == [.select])
        #expect(h.state == "selecting")
        let acts = h.send(.selected(Selected(profile: "p", faultPlan: nil)))
        #expect(acts.metrics == [.exchangeStarted(profile: "p")])
        #expect(acts.connect?.address == "10.0.0.1:5000")
        #expect(acts.connect?.lastEventID == .keep)
        #expect(acts.ledger.isEmpty)  // not an event-stream request
        #expect(h.state == "connecting")
        #expect(h.send(.connected).steps == [])
        #expect(h.state == "awaitingResponse")
        #expect(h.machine.upstreamReading == .head)
    }

    @Test func eventStreamRequestOpensTheRecordAtSelection() {
        var h = Harness()
        let acts = h.begin(request("GET", [("Accept", "text/event-stream")]))
        #expect(acts.ledger == [.open(at: 0)])
    }

    @Test func resolveFailuresMapToStatuses() {
        let cases: [(ResolveError, String)] = [
            (.failed("NXDOMAIN"), "HTTP/1.1 502 "), (.timedOut(5000), "HTTP/1.1 504 "), (.forbidden("10.1.2.3"), "HTTP/1.1 403 "),
        ]
        for (error, status) in cases {
            var h = Harness()
            h.send(.requestHead(request()))
            let acts = h.send(.resolved(.failure(error)))
            #expect(acts.written.hasPrefix(status))
            #expect(acts.written.contains("upstream http://origin:5000"))
            #expect(acts.closed != nil)
            #expect(!acts.steps.contains(.select))
            #expect(acts.ended == nil)
        }
        var h = Harness()
        h.send(.requestHead(request()))
        let acts = h.send(.resolved(.failure(.failed("no address"))))
        #expect(acts.written.contains("Sputter-Error: upstream-unresolvable"))
        #expect(acts.written.contains("could not be resolved (no address)"))
    }

    @Test func resolutionAfterTheClientLeftDoesNothing() {
        var h = Harness()
        h.send(.requestHead(request()))
        let end = h.send(.ended(.client, .eof))
        #expect(end.closed?.reason == "client closed")
        #expect(h.send(.resolved(.success(UpstreamAddress("10.0.0.1:5000")))).isEmpty)
        #expect(h.send(.resolved(.failure(.timedOut(1)))).isEmpty)
        #expect(h.state == "closed")
    }

    @Test func selectionRejectedAnswersWithoutARecord() {
        var h = Harness()
        h.send(.requestHead(request("HEAD")))
        h.send(.resolved(.success(UpstreamAddress("a"))))
        let acts = h.send(.selectionRejected(ErrorReply(status: 400, kind: "unknown-profile", message: "unknown profile 'x'")))
        #expect(acts.written.hasPrefix("HTTP/1.1 400 "))
        #expect(!acts.written.contains("sputter: unknown"))  // HEAD: no body
        #expect(acts.ended == nil)
        #expect(acts.ledger.isEmpty)
    }

    @Test func requestBodyBackPressurePausesAndResumesTheClient() {
        var h = Harness()
        h.begin(request("POST", framing: .contentLength(5000)))
        #expect(h.send(.requestBodyRelayed(done: false, upstreamBacklog: 999)).isEmpty)
        #expect(h.send(.requestBodyRelayed(done: false, upstreamBacklog: 1000)).steps == [.pause(.client)])
        #expect(h.send(.requestBodyRelayed(done: false, upstreamBacklog: 2000)).isEmpty)  // paused once
        #expect(h.send(.drained(.upstream)).steps == [.resume(.client), .readClient])
        #expect(h.send(.drained(.upstream)).isEmpty)
    }

    @Test func invalidRequestBodyIsAnswered() {
        var h = Harness()
        h.begin(request("POST", framing: .chunked))
        let acts = h.send(.requestBodyInvalid(ErrorReply(status: 400, kind: "bad-request", message: "request body: bad chunk")))
        #expect(acts.written.hasPrefix("HTTP/1.1 400 "))
        #expect(acts.ledger == [.responseStarted(status: 400, contentType: "text/plain; charset=utf-8", synthetic: true, at: 0)])
        #expect(acts.ended?.end == .upstreamError("400 request body: bad chunk"))
    }
}

@Suite struct KeepAliveTests {
    @Test func completeResponseReturnsToAwaitingHead() {
        var h = Harness()
        let acts = h.respond(responseHead(200, [("Content-Length", "5")]))
        #expect(acts.body?.framing == .contentLength(5))
        #expect(acts.body?.mode.name == "plain")
        let head = acts.writes.last.map { String(decoding: $0, as: UTF8.self) } ?? ""
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(head.contains("Via: 1.1 sputter\r\n"))
        #expect(!head.contains("Connection: close"))
        #expect(h.state == "relaying")
        #expect(h.send(.responseBodyRelayed(done: false, clientBacklog: 3)).isEmpty)
        h.now = 7 * ms
        let done = h.send(.responseBodyRelayed(done: true, clientBacklog: 0))
        #expect(done.steps == [.endExchange, .closeUpstream, .cancel(.responseHead), .cancel(.requestBody), .cancel(.streamIdle),
                               .arm(.head), .readHead])
        #expect(done.armed(.head) == testConfig.keepAliveTimeout)
        #expect(done.ended == ExchangeEnd(end: .upstreamEnd, profile: "p", status: 200, announce: false, at: 7 * ms))
        #expect(h.state == "awaitingHead")
    }

    @Test func pipelinedRequestsFollowOneAnother() {
        var h = Harness()
        h.respond(responseHead(204))
        let acts = h.send(.responseBodyRelayed(done: true, clientBacklog: 0))
        #expect(acts.steps.last == .readHead)
        h.respond(responseHead(200, [("Content-Length", "0")]))
        h.send(.responseBodyRelayed(done: true, clientBacklog: 0))
        #expect(h.machine.requests == 2)
        #expect(h.state == "awaitingHead")
    }

    @Test func responseBeforeTheRequestBodyEndsWaitsForIt() {
        var h = Harness()
        h.respond(request("POST", framing: .contentLength(10)), responseHead(200, [("Content-Length", "2")]))
        let first = h.send(.responseBodyRelayed(done: true, clientBacklog: 0))
        #expect(first.closed?.reason == "response complete")  // the body never came: the connection cannot be reused
    }

    @Test func requestBodyDoneThenResponseDoneKeepsTheConnection() {
        var h = Harness()
        h.begin(request("POST", framing: .contentLength(10)))
        h.send(.requestBodyRelayed(done: true, upstreamBacklog: 10))
        h.send(.connected)
        h.send(.upstreamHead(responseHead(200, [("Content-Length", "2")])))
        let acts = h.send(.responseBodyRelayed(done: true, clientBacklog: 0))
        #expect(acts.closed == nil)
        #expect(h.state == "awaitingHead")
    }

    @Test func connectionCloseRequestEndsAfterTheResponse() {
        var h = Harness()
        h.respond(request("GET", [("Connection", "close")]), responseHead(200, [("Content-Length", "1")]))
        let acts = h.send(.responseBodyRelayed(done: true, clientBacklog: 0))
        #expect(acts.steps == [.endExchange, .closeUpstream, .closeUpstream, .closeClient])
        #expect(acts.closed?.reason == "response complete")
    }

    @Test func pausedClientIsResumedForTheNextRequest() {
        var h = Harness()
        h.begin(request("POST", framing: .contentLength(10)))
        h.send(.requestBodyRelayed(done: true, upstreamBacklog: 5000))
        h.send(.connected)
        h.send(.upstreamHead(responseHead(200, [("Content-Length", "2")])))
        let acts = h.send(.responseBodyRelayed(done: true, clientBacklog: 0))
        #expect(acts.steps == [.endExchange, .closeUpstream, .resume(.client), .cancel(.responseHead), .cancel(.requestBody),
                               .cancel(.streamIdle), .arm(.head), .readHead])
    }

    @Test func http10ChunkedResponseIsDechunkedAndCloses() {
        var h = Harness()
        let acts = h.respond(request("GET", version: .http10), responseHead(200, [("Transfer-Encoding", "chunked")]))
        #expect(acts.body?.mode.name == "dechunk")
        #expect(acts.written.contains("Connection: close\r\n"))
        #expect(!acts.written.contains("Transfer-Encoding"))
        #expect(h.send(.responseBodyRelayed(done: true, clientBacklog: 0)).closed != nil)
    }

    @Test func http10KeepAliveIsSaidOutLoud() {
        var h = Harness()
        let acts = h.respond(request("GET", version: .http10, [("Connection", "keep-alive")]), responseHead(200, [("Content-Length", "1")]))
        #expect(acts.written.contains("Connection: keep-alive\r\n"))
    }

    @Test func interimResponsesPassAndTheFinalOneFollows() {
        var h = Harness()
        h.begin()
        h.send(.connected)
        var early = responseHead(103, [("Link", "</a.css>"), ("Connection", "x")])
        early.reason = "Early Hints"
        let hints = h.send(.upstreamHead(early))
        #expect(hints.written == "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n")
        #expect(h.state == "awaitingResponse")
        #expect(h.send(.upstreamHead(responseHead(101))).isEmpty)
        h.send(.upstreamHead(responseHead(200, [("Content-Length", "1")])))
        #expect(h.state == "relaying")
    }

    @Test func stateNamesTrackTheMachine() {
        var h = Harness()
        h.begin()
        #expect(h.machine.upstreamReading == .none)
        h.send(.connected)
        h.send(.upstreamHead(responseHead(200, eventStream)))
        #expect(h.machine.upstreamReading == .body)
        #expect(h.machine.isStreaming)
    }
}

@Suite struct BackPressureTests {
    @Test func slowClientPausesTheUpstreamUntilItDrains() {
        var h = Harness()
        h.respond(responseHead(200, eventStream))
        #expect(h.send(.responseBodyRelayed(done: false, clientBacklog: 1000)).steps == [.pause(.upstream)])
        #expect(h.send(.responseBodyRelayed(done: false, clientBacklog: 5000)).isEmpty)
        #expect(h.send(.drained(.client)).steps == [.resume(.upstream), .readUpstream])
        #expect(h.send(.drained(.client)).isEmpty)
    }

    @Test func shaperBacklogPausesAndResumes() {
        var h = Harness()
        h.respond(faults: [FaultSpec(.drop(DropFault(everyNth: 2)))], responseHead(200, eventStream))
        #expect(h.state == "shaping")
        #expect(h.send(.shaperPumped(.idle, backlog: 1500, delivered: 0)).steps == [.pause(.upstream)])
        #expect(h.send(.shaperPumped(.blocked, backlog: 500, delivered: 0)).isEmpty)  // between the watermarks
        #expect(h.send(.shaperPumped(.idle, backlog: 50, delivered: 0)).steps == [.resume(.upstream)])
    }

    @Test func drainedClientPumpsAShapedStream() {
        var h = Harness()
        h.respond(faults: [FaultSpec(.drop(DropFault(everyNth: 2)))], responseHead(200, eventStream))
        #expect(h.send(.drained(.client)).steps == [.pumpShaper])
    }
}

@Suite struct FaultTimingTests {
    @Test func connectDelayWaitsOnItsOwnTimer() {
        var h = Harness()
        let acts = h.begin(faults: [FaultSpec(.delay(DelayFault(connect: 500 * ms)))])
        #expect(acts.armed(.connectDelay) == 500 * ms)
        #expect(acts.connect == nil)
        #expect(h.state == "connectDelay")
        // Other timers are stale here.
        #expect(h.send(.timerFired(.firstByte)).isEmpty)
        #expect(h.send(.timerFired(.head)).isEmpty)
        #expect(h.send(.timerFired(.connectDelay)).connect?.address == "10.0.0.1:5000")
        #expect(h.state == "connecting")
        #expect(h.send(.timerFired(.connectDelay)).isEmpty)
    }

    @Test func faultRecordsGoToMetricsAndLedger() {
        var h = Harness()
        let acts = h.begin(request("GET", [("Accept", "text/event-stream")]), faults: [FaultSpec(.delay(DelayFault(connect: 500 * ms)))])
        let fired = acts.metrics.filter { if case .faultFired = $0 { return true } else { return false } }
        let recorded = acts.ledger.filter { if case .fault = $0 { return true } else { return false } }
        #expect(fired.count == recorded.count)
        #expect(acts.ledger.first == .open(at: 0))
    }

    @Test func firstByteDelayHoldsTheHead() {
        var h = Harness()
        let acts = h.respond(faults: [FaultSpec(.delay(DelayFault(firstByte: 2_000 * ms)))], responseHead(200, [("Content-Length", "3")]))
        #expect(acts.armed(.firstByte) == 2_000 * ms)
        #expect(acts.steps.contains(.pause(.upstream)))
        #expect(acts.writes.isEmpty)
        #expect(h.state == "holdingHead")
        #expect(h.machine.upstreamReading == .none)
        h.now = 2_000 * ms
        let release = h.send(.timerFired(.firstByte))
        #expect(release.steps == [.write, .resume(.upstream), .readUpstream])
        #expect(release.written.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(h.state == "relaying")
    }

    /// The bug of issue 12: a drained client during a first-byte delay must not replace the head's release.
    @Test func drainedClientDuringFirstByteDelayKeepsTheRelease() {
        var h = Harness()
        let faults = [FaultSpec(.delay(DelayFault(firstByte: 1_000 * ms))), FaultSpec(.drop(DropFault(everyNth: 2)))]
        let acts = h.respond(faults: faults, responseHead(200, eventStream))
        #expect(acts.body?.mode.name == "shaped(chunked)")
        #expect(h.state == "holdingHead")
        #expect(h.send(.drained(.client)).isEmpty)
        #expect(h.send(.timerFired(.shaperWake)).isEmpty)
        #expect(h.send(.drained(.upstream)).isEmpty)
        h.now = 1_000 * ms
        let release = h.send(.timerFired(.firstByte))
        #expect(release.written.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(release.written.contains("Transfer-Encoding: chunked\r\n"))
        #expect(h.state == "shaping")
    }

    @Test func upstreamEndDuringTheHoldWaitsForTheRelease() {
        var h = Harness()
        h.respond(faults: [FaultSpec(.delay(DelayFault(firstByte: 1_000 * ms)))], responseHead(200, [("Content-Length", "9")]))
        #expect(h.send(.ended(.upstream, .eof)).isEmpty)
        let release = h.send(.timerFired(.firstByte))
        #expect(release.writes.count == 1)
        #expect(release.ended?.end == .upstreamError("closed mid-body"))
        #expect(release.closed?.kind == .fin)
    }

    @Test func shaperWakeArmsItsOwnTimer() {
        var h = Harness()
        h.respond(faults: [FaultSpec(.drop(DropFault(everyNth: 2)))], responseHead(200, eventStream))
        h.now = 10 * ms
        #expect(h.send(.shaperPumped(.wake(at: 25 * ms), backlog: 0, delivered: 0)).armed(.shaperWake) == 15 * ms)
        #expect(h.send(.shaperPumped(.wake(at: 5 * ms), backlog: 0, delivered: 0)).armed(.shaperWake) == 1)
        #expect(h.send(.timerFired(.shaperWake)).steps == [.pumpShaper])
        #expect(h.send(.timerFired(.firstByte)).isEmpty)
    }

    @Test func shapedStreamEnds() {
        var h = Harness()
        h.respond(faults: [FaultSpec(.drop(DropFault(everyNth: 2)))], responseHead(200, eventStream))
        #expect(h.send(.shapedBodyIngested(upstreamDone: false)).steps == [.pumpShaper])
        #expect(h.send(.shapedBodyIngested(upstreamDone: true)).steps == [.finishShaper, .closeUpstream, .pumpShaper])
        // The upstream is gone: no more pauses for it.
        #expect(h.send(.shaperPumped(.idle, backlog: 5000, delivered: 0)).isEmpty)
        let end = h.send(.shaperPumped(.close(.fin, byFault: false), backlog: 0, delivered: 40))
        #expect(end.closed?.kind == .fin)
        #expect(end.ended?.end == .upstreamEnd)
    }

    @Test func faultCloseRecordsTheBytesDelivered() {
        var h = Harness()
        h.respond(faults: [FaultSpec(.drop(DropFault(everyNth: 2)))], responseHead(200, eventStream))
        let end = h.send(.shaperPumped(.close(.rst, byFault: true), backlog: 0, delivered: 123))
        #expect(end.closed?.kind == .rst)
        #expect(end.closed?.reason == "profile p closed the stream (rst)")
        #expect(end.ended?.end == .fault(kind: .rst, atByte: 123))
    }

    @Test func stalledStreamStopsTheUpstream() {
        var h = Harness()
        h.respond(faults: [FaultSpec(.drop(DropFault(everyNth: 2)))], responseHead(200, eventStream))
        #expect(h.send(.shaperPumped(.stalled, backlog: 0, delivered: 0)).steps == [.pause(.upstream)])
    }

    @Test func shapedUpstreamEofReleasesAndResetEnds() {
        var h = Harness()
        h.respond(faults: [FaultSpec(.drop(DropFault(everyNth: 2)))], responseHead(200, eventStream))
        #expect(h.send(.ended(.upstream, .eof)).steps == [.finishShaper, .pumpShaper])
        var r = Harness()
        r.respond(faults: [FaultSpec(.drop(DropFault(everyNth: 2)))], responseHead(200, eventStream))
        let reset = r.send(.ended(.upstream, .error(104, "Connection reset by peer")))
        #expect(reset.closed?.kind == .rst)
        #expect(reset.metrics.contains(.upstreamError(kind: "reset")))
        #expect(reset.ended?.end == .upstreamError("Connection reset by peer"))
    }
}

@Suite struct SyntheticTests {
    @Test func refuseResetsAtOnceAndIsRecorded() {
        var h = Harness()
        let acts = h.begin(faults: [FaultSpec(.refuse(RefuseFault()))])
        #expect(acts.closed?.kind == .rstNow)
        #expect(acts.ended?.end == .refused)
        #expect(acts.ledger.first == .open(at: 0))
        #expect(acts.connect == nil)
    }

    @Test func delayedAnswer() {
        var h = Harness()
        let acts = h.begin(faults: [FaultSpec(.respond(RespondFault(status: 503, retryAfter: "2", delay: 300 * ms)))])
        #expect(acts.armed(.syntheticDelay) == 300 * ms)
        #expect(acts.writes.isEmpty)
        #expect(h.state == "synthetic(delayed)")
        h.now = 300 * ms
        let answer = h.send(.timerFired(.syntheticDelay))
        #expect(answer.written.hasPrefix("HTTP/1.1 503 "))
        #expect(answer.written.contains("Retry-After: 2\r\n"))
        #expect(answer.ledger.contains(.responseStarted(status: 503, contentType: "text/plain; charset=utf-8", synthetic: true, at: 300 * ms)))
        #expect(answer.closed?.kind == .fin)
        #expect(answer.ended?.end == .fault(kind: .fin, atByte: 0))
    }

    @Test func slicedHeadGoesOutPieceByPiece() {
        var h = Harness()
        let fault = RespondFault(status: 200, body: Array("data: x\n\n".utf8), slowHeaders: .init(bytes: 10, pause: 50 * ms))
        let first = h.begin(faults: [FaultSpec(.respond(fault))])
        #expect(first.writes.count == 1)
        #expect(first.writes[0].count == 10)
        #expect(first.armed(.headSlice) == 50 * ms)
        #expect(first.ledger.contains(.delivered(Array("data: x\n\n".utf8), at: 0)))
        var text = first.written
        // A drained client or another timer does not move the slices on.
        #expect(h.send(.drained(.client)).isEmpty)
        #expect(h.send(.timerFired(.shaperWake)).isEmpty)
        var rounds = 0
        while h.state == "synthetic(slicing)", rounds < 100 {
            let acts = h.send(.timerFired(.headSlice))
            text += acts.written
            rounds += 1
        }
        #expect(rounds > 3)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.hasSuffix("\r\n\r\ndata: x\n\n"))
        #expect(h.state == "closed")
    }

    @Test func keepOpenAnswerWaitsForTheClient() {
        var h = Harness()
        let acts = h.begin(faults: [FaultSpec(.respond(RespondFault(status: 200, keepOpen: true)))])
        #expect(acts.written.hasPrefix("HTTP/1.1 200 "))
        #expect(acts.closed == nil)
        #expect(h.state == "synthetic(open)")
        let bye = h.send(.ended(.client, .eof))
        #expect(bye.ended?.end == .clientClose)
    }

    @Test func headRequestGetsNoSyntheticBody() {
        var h = Harness()
        let acts = h.begin(request("HEAD"), faults: [FaultSpec(.respond(RespondFault(status: 503, body: Array("busy".utf8))))])
        #expect(!acts.written.contains("busy"))
    }
}

@Suite struct UpstreamEndTests {
    @Test func connectTimeoutIs504() {
        var h = Harness()
        h.begin()
        let acts = h.send(.ended(.upstream, .timeout))
        #expect(acts.written.hasPrefix("HTTP/1.1 504 "))
        #expect(acts.written.contains("did not accept the connection within 10000 ms"))
        #expect(acts.metrics.contains(.upstreamError(kind: "upstream-timeout")))
        #expect(acts.ledger.contains(.responseStarted(status: 504, contentType: "text/plain; charset=utf-8", synthetic: true, at: 0)))
        #expect(acts.ended?.end == .upstreamError("504 upstream http://origin:5000 did not accept the connection within 10000 ms"))
    }

    @Test func refusedAndUnreachable() {
        var h = Harness()
        h.begin()
        let refused = h.send(.ended(.upstream, .error(111, "Connection refused")))
        #expect(refused.written.contains("upstream http://origin:5000 refused the connection (Connection refused)"))
        var u = Harness()
        u.begin()
        #expect(u.send(.ended(.upstream, .error(113, "No route to host"))).written.contains("could not be reached (No route to host)"))
    }

    @Test func tlsFailureHintsAtTheCA() {
        var h = Harness()
        h.begin()
        let acts = h.send(.ended(.upstream, .tls("certificate verify failed")))
        #expect(acts.written.hasPrefix("HTTP/1.1 502 "))
        #expect(acts.written.contains("--upstream-ca"))
    }

    @Test func closedOrResetBeforeTheHead() {
        for end in [PeerEnd.eof, .error(104, "Connection reset by peer")] {
            var h = Harness()
            h.begin()
            h.send(.connected)
            let acts = h.send(.ended(.upstream, end))
            #expect(acts.written.hasPrefix("HTTP/1.1 502 "))
            #expect(acts.written.contains("closed the connection without a response (\(end))"))
            #expect(acts.closed?.kind == .fin)
        }
    }

    @Test func invalidHeadIs502() {
        var h = Harness()
        h.begin()
        h.send(.connected)
        let acts = h.send(.upstreamHeadInvalid("bad status line"))
        #expect(acts.written.contains("sent an invalid response head (bad status line)"))
        #expect(acts.written.contains("Sputter-Error: upstream-bad-response"))
    }

    @Test func conflictingFramingIs502() {
        var h = Harness()
        h.begin()
        h.send(.connected)
        let acts = h.send(.upstreamHead(responseHead(200, [("Content-Length", "5"), ("Content-Length", "6")])))
        #expect(acts.written.hasPrefix("HTTP/1.1 502 "))
        #expect(acts.written.contains("sent an invalid response ("))
    }

    @Test func closeDelimitedBodyEndsWithTheClient() {
        var h = Harness()
        let acts = h.respond(responseHead(200, [("Content-Type", "text/plain")]))
        #expect(acts.body?.framing == .untilClose)
        #expect(acts.written.contains("Connection: close\r\n"))
        #expect(h.machine.isStreaming)
        let end = h.send(.ended(.upstream, .eof))
        #expect(end.closed?.kind == .fin)
        #expect(end.closed?.reason == "response complete (close-delimited)")
        #expect(end.ended?.end == .upstreamEnd)
    }

    @Test func closedMidBody() {
        var h = Harness()
        h.respond(responseHead(200, [("Content-Length", "100")]))
        let end = h.send(.ended(.upstream, .eof))
        #expect(end.metrics.contains(.upstreamError(kind: "closed-mid-body")))
        #expect(end.closed?.kind == .fin)
        #expect(end.ended?.end == .upstreamError("closed mid-body"))
    }

    @Test func resetAfterTheHeadReachesTheClientAsAReset() {
        var h = Harness()
        h.respond(responseHead(200, eventStream))
        let end = h.send(.ended(.upstream, .error(104, "Connection reset by peer")))
        #expect(end.closed?.kind == .rst)
        #expect(end.ended == ExchangeEnd(end: .upstreamError("Connection reset by peer"), profile: "p", status: 200, announce: true, at: 0,
                                         clientReset: true))
    }

    @Test func cleanEndAfterACompleteBodyKeepsTheClient() {
        var h = Harness()
        h.respond(responseHead(200, [("Content-Length", "1")]))
        h.send(.responseBodyRelayed(done: true, clientBacklog: 0))
        #expect(h.send(.ended(.upstream, .eof)).isEmpty)  // already over
        #expect(h.state == "awaitingHead")
    }

    @Test func brokenFramingMidBodyEndsTheClient() {
        var h = Harness()
        h.respond(responseHead(200, [("Transfer-Encoding", "chunked")]))
        let end = h.send(.responseBodyInvalid("bad chunk size"))
        #expect(end.closed?.kind == .fin)
        #expect(end.ended?.end == .upstreamError("invalid framing: bad chunk size"))
    }

    @Test func eventStreamIsObservedAndRecorded() {
        var h = Harness()
        h.now = 4 * ms
        let acts = h.respond(responseHead(200, eventStream))
        #expect(acts.body?.mode.name == "observed")
        #expect(acts.ledger == [.open(at: 4 * ms), .responseStarted(status: 200, contentType: "text/event-stream", synthetic: false, at: 4 * ms)])
    }
}

@Suite struct ShutdownTests {
    @Test func idleConnectionClosesAtOnce() {
        var h = Harness()
        let acts = h.send(.shutdown)
        #expect(acts.closed?.reason == "shutdown")
    }

    @Test func partialHeadWaits() {
        var h = Harness()
        h.send(.headBytes)
        #expect(h.send(.shutdown).isEmpty)
    }

    @Test func streamsEndNow() {
        var h = Harness()
        h.respond(responseHead(200, eventStream))
        let acts = h.send(.shutdown)
        #expect(acts.ended?.end == .shutdown)
        #expect(acts.closed?.kind == .fin)
    }

    @Test func plainExchangeFinishesThenCloses() {
        var h = Harness()
        h.begin()
        #expect(h.send(.shutdown).isEmpty)
        h.send(.connected)
        let head = h.send(.upstreamHead(responseHead(200, [("Content-Length", "2")])))
        #expect(head.written.contains("Connection: close\r\n"))
        let done = h.send(.responseBodyRelayed(done: true, clientBacklog: 0))
        #expect(done.closed?.reason == "response complete")
        #expect(done.ended?.end == .upstreamEnd)
    }

    @Test func serverStopEndsTheExchange() {
        var h = Harness()
        h.respond(responseHead(200, [("Content-Length", "2")]))
        let acts = h.send(.stop(reason: "loop stopped", close: .rstNow, end: .shutdown))
        #expect(acts.closed?.kind == .rstNow)
        #expect(acts.ended?.end == .shutdown)
        #expect(h.send(.stop(reason: "again", close: .fin, end: .shutdown)).isEmpty)
    }
}

@Suite struct BoundedWaitTests {
    static let bounded = SessionConfig(headTimeout: 30_000 * ms, keepAliveTimeout: 75_000 * ms, connectTimeout: 10_000 * ms,
                                       highWater: 1000, lowWater: 100, recordLedger: true, responseHeadTimeout: 60_000 * ms,
                                       requestBodyTimeout: 20_000 * ms, streamIdleTimeout: 90_000 * ms)

    @Test func responseHeadTimeoutIs504NamingTheUpstream() {
        var h = Harness(config: Self.bounded)
        h.begin()
        let connected = h.send(.connected)
        #expect(connected.armed(.responseHead) == 60_000 * ms)
        h.now = 60_000 * ms
        let acts = h.send(.timerFired(.responseHead))
        #expect(acts.written.hasPrefix("HTTP/1.1 504 "))
        #expect(acts.written.contains("upstream http://origin:5000 sent no response head within 60000 ms"))
        #expect(acts.metrics.contains(.upstreamError(kind: "upstream-timeout")))
        #expect(acts.closed != nil)
    }

    @Test func responseHeadTimerStartsOnceTheRequestBodyIsIn() {
        var h = Harness(config: Self.bounded)
        h.begin(request("POST", framing: .contentLength(10)))
        #expect(h.send(.connected).armed(.responseHead) == nil)
        #expect(h.send(.requestBodyRelayed(done: true, upstreamBacklog: 0)).armed(.responseHead) == 60_000 * ms)
    }

    @Test func responseHeadTimerIsCancelledByTheHeadAndStaleAfterIt() {
        var h = Harness(config: Self.bounded)
        h.begin()
        h.send(.connected)
        let head = h.send(.upstreamHead(responseHead(200, [("Content-Length", "5")])))
        #expect(head.steps.contains(.cancel(.responseHead)))
        #expect(h.send(.timerFired(.responseHead)).isEmpty)
    }

    @Test func noResponseHeadLimitWhenUnset() {
        var h = Harness()
        h.begin()
        #expect(h.send(.connected).armed(.responseHead) == nil)
        #expect(h.send(.timerFired(.responseHead)).isEmpty)
    }

    @Test func idleRequestBodyIs408() {
        var h = Harness(config: Self.bounded)
        let acts = h.begin(request("POST", framing: .contentLength(100)))
        #expect(acts.armed(.requestBody) == 20_000 * ms)
        h.now = 5_000 * ms
        h.send(.requestBodyRelayed(done: false, upstreamBacklog: 10))
        h.now = 20_000 * ms
        // Bytes came 15 s ago: wait the rest.
        #expect(h.send(.timerFired(.requestBody)).armed(.requestBody) == 5_000 * ms)
        h.now = 25_000 * ms
        let timeout = h.send(.timerFired(.requestBody))
        #expect(timeout.written.hasPrefix("HTTP/1.1 408 "))
        #expect(timeout.written.contains("request body not received within 20000 ms"))
        #expect(timeout.closed != nil)
    }

    @Test func requestBodyHeldByBackPressureIsNotIdle() {
        var h = Harness(config: Self.bounded)
        h.begin(request("POST", framing: .contentLength(100_000)))
        h.send(.requestBodyRelayed(done: false, upstreamBacklog: 5000))  // pauses the client
        h.now = 100_000 * ms
        let acts = h.send(.timerFired(.requestBody))
        #expect(acts.writes.isEmpty)
        #expect(acts.armed(.requestBody) == 20_000 * ms)
    }

    @Test func completeRequestBodyNeedsNoTimer() {
        var h = Harness(config: Self.bounded)
        #expect(h.begin().armed(.requestBody) == nil)
        h.begin(request("POST", framing: .contentLength(1)))
        h.send(.requestBodyRelayed(done: true, upstreamBacklog: 0))
        h.now = 1_000_000 * ms
        #expect(h.send(.timerFired(.requestBody)).isEmpty)
    }

    @Test func silentStreamEnds() {
        var h = Harness(config: Self.bounded)
        let acts = h.respond(responseHead(200, eventStream))
        #expect(acts.armed(.streamIdle) == 90_000 * ms)
        h.now = 30_000 * ms
        h.send(.responseBodyRelayed(done: false, clientBacklog: 0))
        h.now = 90_000 * ms
        #expect(h.send(.timerFired(.streamIdle)).armed(.streamIdle) == 30_000 * ms)
        h.now = 120_000 * ms
        let end = h.send(.timerFired(.streamIdle))
        #expect(end.closed?.kind == .fin)
        #expect(end.ended?.end == .upstreamError("upstream http://origin:5000 silent for 90000 ms"))
        #expect(end.metrics.contains(.upstreamError(kind: "stream-idle")))
    }

    @Test func streamHeldByASlowClientIsNotSilent() {
        var h = Harness(config: Self.bounded)
        h.respond(responseHead(200, eventStream))
        h.send(.responseBodyRelayed(done: false, clientBacklog: 5000))  // pauses the upstream
        h.now = 500_000 * ms
        let acts = h.send(.timerFired(.streamIdle))
        #expect(acts.closed == nil)
        #expect(acts.armed(.streamIdle) == 90_000 * ms)
    }

    @Test func plainResponsesAndShapedStreams() {
        var plain = Harness(config: Self.bounded)
        #expect(plain.respond(responseHead(200, [("Content-Length", "5")])).armed(.streamIdle) == nil)
        var shaped = Harness(config: Self.bounded)
        #expect(shaped.respond(faults: [FaultSpec(.drop(DropFault(everyNth: 2)))], responseHead(200, eventStream)).armed(.streamIdle) == 90_000 * ms)
        shaped.now = 90_000 * ms
        #expect(shaped.send(.timerFired(.streamIdle)).ended?.end == .upstreamError("upstream http://origin:5000 silent for 90000 ms"))
    }

    @Test func heldHeadArmsTheIdleTimerAtRelease() {
        var h = Harness(config: Self.bounded)
        let acts = h.respond(faults: [FaultSpec(.delay(DelayFault(firstByte: 1_000 * ms)))], responseHead(200, eventStream))
        #expect(acts.armed(.streamIdle) == nil)
        h.now = 1_000 * ms
        #expect(h.send(.timerFired(.firstByte)).armed(.streamIdle) == 90_000 * ms)
    }

    @Test func endlessEarlyHintsStopAtTheHighWatermark() {
        var h = Harness()
        h.begin()
        h.send(.connected)
        var early = responseHead(103, [("Link", "</a.css>")])
        early.reason = "Early Hints"
        let size = early.serialized().count
        #expect(h.send(.upstreamHead(early, clientBacklog: 0)).steps == [.write])
        #expect(h.machine.upstreamReading == .head)
        let full = h.send(.upstreamHead(early, clientBacklog: 1000 - size))
        #expect(full.steps == [.write, .pause(.upstream)])
        #expect(h.machine.upstreamReading == .none)  // the driver parses no more heads
        #expect(h.send(.drained(.client)).steps == [.resume(.upstream), .readUpstream])
        #expect(h.machine.upstreamReading == .head)
    }
}
