/**
 * Many slow streams held at once through one relay, and its memory: idle
 * after start, peak under the load, and again a while after the load ended
 * (does memory go back?).
 *
 * @module
 */

import { STREAM_REQUEST_BODY } from "./fixtures.ts";
import { log } from "./log.ts";
import { CHAT } from "./measure_load.ts";
import { memory, openFds, sleep } from "./procs.ts";
import { STALL_MS } from "./report.ts";
import type { HeldResult } from "./results.ts";
import type { Settings } from "./settings.ts";
import { streamOnce, type StreamSample } from "./sse_client.ts";
import type { Relay } from "./subjects.ts";

/** What the load itself measured; the "after the load" numbers come later (see `afterLoad`). */
export interface HeldLoad {
  relay: Relay;
  partial: Omit<HeldResult, "rssAfterLoadMb" | "fdsAfterLoad">;
  /** performance.now() when the last stream ended. */
  endedAt: number;
}

/** Samples peak RSS, open fds and (when the relay has one) /health's open_streams until stopped. */
function watch(relay: Relay, health: boolean) {
  const seen = { rssMb: 0, fds: 0, openStreams: 0 };
  let running = true;
  const done = (async () => {
    while (running) {
      seen.rssMb = Math.max(seen.rssMb, memory(relay.child.pid).rssMb);
      seen.fds = Math.max(seen.fds, openFds(relay.child.pid));
      if (health) {
        try {
          const h = await (await fetch(`${relay.url}/health`, { signal: AbortSignal.timeout(2000) })).json();
          seen.openStreams = Math.max(seen.openStreams, h.open_streams ?? 0);
        } catch { /* busy */ }
      }
      await sleep(100);
    }
  })();
  return { seen, stop: () => (running = false, done) };
}

/** Opens `s.heldStreams` streams through `relay` (50 at a time, 5 ms apart) and waits for all of them. */
export async function heldLoad(relay: Relay, s: Settings, health: boolean): Promise<HeldLoad> {
  await sleep(1000);
  const idleStart = memory(relay.child.pid).rssMb;
  const fdsAfterStart = openFds(relay.child.pid);
  log(`  ${relay.name}: idle RSS after start ${idleStart.toFixed(1)} MB; opening ${s.heldStreams} streams`);
  const path = `${CHAT}?n=${s.heldEvents}&ms=${s.heldGapMs}`;
  const deadlineMs = s.heldEvents * s.heldGapMs + 30_000;
  let open = 0;
  let maxOpen = 0;
  const watcher = watch(relay, health);
  const started = performance.now();
  const running: Promise<StreamSample>[] = [];
  for (let i = 0; i < s.heldStreams; i++) {
    const onFirstEvent = () => void (maxOpen = Math.max(maxOpen, ++open));
    running.push(
      streamOnce({ port: relay.port, path, body: STREAM_REQUEST_BODY, deadlineMs, onFirstEvent }).then((x) => {
        if (x.events > 0) open--;
        return x;
      }),
    );
    if (i % 50 === 49) await sleep(5);
  }
  const samples = await Promise.all(running);
  const endedAt = performance.now();
  await watcher.stop();
  const complete = samples.filter((x) => x.done && x.events === s.heldEvents && !x.error).length;
  const partial = {
    streams: s.heldStreams,
    complete,
    stalled: samples.filter((x) => !(x.done && x.events === s.heldEvents) || x.maxGapMs > STALL_MS).length,
    maxHeldAtOnce: maxOpen,
    proxyOpenStreamsMax: watcher.seen.openStreams,
    maxGapMs: Math.max(...samples.map((x) => x.maxGapMs)),
    idleRssAfterStartMb: idleStart,
    peakRssMb: Math.max(memory(relay.child.pid).hwmMb, watcher.seen.rssMb),
    fdsAfterStart,
    fdsPeak: Math.max(fdsAfterStart, watcher.seen.fds),
    seconds: (endedAt - started) / 1000,
    errors: [...new Set(samples.filter((x) => x.error).map((x) => x.error!))],
  };
  log(
    `  ${relay.name}: complete ${complete}/${s.heldStreams}, held at once ${maxOpen}, peak RSS ${
      partial.peakRssMb.toFixed(1)
    } MB`,
  );
  return { relay, partial, endedAt };
}

/** Waits until `settleSeconds` after the load ended, then reads RSS and open fds. */
export async function afterLoad(load: HeldLoad, settleSeconds: number): Promise<HeldResult> {
  await sleep(Math.max(0, load.endedAt + settleSeconds * 1000 - performance.now()));
  const pid = load.relay.child.pid;
  const result = { ...load.partial, rssAfterLoadMb: memory(pid).rssMb, fdsAfterLoad: openFds(pid) };
  log(`  ${load.relay.name}: RSS ${settleSeconds} s after the load ${result.rssAfterLoadMb.toFixed(1)} MB`);
  return result;
}
