/**
 * Non-streaming load: every target at every connection level, in rounds that
 * rotate the order, so drift of a shared machine hits every target alike.
 *
 * @module
 */

import type { LoadGenerator, LoadResult } from "./load.ts";
import { log } from "./log.ts";
import { rotate } from "./stats.ts";

/** A target of the load generator. */
export interface LoadTarget {
  name: string;
  /** Origin, e.g. http://127.0.0.1:8080. */
  url: string;
}

/** The path every load run posts to. */
export const CHAT = "/v1/chat/completions";

/** Runs every target at every level, `rounds` times; level -> target -> one result per round. */
export async function throughput(
  gen: LoadGenerator,
  targets: LoadTarget[],
  levels: number[],
  rounds: number,
  seconds: number,
): Promise<Record<string, Record<string, LoadResult[]>>> {
  const results: Record<string, Record<string, LoadResult[]>> = {};
  for (const level of levels) results[level] = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [li, level] of levels.entries()) {
      for (const t of rotate(targets, r + li)) {
        const res = await gen.run(t.url + CHAT, level, seconds);
        results[level][t.name].push(res);
        const bad = res.errors + res.non2xx ? `  errors ${res.errors} non2xx ${res.non2xx}` : "";
        log(
          `  round ${r + 1} c=${level} ${t.name.padEnd(22)} ${res.rps.toFixed(0).padStart(7)} req/s  ` +
            `p50 ${res.p50us.toFixed(0)} us  p99 ${res.p99us.toFixed(0)} us${bad}`,
        );
      }
    }
  }
  return results;
}

/** Short untimed runs so JIT and connection pools are warm before anything is timed. */
export async function warmUp(gen: LoadGenerator, targets: LoadTarget[]): Promise<void> {
  for (const t of targets) await gen.run(t.url + CHAT, 32, 1);
}
