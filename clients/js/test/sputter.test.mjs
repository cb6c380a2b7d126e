// The JavaScript client against the real binary ($SPUTTER, else .build/debug/sputter), with node:test.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ControlError, SputterError, WaitTimeout, findBinary, startDemoOrigin, startSputter } from "../sputter.mjs";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const binary = process.env.SPUTTER ?? join(repo, ".build", "debug", "sputter");

/** Reads an SSE response until `count` events were seen (or the body ends); returns ids and the error, if any. */
async function readEvents(url, { count = Infinity, headers = {} } = {}) {
  const response = await fetch(url, { headers: { Accept: "text/event-stream", ...headers } });
  const ids = [];
  let buffer = "";
  let error = null;
  const decoder = new TextDecoder();
  const reader = response.body?.getReader();
  try {
    while (reader && ids.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = block.split("\n").find((line) => line.startsWith("id:"));
        if (id) ids.push(id.slice(3).trim());
      }
    }
  } catch (e) {
    error = e;
  } finally {
    await reader?.cancel().catch(() => {});
  }
  return { status: response.status, headers: response.headers, ids, error };
}

describe("sputter-testing (JavaScript)", { skip: existsSync(binary) ? false : `no binary at ${binary}` }, () => {
  let origin;
  let sputter;

  before(async () => {
    origin = await startDemoOrigin({ binary });
    sputter = await startSputter({ upstream: origin.url, binary });
  });

  after(async () => {
    const code = await sputter?.stop();
    await origin?.stop();
    assert.equal(code, 0, "sputter exits 0 on SIGTERM");
  });

  test("starts on free ports and answers the control API", async () => {
    assert.match(sputter.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(sputter.controlUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(await sputter.health(), { ok: true });
    assert.ok(sputter.ledgerPath.endsWith("ledger.jsonl"));
    assert.equal(
      sputter.streamUrl("/events?count=3", { client: "a b", profile: "lossy" }),
      `${sputter.url}/events?count=3&sputter_profile=lossy&sputter_client=a%20b`,
    );
  });

  test("a runtime profile is used by the next connection, listed as runtime, and deleted", async () => {
    const defined = await sputter.defineProfile({
      name: "cut-after-2",
      description: "reset after two events",
      faults: [{ disconnect: { after_events: 2, kind: "rst" } }],
    });
    assert.equal(defined.defined, "cut-after-2");
    assert.equal(defined.replaced, false);
    const listed = await sputter.profiles();
    assert.equal(listed.find((p) => p.name === "cut-after-2")?.origin, "runtime");

    const cut = await readEvents(sputter.streamUrl("/events?interval_ms=0&heartbeat_ms=0&count=50", { client: "js-profile", profile: "cut-after-2" }));
    assert.deepEqual(cut.ids, ["1", "2"], "the stream is cut after two events");
    // (Node's fetch ends the body quietly on a reset after whole chunks; the ledger says what happened.)
    const report = await sputter.client("js-profile");
    assert.equal(report.connections[0].profile, "cut-after-2");
    assert.match(report.connections[0].end_summary, /^rst by fault/);
    assert.equal(report.connections[0].prediction.next, "reconnect");

    await sputter.deleteProfile("cut-after-2");
    await assert.rejects(sputter.deleteProfile("cut-after-2"), (e) => e instanceof ControlError && e.status === 404);
  });

  test("an invalid profile is refused with the line and field", async () => {
    await assert.rejects(
      sputter.defineProfile("name: broken\ndescription: x\nfaults:\n  - drop: { probability: 3 }\n"),
      (e) => e instanceof ControlError && e.status === 400 && e.body.line === 4 && /probability/.test(e.body.field),
    );
  });

  test("next: the client's next attempt gets a 503 with Retry-After, then its profile again", async () => {
    const queued = await sputter.next("js-next", { respond: { status: 503, retry_after: 1 } });
    assert.equal(queued.pending, 1);
    const first = await fetch(sputter.streamUrl("/json", { client: "js-next" }));
    assert.equal(first.status, 503);
    assert.equal(first.headers.get("retry-after"), "1");
    await first.arrayBuffer();
    const second = await fetch(sputter.streamUrl("/json", { client: "js-next" }));
    assert.equal(second.status, 200);
    await second.arrayBuffer();
    await assert.rejects(sputter.next("js-next", { faults: [{ nonsense: {} }] }), (e) => e instanceof ControlError && e.status === 400);
  });

  test("wait answers once the client has received enough, without sleeping", async () => {
    const waiting = sputter.wait("js-wait", { received: 5, timeoutMs: 60_000 });
    const stream = readEvents(sputter.streamUrl("/events?interval_ms=10&heartbeat_ms=0&count=100000", { client: "js-wait" }), { count: 40 });
    const result = await waiting;
    assert.equal(result.met, true);
    assert.ok(result.progress.dispatched >= 5);
    assert.ok(result.progress.open_connections >= 1, "answered while the stream is open");
    await stream;
    const settled = await sputter.wait("js-wait", { settled: true, quietMs: 50, timeoutMs: 60_000 });
    assert.equal(settled.progress.open_connections, 0);
    const report = await sputter.client("js-wait");
    assert.equal(report.summary.client, "js-wait");
    assert.ok(report.summary.received >= 5);
  });

  test("live actions: an injected event is dispatched, then a clean cut after events ends the stream", async () => {
    const url = sputter.streamUrl("/events?interval_ms=20", { client: "js-live" });
    const response = await fetch(url, { headers: { Accept: "text/event-stream" } });
    await sputter.wait("js-live", { received: 2 });
    const held = await sputter.stall("js-live");
    assert.equal(held.connections.length, 1);
    await sputter.inject("js-live", { event: "error", data: "boom", id: "X" });
    const cut = await sputter.cut("js-live", { kind: "clean", afterEvents: 1 });
    assert.deepEqual([cut.kind, cut.after_events], ["clean", 1]);
    await sputter.resume("js-live");
    // Dispatch as EventSource does: blocks end at a blank line; type from `event:`, id from `id:`.
    const text = await response.text();  // resolves only for a complete chunked response (the clean cut)
    const events = text.split("\n\n").filter((b) => b.split("\n").some((l) => l.startsWith("data:"))).map((block) => {
      const field = (name) => block.split("\n").find((l) => l.startsWith(name + ":"))?.slice(name.length + 1).trim();
      return { type: field("event") ?? "message", id: field("id"), data: field("data") };
    });
    const x = events.findIndex((e) => e.type === "error");
    assert.deepEqual(events[x], { type: "error", id: "X", data: "boom" });
    assert.equal(events.length - x - 1, 1, "one more event after the injected one, then the end");
    await assert.rejects(sputter.resume("js-live"), (e) => e instanceof ControlError && e.status === 409);
    await assert.rejects(sputter.cut("js-nobody"), (e) => e instanceof ControlError && e.status === 404);
  });

  test("a wait that times out rejects with the client's state", async () => {
    await assert.rejects(sputter.wait("js-nobody", { received: 1, timeoutMs: 20 }), (e) => {
      assert.ok(e instanceof WaitTimeout);
      assert.equal(e.result.met, false);
      assert.equal(e.result.progress, null);
      assert.ok(Array.isArray(e.result.clients));
      return true;
    });
  });
});

test("findBinary says what is wrong", () => {
  assert.throws(() => findBinary("/nonexistent/sputter"), SputterError);
});

test("startSputter needs an upstream", async () => {
  await assert.rejects(startSputter({ binary }), /needs \{ upstream/);
});

test("a control token is sent with every call; without it the control API answers 401", { skip: existsSync(binary) ? false : "no binary" }, async () => {
  const origin = await startDemoOrigin({ binary });
  const guarded = await startSputter({ upstream: origin.url, binary, controlToken: "s3cret-token" });
  try {
    assert.equal((await guarded.profiles()).some((p) => p.name === "passthrough"), true);
    const bare = await fetch(`${guarded.controlUrl}/profiles`);
    assert.equal(bare.status, 401);
    await bare.arrayBuffer();
  } finally {
    assert.equal(await guarded.stop(), 0);
    await origin.stop();
  }
});
