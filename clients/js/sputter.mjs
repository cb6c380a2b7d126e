// Drive Sputter from JavaScript tests (node:test, Vitest, Playwright Test): start the `sputter` binary
// on ports the kernel picks, and use its control API — runtime profiles, faults for a client's next
// attempts, waits on the ledger — with no dependency but Node itself (18 or later: global fetch).
import { spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, isAbsolute, join, resolve, sep } from "node:path";
import { createInterface } from "node:readline";

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

/** Sputter could not be found, started or stopped. */
export class SputterError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "SputterError";
  }
}

/** The control API answered with an error status; `status` and the parsed `body` say which and why. */
export class ControlError extends SputterError {
  constructor(method, path, status, body) {
    const reason = body && typeof body === "object" && "error" in body ? body.error : JSON.stringify(body);
    super(`${method} ${path}: ${status}: ${reason}`);
    this.name = "ControlError";
    this.status = status;
    this.body = body;
  }
}

/** A wait's condition did not hold within its timeout; `result` is the control API's answer (with `progress`). */
export class WaitTimeout extends SputterError {
  constructor(key, result) {
    super(`client ${JSON.stringify(key)}: ${result.condition} not reached within ${result.waited_ms} ms (progress: ${JSON.stringify(result.progress)})`);
    this.name = "WaitTimeout";
    this.result = result;
  }
}

/** The `sputter` executable: `explicit`, else `$SPUTTER`, else `sputter` on PATH. */
export function findBinary(explicit) {
  const [source, value] = explicit ? ["binary", explicit] : process.env.SPUTTER ? ["$SPUTTER", process.env.SPUTTER] : ["PATH", "sputter"];
  const executable = (path) => {
    try {
      accessSync(path, constants.X_OK);
      return statSync(path).isFile();
    } catch {
      return false;
    }
  };
  if (!value.includes(sep)) {
    for (const dir of (process.env.PATH ?? "").split(delimiter)) {
      if (dir && executable(join(dir, value))) return join(dir, value);
    }
    if (source === "PATH") {
      throw new SputterError("no `sputter` on PATH: build it (`swift build --product sputter`) and pass { binary } or set SPUTTER=PATH");
    }
  }
  const path = isAbsolute(value) ? value : resolve(value);
  if (!executable(path)) throw new SputterError(`${source}: ${value} is not an executable file`);
  return path;
}

