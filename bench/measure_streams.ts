/**
 * Streaming delay: concurrent SSE streams through each target in rotating
 * rounds, every event timed from the backend's write to the client's read.
 *
 * @module
 */

import { STREAM_REQUEST_BODY } from "./fixtures.ts";
import { log } from "./log.ts";
import { CHAT } from "./measure_load.ts";
import { sleep } from "./procs.ts";
import { LATE_MS } from "./report.ts";
import type { StreamStats } from "./results.ts";
import type { Settings } from "./settings.ts";
import { median, percentile, rotate } from "./stats.ts";
import { streamOnce, type StreamSample } from "./sse_client.ts";

/** Statistics of a set of streams that each should carry `expectedEvents` events. */
export function streamStats(samples: StreamSample[], expectedEvents: number): StreamStats {
  const ttfe = samples.map((s) => s.ttfeMs).filter((v) => Number.isFinite(v));
  const oneWay = samples.flatMap((s) => s.oneWayMs);
  return {
    streams: samples.length,
    complete: samples.filter((s) => s.done && s.events === expectedEvents && !s.error).length,
    events: samples.reduce((n, s) => n + s.events, 0),
    ttfeP50: median(ttfe),
    ttfeP99: percentile(ttfe, 99),
    firstEventDelayP50: median(samples.map((s) => s.firstOneWayMs).filter((v) => Number.isFinite(v))),
    oneWayP50: median(oneWay),
    oneWayP99: percentile(oneWay, 99),
    oneWayMean: oneWay.reduce((a, b) => a + b, 0) / (oneWay.length || 1),
    coalesced: samples.reduce((n, s) => n + s.coalesced, 0),
    late: oneWay.filter((v) => v > LATE_MS).length,
    errors: [...new Set(samples.filter((s) => s.error).map((s) => s.error!))],
  };
}

/** Runs the streaming rounds against every target (name and port on 127.0.0.1). */
export async function streaming(
  targets: { name: string; port: number }[],
  s: Settings,
): Promise<Record<string, StreamStats>> {
  const samples: Record<string, StreamSample[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
  const path = `${CHAT}?n=${s.streamEvents}&ms=${s.streamGapMs}`;
  const deadlineMs = s.streamEvents * s.streamGapMs + 15_000;
  for (let r = 0; r < s.streamRounds; r++) {
    for (const t of rotate(targets, r)) {
      const running: Promise<StreamSample>[] = [];
      for (let i = 0; i < s.streamsPerRound; i++) {
        running.push(streamOnce({ port: t.port, path, body: STREAM_REQUEST_BODY, deadlineMs }));
        await sleep(3); // staggered, so first events do not all arrive in the same instant
      }
      const got = await Promise.all(running);
      samples[t.name].push(...got);
      const st = streamStats(got, s.streamEvents);
      log(
        `  round ${r + 1} ${t.name.padEnd(8)} ttfe p50 ${st.ttfeP50.toFixed(3)} ms  event delay p50 ${
          st.oneWayP50.toFixed(3)
        } ms  coalesced ${st.coalesced}  late ${st.late}  complete ${st.complete}/${st.streams}`,
      );
    }
  }
  return Object.fromEntries(targets.map((t) => [t.name, streamStats(samples[t.name], s.streamEvents)]));
}
