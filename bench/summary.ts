/**
 * From raw measurements to the numbers the report and the targets use:
 * medians over rounds, and ratios as medians of per-round ratios (each round
 * runs every target back to back, so a ratio within a round cancels drift).
 * Pure.
 *
 * @module
 */

import type { LoadResult } from "./load.ts";
import type { BenchResults } from "./results.ts";
import { median } from "./stats.ts";

/** Streaming delays of one target over direct, ms. */
export interface StreamAdded {
  ttfeP50: number;
  ttfeP99: number;
  firstEventP50: number;
  eventP50: number;
  eventP99: number;
  eventMean: number;
  /** Coalesced events beyond what direct saw (never below 0). */
  extraCoalesced: number;
}

/** The derived numbers of one run. */
export interface Summary {
  /** Level -> target -> median req/s. */
  rps: Record<string, Record<string, number>>;
  /** Level -> "a/b" -> median of per-round ratios (modelpin/floor, modelpin/nginx, floor/nginx, ...). */
  ratios: Record<string, Record<string, number>>;
  /** Concurrency 1, target -> median latency, µs. */
  p50us: Record<string, number>;
  p99us: Record<string, number>;
  /** Target -> median over rounds of (target - direct) latency, µs. */
  addedP50us: Record<string, number>;
  addedP99us: Record<string, number>;
  /** Socket errors and non-2xx responses over every non-streaming run. */
  errors: number;
  /** Target -> delays over direct. */
  streamAdded: Record<string, StreamAdded>;
  startupP50Ms: number;
  startupMaxMs: number;
  sandboxP50Ms: number;
  fallback: { rps: Record<string, number>; ratioNormal: number; ratioNginx: number; errors: number };
}

/** The ratio pairs of the throughput table, in column order. */
export const RATIO_PAIRS: [string, string][] = [
  ["modelpin", "floor"],
  ["modelpin", "direct"],
  ["modelpin", "nginx"],
  ["floor", "nginx"],
  ["nginx", "direct"],
];

/** Median over rounds of a/b, NaN when either is missing. */
export function pairedRatio(a: LoadResult[] | undefined, b: LoadResult[] | undefined): number {
  if (!a?.length || !b?.length) return NaN;
  return median(a.map((r, i) => r.rps / b[i].rps));
}

const medianOf = (rs: LoadResult[] | undefined, k: "rps" | "p50us" | "p99us") => median((rs ?? []).map((r) => r[k]));

function addedLatency(lat: Record<string, LoadResult[]>, n: string, k: "p50us" | "p99us"): number {
  const direct = lat.direct;
  if (!lat[n] || !direct) return NaN;
  return median(lat[n].map((r, i) => r[k] - direct[i][k]));
}

function streamAdded(r: BenchResults): Record<string, StreamAdded> {
  const s = r.streaming.stats;
  const d = s.direct;
  const out: Record<string, StreamAdded> = {};
  if (!d) return out;
  for (const n of r.streaming.names.filter((x) => x !== "direct")) {
    out[n] = {
      ttfeP50: s[n].ttfeP50 - d.ttfeP50,
      ttfeP99: s[n].ttfeP99 - d.ttfeP99,
      firstEventP50: s[n].firstEventDelayP50 - d.firstEventDelayP50,
      eventP50: s[n].oneWayP50 - d.oneWayP50,
      eventP99: s[n].oneWayP99 - d.oneWayP99,
      eventMean: s[n].oneWayMean - d.oneWayMean,
      extraCoalesced: Math.max(0, s[n].coalesced - d.coalesced),
    };
  }
  return out;
}

function fallbackSummary(r: BenchResults): Summary["fallback"] {
  const runs = r.fallback.runs;
  return {
    rps: Object.fromEntries(r.fallback.names.map((n) => [n, medianOf(runs[n], "rps")])),
    ratioNormal: pairedRatio(runs["modelpin fallback"], runs["modelpin (no failure)"]),
    ratioNginx: pairedRatio(runs["modelpin fallback"], runs["nginx fallback"]),
    errors: Object.values(runs).flat().reduce((n, x) => n + x.errors + x.non2xx, 0),
  };
}

/** Derives every reported number from the raw measurements. */
export function summarise(r: BenchResults): Summary {
  const { names, runs, latency } = r.nonStreaming;
  const rps: Summary["rps"] = {};
  const ratios: Summary["ratios"] = {};
  for (const [level, byName] of Object.entries(runs)) {
    rps[level] = Object.fromEntries(names.map((n) => [n, medianOf(byName[n], "rps")]));
    ratios[level] = Object.fromEntries(RATIO_PAIRS.map(([a, b]) => [`${a}/${b}`, pairedRatio(byName[a], byName[b])]));
  }
  const errors = [...Object.values(runs), latency].flatMap((byName) => Object.values(byName).flat())
    .reduce((n, x) => n + x.errors + x.non2xx, 0);
  const others = names.filter((n) => n !== "direct");
  return {
    rps,
    ratios,
    p50us: Object.fromEntries(names.map((n) => [n, medianOf(latency[n], "p50us")])),
    p99us: Object.fromEntries(names.map((n) => [n, medianOf(latency[n], "p99us")])),
    addedP50us: Object.fromEntries(others.map((n) => [n, addedLatency(latency, n, "p50us")])),
    addedP99us: Object.fromEntries(others.map((n) => [n, addedLatency(latency, n, "p99us")])),
    errors,
    streamAdded: streamAdded(r),
    startupP50Ms: median(r.startup.totalMs),
    startupMaxMs: r.startup.totalMs.length ? Math.max(...r.startup.totalMs) : NaN,
    sandboxP50Ms: median(r.startup.sandboxMs),
    fallback: fallbackSummary(r),
  };
}