/** A child process whose stdout lines are collected; stderr's tail is kept for error messages. */
class Child {
  constructor(name, args) {
    this.name = name;
    this.args = args;
    this.lines = [];
    this.stderr = "";
    this.waiters = new Set();
    this.proc = spawn(args[0], args.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    this.exited = new Promise((resolveExit) => {
      this.proc.on("exit", (code, signal) => resolveExit(code ?? signal));
      this.proc.on("error", (error) => {
        this.stderr += `\n${error.message}`;
        resolveExit(-1);
      });
    });
    this.exited.then(() => this.notify());
    createInterface({ input: this.proc.stdout }).on("line", (line) => {
      this.lines.push(line);
      this.notify();
    });
    this.proc.stderr.on("data", (chunk) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
  }

  notify() {
    for (const check of [...this.waiters]) check();
  }

  output() {
    return `$ ${this.args.join(" ")}\n--- stdout\n${this.lines.slice(-40).join("\n")}\n--- stderr (tail)\n${this.stderr}`;
  }

  /** The first stdout line matching `pattern`, as a match. */
  waitForLine(pattern, timeoutMs = START_TIMEOUT_MS) {
    return new Promise((resolveLine, reject) => {
      let timer;
      const check = () => {
        for (const line of this.lines) {
          const m = line.match(pattern);
          if (m) {
            finish();
            return resolveLine(m);
          }
        }
        if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
          finish();
          reject(new SputterError(`${this.name} exited before printing ${pattern}\n${this.output()}`));
        }
      };
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      timer = setTimeout(() => {
        finish();
        reject(new SputterError(`${this.name} printed no line matching ${pattern} within ${timeoutMs} ms\n${this.output()}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with the exit code (or signal name). */
  async stop(timeoutMs = STOP_TIMEOUT_MS) {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.exited;
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

function query(params) {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== false)
    .map(([k, v]) => (v === true ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`));
  return parts.length ? `?${parts.join("&")}` : "";
}

/** A running `sputter serve`. Create it with `startSputter`. */
export class Sputter {
  constructor(child, url, controlUrl, ledgerPath, workDir, controlToken = null) {
    this.child = child;
    /** Where clients connect: `http://127.0.0.1:PORT`. */
    this.url = url;
    /** The control API: `http://127.0.0.1:PORT`. */
    this.controlUrl = controlUrl;
    /** The ledger file (JSON Lines), or null without one. */
    this.ledgerPath = ledgerPath;
    this.workDir = workDir;
    /** Sent as `Authorization: Bearer` on every control-API call (`--control-token`). */
    this.controlToken = controlToken;
  }

  /** A URL through Sputter with the profile, client key and seed as query parameters (EventSource can't set headers). */
  streamUrl(path, { profile, client, seed } = {}) {
    const extra = query({ sputter_profile: profile, sputter_client: client, sputter_seed: seed });
    if (!extra) return this.url + path;
    return this.url + path + (path.includes("?") ? `&${extra.slice(1)}` : extra);
  }

  /** One control-API call: the parsed JSON answer, or a `ControlError`. */
  async request(method, path, body, { accept = [] } = {}) {
    const init = { method, headers: {} };
    if (this.controlToken) init.headers.Authorization = `Bearer ${this.controlToken}`;
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      init.headers["Content-Type"] = typeof body === "string" ? "application/yaml" : "application/json";
    }
    const response = await fetch(this.controlUrl + path, init);
    const text = await response.text();
    let parsed;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    if (!response.ok && !accept.includes(response.status)) throw new ControlError(method, path, response.status, parsed);
    return { status: response.status, body: parsed };
  }

  async health() {
    return (await this.request("GET", "/health")).body;
  }

  /** Every profile with its name, description, file and origin (`file`, `runtime` or `built-in`). */
  async profiles() {
    return (await this.request("GET", "/profiles")).body.profiles;
  }

  /**
   * Defines (or replaces) a runtime profile. `profile` is YAML/JSON text, or an object sent as JSON.
   * An invalid profile rejects with a `ControlError` whose body names the line and field.
   */
  async defineProfile(profile) {
    return (await this.request("POST", "/profiles", profile)).body;
  }

  /** Removes a profile defined with `defineProfile`. */
  async deleteProfile(name) {
    return (await this.request("DELETE", `/profiles/${encodeURIComponent(name)}`)).body;
  }

  async settings() {
    return (await this.request("GET", "/settings")).body;
  }

  /** Sets the runtime default profile and/or seed (`null` clears one). */
  async setSettings(settings) {
    return (await this.request("PUT", "/settings", settings)).body;
  }

  /** Forgets attempt counters, queued next attempts and the ledger. */
  async reset() {
    return (await this.request("POST", "/reset")).body;
  }

  /** The ledger's summary of every client. */
  async clients() {
    return (await this.request("GET", "/clients")).body.clients;
  }

  /** One client: summary, findings, connections (with predictions), events. */
  async client(key) {
    return (await this.request("GET", `/clients/${encodeURIComponent(key)}`)).body;
  }

  /** One connection's records. */
  async connection(id) {
    return (await this.request("GET", `/connections/${id}`)).body;
  }

  /**
   * The client's next `count` attempts take these faults instead of their profile's:
   * `{ faults: [{ disconnect: { after_events: 3, kind: "rst" } }] }` or `{ respond: { status: 503, retry_after: 2 } }`.
   */
  async next(key, { faults, respond, count } = {}) {
    const body = {};
    if (faults !== undefined) body.faults = faults;
    if (respond !== undefined) body.respond = respond;
    if (count !== undefined) body.count = count;
    return (await this.request("POST", `/clients/${encodeURIComponent(key)}/next`, body)).body;
  }

  /** Forgets what `next` queued for the client. */
  async clearNext(key) {
    return (await this.request("DELETE", `/clients/${encodeURIComponent(key)}/next`)).body;
  }

  /**
   * Ends the client's open streams: `kind` "rst" (default), "fin" or "clean" (a complete chunked end, then FIN);
   * now, or after `afterEvents` more events reach the client. Rejects with `ControlError` 404 (unknown client)
   * or 409 (no open stream).
   */
  async cut(key, { kind = "rst", afterEvents } = {}) {
    const body = { kind };
    if (afterEvents !== undefined) body.after_events = afterEvents;
    return this.#live(key, "cut", body);
  }

  /** Holds the client's open streams, sockets open (comment-only frames pass with `heartbeats`). */
  async stall(key, { heartbeats = false } = {}) {
    return this.#live(key, "stall", heartbeats ? { heartbeats: true } : {});
  }

  /** Lets stalled streams go on: what was held is written in order. */
  async resume(key) {
    return this.#live(key, "resume", {});
  }

  /** Writes one event between frames: `{ raw: "data: x\n\n" }` or `{ event, data, id }`. */
  async inject(key, event) {
    return this.#live(key, "inject", event);
  }

  /** The client's open streams take this fault list (profile syntax) from now on. */
  async faults(key, faults) {
    return this.#live(key, "faults", { faults });
  }

  async #live(key, verb, body) {
    return (await this.request("POST", `/clients/${encodeURIComponent(key)}/${verb}`, body)).body;
  }

  /**
   * Waits, without sleeping, until the client has `received` messages, `reconnected` times, or is `settled`
   * (nothing new for `quietMs`). Resolves with the answer (`progress` says where the client stands); rejects
   * with `WaitTimeout` after `timeoutMs` (default 10 s).
   */
  async wait(key, { received, reconnected, settled, quietMs, timeoutMs } = {}) {
    const path = `/clients/${encodeURIComponent(key)}/wait` +
      query({ received, reconnected, settled: settled ? true : undefined, quiet_ms: quietMs, timeout_ms: timeoutMs });
    const { status, body } = await this.request("GET", path, undefined, { accept: [408] });
    if (status === 408) throw new WaitTimeout(key, body);
    return body;
  }

  /** Stops Sputter (SIGTERM: streams end, the ledger is written) and resolves with its exit code. */
  async stop() {
    const code = await this.child.stop();
    if (this.workDir) rmSync(this.workDir, { recursive: true, force: true });
    return code;
  }

  async [Symbol.asyncDispose]() {
    await this.stop();
  }

  /** What the process printed (for failure messages). */
  output() {
    return this.child.output();
  }
}

/**
 * Starts `sputter serve --listen 127.0.0.1:0 --control 127.0.0.1:0` in front of `upstream`, and resolves once it
 * prints its addresses.
 */
export async function startSputter({
  upstream,
  binary,
  profile,
  profiles,
  seed,
  ledger = true,
  controlToken = process.env.SPUTTER_CONTROL_TOKEN || undefined,
  args = [],
  startTimeoutMs = START_TIMEOUT_MS,
} = {}) {
  const upstreams = Array.isArray(upstream) ? upstream : [upstream];
  if (!upstreams.length || upstreams.some((u) => typeof u !== "string" || !u)) {
    throw new SputterError("startSputter needs { upstream: 'http://127.0.0.1:PORT' } (or a list)");
  }
  const path = findBinary(binary);
  let workDir = null;
  let ledgerPath = null;
  if (ledger === true) {
    workDir = mkdtempSync(join(tmpdir(), "sputter-js-"));
    ledgerPath = join(workDir, "ledger.jsonl");
  } else if (typeof ledger === "string") {
    ledgerPath = ledger;
  }
  const argv = [path, "serve", "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0"];
  for (const u of upstreams) argv.push("--upstream", u);
  if (profiles) argv.push("--profiles", profiles);
  if (profile) argv.push("--profile", profile);
  if (seed !== undefined) argv.push("--seed", String(seed));
  if (ledgerPath) argv.push("--ledger", ledgerPath);
  if (controlToken) argv.push("--control-token", controlToken);
  argv.push(...args);
  const child = new Child("sputter", argv);
  try {
    const listening = await child.waitForLine(/^sputter listening on (http:\/\/\S+)/, startTimeoutMs);
    const control = await child.waitForLine(/^control API (?:on (http:\/\/\S+)|off)/, startTimeoutMs);
    return new Sputter(child, listening[1], control[1] ?? null, ledgerPath, workDir, controlToken ?? null);
  } catch (error) {
    await child.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
    throw error;
  }
}

/** A running `sputter demo-origin`: Sputter's built-in SSE origin (`/events`, `/json`, …). */
export class DemoOrigin {
  constructor(child, url) {
    this.child = child;
    this.url = url;
  }

  async stop() {
    return this.child.stop();
  }

  async [Symbol.asyncDispose]() {
    await this.stop();
  }
}

/** Starts `sputter demo-origin --listen 127.0.0.1:0`. */
export async function startDemoOrigin({ binary, startTimeoutMs = START_TIMEOUT_MS } = {}) {
  const child = new Child("demo-origin", [findBinary(binary), "demo-origin", "--listen", "127.0.0.1:0"]);
  try {
    const m = await child.waitForLine(/^demo origin listening on (http:\/\/\S+)/, startTimeoutMs);
    return new DemoOrigin(child, m[1]);
  } catch (error) {
    await child.stop();
    throw error;
  }
}
