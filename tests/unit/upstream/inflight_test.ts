import assert from "node:assert/strict";
import { InflightAttempts } from "../../../src/upstream/inflight.ts";

/**
 * An abort that resolves a promise, so a test awaits the abort instead of sleeping. The sweep timer is
 * unref'd (in the proxy the upstream request keeps the process alive), so a ref'd timer stands in for it.
 */
function aborted(): { abort: () => void; done: Promise<number> } {
  let resolve!: (at: number) => void;
  const alive = setTimeout(() => {}, 10_000);
  const done = new Promise<number>((r) => resolve = r).finally(() => clearTimeout(alive));
  return { abort: () => resolve(performance.now()), done };
}

Deno.test("inflight: an attempt past its deadline is aborted and marked timed out, not before", async () => {
  const inflight = new InflightAttempts(40);
  const a = aborted();
  const started = performance.now();
  const attempt = inflight.start(a.abort);
  const at = await a.done;
  assert(attempt.timedOut);
  assert(at - started >= 39, `aborted after ${at - started} ms, before the 40 ms deadline`);
  assert.equal(inflight.size, 0);
});

Deno.test("inflight: one timer times every attempt, each at its own deadline, in the order they started", async () => {
  const inflight = new InflightAttempts(30);
  const first = aborted();
  const a1 = inflight.start(first.abort);
  await new Promise((r) => setTimeout(r, 15)); // the second attempt starts later, so its deadline is later
  const second = aborted();
  const a2 = inflight.start(second.abort);
  const t1 = await first.done;
  assert(a1.timedOut);
  assert(!a2.timedOut, "the later attempt was aborted together with the earlier one");
  const t2 = await second.done;
  assert(a2.timedOut);
  assert(t2 - t1 >= 10, `second aborted ${t2 - t1} ms after the first; its deadline was 15 ms later`);
});

Deno.test("inflight: an attempt that ended is never aborted when its deadline passes", async () => {
  const inflight = new InflightAttempts(20);
  let endedAborts = 0;
  const ended = inflight.start(() => endedAborts++);
  inflight.end(ended);
  const later = aborted();
  const attempt = inflight.start(later.abort);
  await later.done; // the ended attempt's deadline came before this one's
  assert(attempt.timedOut);
  assert.equal(endedAborts, 0);
  assert(!ended.timedOut);
  assert.equal(inflight.size, 0);
});

Deno.test("inflight: without a timeout nothing is timed, and abortAll still ends every attempt (shutdown)", () => {
  const inflight = new InflightAttempts(0);
  let calls = 0;
  const a = inflight.start(() => calls++);
  inflight.start(() => calls++);
  assert.equal(a.deadline, Infinity);
  inflight.abortAll();
  assert.equal(calls, 2);
  assert(!a.timedOut);
});
