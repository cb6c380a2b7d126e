import HTTP1
import Testing

@testable import Session

/// `awaitingBody`: the request body is read (bounded, timed) before selection when a profile selects by body.
@Suite struct BodyMatchMachineTests {
    static let bounded = SessionConfig(headTimeout: 30_000 * ms, keepAliveTimeout: 75_000 * ms, connectTimeout: 10_000 * ms,
                                       highWater: 1000, lowWater: 100, recordLedger: true, requestBodyTimeout: 20_000 * ms)
    static let address = UpstreamAddress("10.0.0.1:5000")

    func post(_ framing: BodyFraming, limit: Int? = 64) -> Request {
        var r = request("POST", [("Content-Type", "application/json")], framing: framing)
        r.bodyMatchLimit = limit
        return r
    }

    @Test func bodyArrivingInPiecesIsReadBeforeSelection() {
        var h = Harness(config: Self.bounded)
        h.send(.requestHead(post(.chunked)))
        let resolved = h.send(.resolved(.success(Self.address)))
        #expect(resolved.steps == [.arm(.requestBody), .bufferBody])
        #expect(resolved.armed(.requestBody) == 20_000 * ms)
        guard case .bufferBody(let limit)? = resolved.last else { Issue.record("no bufferBody"); return }
        #expect(limit == 64)
        #expect(h.state == "awaitingBody")
        #expect(h.machine.isAwaitingBody)
        // Pieces: nothing is selected, connected or sent until the body is in.
        h.now = 5_000 * ms
        #expect(h.send(.requestBodyBuffered(complete: false)).isEmpty)
        h.now = 10_000 * ms
        #expect(h.send(.requestBodyBuffered(complete: false)).isEmpty)
        #expect(h.state == "awaitingBody")
        #expect(h.machine.upstreamReading == .none)
        h.now = 12_000 * ms
        let done = h.send(.requestBodyBuffered(complete: true))
        #expect(done.steps == [.cancel(.requestBody), .select])
        #expect(h.state == "selecting")
        // Then as always: connect, and the body (still in the client's input) is relayed under the body timer.
        let selected = h.send(.selected(Selected(profile: "p", faultPlan: nil)))
        #expect(selected.steps == [.arm(.requestBody), .connect])
    }

    @Test func pieceResetsTheIdleClockOfTheBodyTimer() {
        var h = Harness(config: Self.bounded)
        h.send(.requestHead(post(.contentLength(40))))
        h.send(.resolved(.success(Self.address)))
        h.now = 15_000 * ms
        h.send(.requestBodyBuffered(complete: false))
        h.now = 20_000 * ms
        // Bytes came 5 s ago: the timer waits the rest.
        #expect(h.send(.timerFired(.requestBody)).armed(.requestBody) == 15_000 * ms)
        #expect(h.state == "awaitingBody")
    }

    @Test func bodyTimeoutWhileWaitingIs408AndNothingIsSelected() {
        var h = Harness(config: Self.bounded)
        h.send(.requestHead(post(.contentLength(40))))
        h.send(.resolved(.success(Self.address)))
        h.now = 20_000 * ms
        let acts = h.send(.timerFired(.requestBody))
        #expect(acts.written.hasPrefix("HTTP/1.1 408 "))
        #expect(acts.written.contains("request body not received within 20000 ms"))
        #expect(!acts.steps.contains(.select) && !acts.steps.contains(.connect))
        #expect(acts.ended == nil)  // never selected: no metrics, no ledger
        #expect(acts.ledger.isEmpty)
        #expect(h.state == "closed")
    }

    @Test func bodyOverTheBoundEndsTheWaitAtOnce() {
        // The driver reports "complete" when the bound is reached (or a Content-Length is over it): selection
        // then goes on without a body, which no body matcher matches.
        var h = Harness(config: Self.bounded)
        h.send(.requestHead(post(.contentLength(1_000_000))))
        h.send(.resolved(.success(Self.address)))
        #expect(h.send(.requestBodyBuffered(complete: true)).steps == [.cancel(.requestBody), .select])
        #expect(h.state == "selecting")
    }

    @Test func invalidChunkedBodyWhileWaitingIs400() {
        var h = Harness(config: Self.bounded)
        h.send(.requestHead(post(.chunked)))
        h.send(.resolved(.success(Self.address)))
        let acts = h.send(.requestBodyInvalid(ErrorReply(status: 400, kind: "bad-request", message: "request body: bad chunk size")))
        #expect(acts.written.hasPrefix("HTTP/1.1 400 "))
        #expect(h.state == "closed")
    }

    @Test func clientLeavingWhileWaitingCloses() {
        var h = Harness(config: Self.bounded)
        h.send(.requestHead(post(.chunked)))
        h.send(.resolved(.success(Self.address)))
        let acts = h.send(.ended(.client, .eof))
        #expect(acts.closed?.reason == "client closed")
        #expect(acts.ended == nil)
    }

    @Test func requestWithoutBodyIsNotRead() {
        var h = Harness(config: Self.bounded)
        h.send(.requestHead(post(.contentLength(0))))
        #expect(h.send(.resolved(.success(Self.address))).steps == [.select])
        var g = Harness(config: Self.bounded)
        g.send(.requestHead(post(.none)))
        #expect(g.send(.resolved(.success(Self.address))).steps == [.select])
    }

    @Test func withoutBodyMatchersTheRequestTakesTodaysPath() {
        // No limit: select right after resolving, connect at once, and the body is relayed as it comes.
        var h = Harness(config: Self.bounded)
        h.send(.requestHead(post(.chunked, limit: nil)))
        #expect(h.send(.resolved(.success(Self.address))).steps == [.select])
        #expect(h.state == "selecting")
        let selected = h.send(.selected(Selected(profile: "p", faultPlan: nil)))
        #expect(selected.steps == [.arm(.requestBody), .connect])
        // A stray report (no read ahead in progress) changes nothing.
        #expect(h.send(.requestBodyBuffered(complete: true)).isEmpty)
        #expect(h.state == "connecting")
    }

    @Test func keepAliveSecondRequestIsReadAgain() {
        var h = Harness(config: Self.bounded)
        h.send(.requestHead(post(.contentLength(10))))
        h.send(.resolved(.success(Self.address)))
        h.send(.requestBodyBuffered(complete: true))
        h.send(.selected(Selected(profile: "p", faultPlan: nil)))
        h.send(.connected)
        h.send(.requestBodyRelayed(done: true, upstreamBacklog: 0))
        h.send(.upstreamHead(responseHead(200, [("Content-Length", "2")])))
        let done = h.send(.responseBodyRelayed(done: true, clientBacklog: 0))
        #expect(done.steps.contains(.readHead))
        #expect(h.state == "awaitingHead")
        // The second request on the connection reads its body too, and the first one's peek is not reused.
        h.send(.requestHead(post(.contentLength(5))))
        #expect(h.send(.resolved(.success(Self.address))).steps == [.arm(.requestBody), .bufferBody])
        #expect(h.state == "awaitingBody")
        #expect(h.send(.requestBodyBuffered(complete: true)).steps == [.cancel(.requestBody), .select])
        #expect(h.machine.requests == 2)
    }

    @Test func noBodyTimerWhenUnset() {
        var h = Harness()
        h.send(.requestHead(post(.chunked)))
        #expect(h.send(.resolved(.success(Self.address))).steps == [.bufferBody])
        #expect(h.send(.timerFired(.requestBody)).isEmpty)
        #expect(h.state == "awaitingBody")
    }
}
