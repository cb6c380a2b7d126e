// Types for sputter.mjs (checked with TypeScript 4.8; `Symbol.asyncDispose` is there at run time but not declared): drive Sputter, the fault-injecting SSE proxy, from JavaScript tests.

/** Sputter could not be found, started or stopped. */
export class SputterError extends Error {}

/** The control API answered with an error status. */
export class ControlError extends SputterError {
  /** The HTTP status (400 bad input, 404 unknown, 409 not possible now…). */
  readonly status: number;
  /** The parsed JSON answer; `error` says why. */
  readonly body: { error?: string; [key: string]: unknown } | string | null;
}

/** A wait's condition did not hold within its timeout. */
export class WaitTimeout extends SputterError {
  readonly result: WaitResult;
}

/** The `sputter` executable: `explicit`, else `$SPUTTER`, else `sputter` on PATH. */
export function findBinary(explicit?: string): string;

/** One fault as a profile lists it, e.g. `{ disconnect: { after_events: 3, kind: "rst" } }`. */
export type FaultSpec = Record<string, unknown>;

/** A profile as an object (sent as JSON); see docs/FAULTS.md for the keys. */
export interface ProfileDocument {
  name: string;
  description: string;
  seed?: number;
  match?: { path?: string; method?: string };
  faults?: FaultSpec[];
  attempts?: Record<string, FaultSpec[]>;
  [key: string]: unknown;
}

export interface ProfileInfo {
  name: string;
  description: string;
  file: string | null;
  origin: "file" | "runtime" | "built-in";
}

export interface DefinedProfile {
  defined: string;
  origin: "runtime";
  /** A runtime profile of that name existed and was replaced. */
  replaced: boolean;
  /** The file whose profile of the same name this one shadows, if any. */
  shadows: string | null;
  profiles: string[];
}

export interface Settings {
  profile: string | null;
  seed: number | null;
  effective_profile: string;
  effective_seed: number;
  cli_profile: string | null;
  locked: boolean;
  [key: string]: unknown;
}

/** The ledger's standing of one client. */
export interface ClientSummary {
  client: string;
  connections: number;
  reconnects: number;
  open: number;
  expected: number;
  received: number;
  missing: number;
  duplicated: number;
  unexpected: number;
  findings: number;
  missing_ids: string[];
  duplicated_ids: string[];
  last_event_id: string;
  reconnection_ms: number;
  failed: boolean;
  verdict: string;
  [key: string]: unknown;
}

export interface ClientReport {
  summary: ClientSummary;
  findings: Array<Record<string, unknown>>;
  connections: Array<Record<string, unknown>>;
  events?: Array<Record<string, unknown>>;
  [key: string]: unknown;
}

export interface NextOptions {
  /** Faults, as a profile lists them. */
  faults?: FaultSpec[];
  /** Shorthand for one `respond` fault, e.g. `{ status: 503, retry_after: 2 }`. */
  respond?: Record<string, unknown>;
  /** How many of the next attempts take them (default 1). */
  count?: number;
}

/** The answer to a live action (`cut`, `stall`, `resume`, `inject`, `faults`). */
export interface LiveAnswer {
  client: string;
  /** The connections acted on. */
  connections: number[];
  action: "cut" | "stall" | "resume" | "inject" | "faults";
  kind?: "rst" | "fin" | "clean";
  after_events?: number | null;
  heartbeats?: boolean;
  bytes?: number;
  faults?: string[];
}

export interface Queued {
  client: string;
  queued: number;
  pending: number;
  faults: string[];
}

/** How far a client has got. */
export interface ClientProgress {
  connections: number;
  open_connections: number;
  reconnects: number;
  /** Messages a spec-exact client dispatched from the bytes delivered. */
  dispatched: number;
  delivered_bytes: number;
}

