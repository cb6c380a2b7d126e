// Compiled by `tsc -p tsconfig.json` (no emit): the declarations describe a usable API.
import { startDemoOrigin, startSputter, WaitTimeout, ControlError, type WaitResult } from "../sputter.mjs";

export async function example(): Promise<number> {
  const origin = await startDemoOrigin();
  const sputter = await startSputter({ upstream: origin.url, profile: "passthrough", seed: 7 });
  const defined = await sputter.defineProfile({ name: "cut", description: "reset after 3", faults: [{ disconnect: { after_events: 3, kind: "rst" } }] });
  const replaced: boolean = defined.replaced;
  await sputter.next("k", { respond: { status: 503, retry_after: 1 }, count: 2 });
  const url: string = sputter.streamUrl("/events", { client: "k", profile: "cut" });
  let result: WaitResult | undefined;
  try {
    result = await sputter.wait("k", { received: 3, timeoutMs: 1000 });
  } catch (error) {
    if (error instanceof WaitTimeout) result = error.result;
    else if (error instanceof ControlError) return error.status;
  }
  const summary = (await sputter.client("k")).summary;
  await sputter.stop();
  await origin.stop();
  return (result?.progress?.dispatched ?? 0) + summary.missing + (replaced ? 1 : 0) + url.length;
}
