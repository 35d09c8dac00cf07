/**
 * The benchmark's report is a pure function of the measurements: fed fixed
 * numbers, it must compute the same ratios and verdicts every time.
 */

import assert from "node:assert/strict";
import type { LoadResult } from "../../../bench/load.ts";
import { renderReport } from "../../../bench/report.ts";
import type { BenchResults, HeldResult, StreamStats } from "../../../bench/results.ts";
import { parseArgs } from "../../../bench/settings.ts";
import { summarise } from "../../../bench/summary.ts";
import { TARGETS, verdict } from "../../../bench/targets.ts";

const load = (rps: number, p50us = 100, p99us = 1000): LoadResult => ({
  rps,
  p50us,
  p99us,
  requests: rps * 5,
  errors: 0,
  non2xx: 0,
});

const stream = (ttfeP50: number, oneWayP50: number, coalesced: number): StreamStats => ({
  streams: 64,
  complete: 64,
  events: 64 * 64,
  ttfeP50,
  ttfeP99: ttfeP50 * 2,
  firstEventDelayP50: 0.2,
  oneWayP50,
  oneWayP99: oneWayP50 * 3,
  oneWayMean: oneWayP50,
  coalesced,
  late: 0,
  errors: [],
});

const held = (peak: number, after: number, idle: number): HeldResult => ({
  streams: 1000,
  complete: 1000,
  stalled: 0,
  maxHeldAtOnce: 1000,
  proxyOpenStreamsMax: 1000,
  maxGapMs: 120,
  idleRssAfterStartMb: idle,
  peakRssMb: peak,
  rssAfterLoadMb: after,
  fdsAfterStart: 10,
  fdsPeak: 2010,
  fdsAfterLoad: 150,
  seconds: 3.2,
  errors: [],
});

/** Three rounds; the Deno floor at 10,000 req/s, modelpin at 8,500 / 7,000 / 9,000 (ratios 0.85, 0.70, 0.90). */
function fixture(): BenchResults {
  const settings = parseArgs([], "/repo").settings;
  return {
    info: {
      mode: "full",
      date: "2026-01-01T00:00:00.000Z",
      totalSeconds: 300,
      command: "deno task bench --no-nginx",
      machine: { cpus: 2, cpu: "test CPU", os: "6.0", loadAvg: [0.1, 0.2, 0.3] },
      deno: "2.9.6",
      v8: "15",
      generator: { name: "wrk", version: "wrk 4.1.0" },
      nginx: { skipped: "on request" },
      backend: "a Deno server",
      modelpinCommand: "deno run src/main.ts",
      floorCommand: "deno run bench/floor.ts",
      settings,
    },
    nonStreaming: {
      names: ["direct", "floor", "modelpin"],
      runs: {
        "32": {
          direct: [load(40000), load(40000), load(40000)],
          floor: [load(10000), load(10000), load(10000)],
          modelpin: [load(8500), load(7000), load(9000)],
        },
      },
      latency: {
        direct: [load(5000, 100, 1000), load(5000, 100, 1000), load(5000, 100, 1000)],
        floor: [load(4000, 150, 1200), load(4000, 150, 1200), load(4000, 150, 1200)],
        modelpin: [load(3000, 200, 2500), load(3000, 220, 3000), load(3000, 180, 2000)],
      },
    },
    streaming: {
      names: ["direct", "floor", "modelpin"],
      stats: { direct: stream(1, 0.1, 2), floor: stream(1.2, 0.12, 2), modelpin: stream(1.5, 0.14, 5) },
    },
    held: { modelpin: held(140, 120, 45), floor: held(120, 110, 30) },
    startup: { totalMs: [90, 80, 100], sandboxMs: [30, 30, 30] },
    fallback: {
      names: ["modelpin (no failure)", "modelpin fallback", "modelpin breaker"],
      runs: {
        "modelpin (no failure)": [load(8000), load(8000), load(8000)],
        "modelpin fallback": [load(4000), load(4000), load(4000)],
        "modelpin breaker": [load(7000), load(7000), load(7000)],
      },
      log: { requests: 100, fellBack: 100 },
    },
    profiles: [],
    analysis: "## Analysis\n\nwritten by hand",
  };
}

const targetRow = (md: string, target: string) => md.split("\n").find((l) => l.startsWith(`| ${target} |`));

Deno.test("bench report: throughput ratio to the floor is the median of per-round ratios, met at 0.85x", () => {
  const { markdown, summary } = renderReport(fixture());
  assert.equal(summary.ratios["32"]["modelpin/floor"], 0.85);
  assert.equal(summary.ratios["32"]["modelpin/direct"], 0.2125);
  assert.equal(
    targetRow(markdown, "Non-streaming throughput at 32 connections, modelpin/Deno floor"),
    "| Non-streaming throughput at 32 connections, modelpin/Deno floor | >= 0.80x | 0.85x | **met**: met with 0.05x to spare |",
  );
  assert.ok(markdown.includes("| req/s, 32 connections | 40000 | 10000 | 8500 | **0.85x** | 0.21x |"));
});

