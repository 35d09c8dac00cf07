/**
 * The shape of one benchmark run's raw measurements: what the runner collects
 * and writes as JSON, and all the report needs. Plain data, no methods, so a
 * test can build one by hand.
 *
 * @module
 */

import type { LoadResult } from "./load.ts";
import type { Settings } from "./settings.ts";

/** What was measured on which machine, with what. */
export interface RunInfo {
  mode: Settings["mode"];
  /** ISO start time. */
  date: string;
  /** Wall time of the whole run. */
  totalSeconds: number;
  /** `deno task bench ...` as typed. */
  command: string;
  machine: { cpus: number; cpu: string; os: string; loadAvg: number[] };
  deno: string;
  v8: string;
  generator: { name: string; version: string };
  /** nginx's version, or why there is no nginx column. */
  nginx: { version: string } | { skipped: "on request" | "not installed" };
  /** What answered the non-streaming requests. */
  backend: string;
  /** Command lines, repository-relative. */
  modelpinCommand: string;
  floorCommand: string;
  settings: Settings;
}

/** Per-target statistics of the streaming section. */
export interface StreamStats {
  streams: number;
  complete: number;
  events: number;
  ttfeP50: number;
  ttfeP99: number;
  /** Backend write -> client read of the first event, p50 (the response-path share of TTFE). */
  firstEventDelayP50: number;
  oneWayP50: number;
  oneWayP99: number;
  oneWayMean: number;
  /** Events that arrived in one read with an earlier one. */
  coalesced: number;
  /** Events later than the late threshold. */
  late: number;
  errors: string[];
}

/** One process holding many slow streams at once. */
export interface HeldResult {
  streams: number;
  complete: number;
  stalled: number;
  maxHeldAtOnce: number;
  /** open_streams reported by modelpin's /health (0 for a process without one). */
  proxyOpenStreamsMax: number;
  maxGapMs: number;
  idleRssAfterStartMb: number;
  peakRssMb: number;
  /** RSS `settleSeconds` after the load ended. */
  rssAfterLoadMb: number;
  fdsAfterStart: number;
  fdsPeak: number;
  fdsAfterLoad: number;
  seconds: number;
  errors: string[];
}

/** Start-up to first answered chat completion, the way start.sh starts modelpin (sandbox step, then main.ts). */
export interface StartupResult {
  /** Each timed start-up, ms (sandbox step + main.ts until the first 200). */
  totalMs: number[];
  /** The sandbox step (src/permissions.ts) alone, ms, same runs. */
  sandboxMs: number[];
}

/** The CPU profile summary of one process under load (see profile.ts). */
export interface ProfiledRun {
  /** "modelpin" or "floor". */
  name: string;
  rps: number;
  file: string;
  command: string;
  summary: import("./profile.ts").ProfileSummary;
}

/** Everything one run measured. Targets are named: "direct", "floor", "modelpin", "nginx". */
export interface BenchResults {
  info: RunInfo;
  nonStreaming: {
    /** Targets in column order. */
    names: string[];
    /** Connection level -> target -> one result per round. */
    runs: Record<string, Record<string, LoadResult[]>>;
    /** Concurrency 1: target -> one result per round. */
    latency: Record<string, LoadResult[]>;
  };
  streaming: { names: string[]; stats: Record<string, StreamStats> };
  /** "modelpin" and "floor". */
  held: Record<string, HeldResult>;
  startup: StartupResult;
  fallback: {
    names: string[];
    runs: Record<string, LoadResult[]>;
    /** From modelpin's request log: answered requests and those that fell back. */
    log: { requests: number; fellBack: number };
  };
  profiles: ProfiledRun[];
  /** The hand-written analysis appended to the report (bench/analysis.md), if any. */
  analysis: string;
}