export interface WaitOptions {
  /** At least this many messages dispatched (over all connections). */
  received?: number;
  /** At least this many reconnects. */
  reconnected?: number;
  /** Nothing new (connections, messages) for `quietMs`. */
  settled?: boolean;
  quietMs?: number;
  /** Default 10 000; at most 300 000. */
  timeoutMs?: number;
}

export interface WaitResult {
  client: string;
  condition: string;
  met: boolean;
  waited_ms: number;
  /** null when the ledger has not seen the client. */
  progress: ClientProgress | null;
  /** On a timeout for an unknown client: the keys the ledger knows. */
  clients?: string[];
}

export interface StreamUrlOptions {
  profile?: string;
  client?: string;
  seed?: number | bigint | string;
}

/** A running `sputter serve`. */
export class Sputter {
  /** Where clients connect: `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** The control API, or null when it is off. */
  readonly controlUrl: string | null;
  /** The ledger file (JSON Lines), or null without one. */
  readonly ledgerPath: string | null;
  /** The control token sent with every control-API call, or null. */
  readonly controlToken: string | null;

  streamUrl(path: string, options?: StreamUrlOptions): string;
  request(method: string, path: string, body?: string | object, options?: { accept?: number[] }): Promise<{ status: number; body: any }>;
  health(): Promise<{ ok: boolean }>;
  profiles(): Promise<ProfileInfo[]>;
  defineProfile(profile: string | ProfileDocument): Promise<DefinedProfile>;
  deleteProfile(name: string): Promise<{ deleted: string; restored_from_file: string | null; profiles: string[] }>;
  settings(): Promise<Settings>;
  setSettings(settings: { profile?: string | null; seed?: number | string | null }): Promise<Settings>;
  reset(): Promise<{ reset: boolean }>;
  clients(): Promise<ClientSummary[]>;
  client(key: string): Promise<ClientReport>;
  connection(id: number): Promise<Record<string, unknown>>;
  next(key: string, options: NextOptions): Promise<Queued>;
  clearNext(key: string): Promise<{ client: string; dropped: number }>;
  /** Ends the client's open streams, now or after `afterEvents` more events. */
  cut(key: string, options?: { kind?: "rst" | "fin" | "clean"; afterEvents?: number }): Promise<LiveAnswer>;
  /** Holds the client's open streams, sockets open. */
  stall(key: string, options?: { heartbeats?: boolean }): Promise<LiveAnswer>;
  resume(key: string): Promise<LiveAnswer>;
  /** Writes one event between frames. */
  inject(key: string, event: { raw: string } | { event?: string; data: string; id?: string }): Promise<LiveAnswer>;
  /** The open streams take this fault list from now on. */
  faults(key: string, faults: FaultSpec[]): Promise<LiveAnswer>;
  wait(key: string, options: WaitOptions): Promise<WaitResult>;
  /** SIGTERM (streams end, the ledger is written); resolves with the exit code. */
  stop(): Promise<number | string>;
  output(): string;
}

export interface StartOptions {
  /** `http://127.0.0.1:PORT`, or `PREFIX=URL`; several allowed. */
  upstream: string | string[];
  /** The `sputter` executable (default: $SPUTTER, else PATH). */
  binary?: string;
  /** Default profile for requests that name none. */
  profile?: string;
  /** Directory of profile files. */
  profiles?: string;
  seed?: number | bigint | string;
  /** true (default): a ledger file in a temporary directory; a path; or false for none. */
  ledger?: boolean | string;
  /** `--control-token`: every control-API call then carries `Authorization: Bearer TOKEN` (default $SPUTTER_CONTROL_TOKEN). */
  controlToken?: string;
  /** More `sputter serve` options. */
  args?: string[];
  startTimeoutMs?: number;
}

export function startSputter(options: StartOptions): Promise<Sputter>;

/** A running `sputter demo-origin`. */
export class DemoOrigin {
  readonly url: string;
  stop(): Promise<number | string>;
}

export function startDemoOrigin(options?: { binary?: string; startTimeoutMs?: number }): Promise<DemoOrigin>;