Deno.test("bench report: added latency is the median of per-round differences to direct; p99 of 1.5 ms is missed", () => {
  const { markdown, summary } = renderReport(fixture());
  assert.equal(summary.addedP50us.modelpin, 100);
  assert.equal(summary.addedP99us.modelpin, 1500);
  assert.equal(
    targetRow(markdown, "Added latency at concurrency 1, p50"),
    "| Added latency at concurrency 1, p50 | < 0.150 ms | 0.100 ms | **met**: met with 0.050 ms to spare |",
  );
  assert.equal(
    targetRow(markdown, "Added latency at concurrency 1, p99"),
    "| Added latency at concurrency 1, p99 | < 1.000 ms | 1.500 ms | **missed**: missed by 0.500 ms (1.5x the limit) |",
  );
});

Deno.test("bench report: only events coalesced beyond what direct coalesced count against the target", () => {
  const { markdown, summary } = renderReport(fixture());
  assert.equal(summary.streamAdded.modelpin.extraCoalesced, 3);
  assert.equal(summary.streamAdded.floor.extraCoalesced, 0);
  assert.match(
    targetRow(markdown, "Streaming: events coalesced beyond what direct coalesced")!,
    /\| 0 \| 3 \| \*\*missed\*\*: 3 instead of 0 \|$/,
  );
  assert.match(targetRow(markdown, "Streaming: added per-event delay, p50")!, /0\.040 ms \| \*\*met\*\*/);
});

Deno.test("bench report: memory and start-up targets read the modelpin process, not the floor", () => {
  const { checks } = renderReport(fixture());
  const byTarget = Object.fromEntries(checks.map((c) => [c.target, c]));
  assert.equal(byTarget["1000 concurrent streams: peak RSS"].measured, "140.0 MB");
  assert.equal(byTarget["1000 concurrent streams: peak RSS"].met, true);
  assert.equal(byTarget["1000 concurrent streams: RSS 60 s after the load"].met, false);
  assert.equal(byTarget["Idle RSS after start"].met, true);
  assert.equal(byTarget["Start-up to first answered request (start.sh's two steps), p50"].measured, "90 ms");
  assert.equal(checks.length, TARGETS.length);
});

Deno.test("bench report: a level that was not run is 'not measured', never met", () => {
  const r = fixture();
  r.nonStreaming.runs = { "128": r.nonStreaming.runs["32"] };
  const { checks } = renderReport(r);
  const c = checks.find((x) => x.target.startsWith("Non-streaming throughput at 32"))!;
  assert.equal(c.met, null);
  assert.equal(c.margin, "not measured");
});

Deno.test("bench report: --no-nginx says nginx was skipped on request, with no nginx column", () => {
  const { markdown } = renderReport(fixture());
  assert.ok(markdown.includes("nginx skipped on request (--no-nginx)"));
  assert.ok(!markdown.includes("not installed"));
  assert.ok(markdown.includes("|  | direct | Deno floor | modelpin | modelpin/Deno floor | modelpin/direct |"));
});

Deno.test("bench report: every target has a row, and missed targets are listed again at the end", () => {
  const { markdown, checks } = renderReport(fixture());
  for (const c of checks) assert.ok(targetRow(markdown, c.target), c.target);
  const missed = markdown.slice(markdown.indexOf("## Missed targets"));
  assert.ok(missed.includes("- Added latency at concurrency 1, p99: missed by 0.500 ms (1.5x the limit)."));
  assert.ok(!missed.includes("peak RSS"));
  assert.ok(markdown.trimEnd().endsWith("written by hand"));
});

Deno.test("bench targets: a ratio exactly at its goal is met; a limit exactly reached is missed", () => {
  const throughput = TARGETS[0];
  assert.equal(verdict(throughput, "t", 0.8).met, true);
  const p50 = TARGETS[1];
  assert.equal(verdict(p50, "t", 0.15).met, false);
});

Deno.test("bench summary: fallback ratio compares each round with modelpin without failures", () => {
  const s = summarise(fixture());
  assert.equal(s.fallback.ratioNormal, 0.5);
  assert.ok(Number.isNaN(s.fallback.ratioNginx));
  assert.equal(s.startupP50Ms, 90);
});

Deno.test("bench settings: --no-nginx, --env and --quick's shorter settle are read from the command line", () => {
  const a = parseArgs(["--quick", "--no-nginx", "--env", "PROXY_LOG=off", "--env", "A=b=c"], "/repo");
  assert.equal(a.useNginx, false);
  assert.deepEqual(a.modelpinEnv, { PROXY_LOG: "off", A: "b=c" });
  assert.equal(a.settings.mode, "quick");
  assert.ok(a.settings.settleSeconds < 60);
  assert.equal(parseArgs([], "/repo").settings.settleSeconds, 60);
  assert.throws(() => parseArgs(["--env", "novalue"], "/repo"), /NAME=VALUE/);
});
