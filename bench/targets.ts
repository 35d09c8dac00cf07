/**
 * The target table: each performance target once, with its limit and how to
 * read it from a run's measurements, and the verdict (met or missed, with the
 * margin). Pure.
 *
 * @module
 */

import type { BenchResults } from "./results.ts";
import type { Summary } from "./summary.ts";

/** One target: `value < limit` when `lower`, else `value >= limit`. */
export interface TargetRule {
  /** What is measured (may depend on the run, e.g. the number of streams). */
  target: (r: BenchResults) => string;
  /** The goal as shown, e.g. "< 1.000 ms". */
  goal: string;
  limit: number;
  lower: boolean;
  unit: string;
  /** Decimals shown. */
  digits: number;
  /** The measured value; NaN when the run did not measure it. */
  value: (r: BenchResults, s: Summary) => number;
}

/** A target's verdict in one run. */
export interface TargetCheck {
  target: string;
  goal: string;
  measured: string;
  /** null when not measured. */
  met: boolean | null;
  margin: string;
}

const held = (r: BenchResults) => r.held.modelpin;
const streams = (r: BenchResults) => `${held(r)?.streams ?? "n"} concurrent streams`;

/** The targets, in report order. */
export const TARGETS: TargetRule[] = [
  {
    target: () => "Non-streaming throughput at 32 connections, modelpin/Deno floor",
    goal: ">= 0.80x",
    limit: 0.8,
    lower: false,
    unit: "x",
    digits: 2,
    value: (_, s) => s.ratios["32"]?.["modelpin/floor"] ?? NaN,
  },
  {
    target: () => "Added latency at concurrency 1, p50",
    goal: "< 0.150 ms",
    limit: 0.15,
    lower: true,
    unit: " ms",
    digits: 3,
    value: (_, s) => (s.addedP50us.modelpin ?? NaN) / 1000,
  },
  {
    target: () => "Added latency at concurrency 1, p99",
    goal: "< 1.000 ms",
    limit: 1,
    lower: true,
    unit: " ms",
    digits: 3,
    value: (_, s) => (s.addedP99us.modelpin ?? NaN) / 1000,
  },
  {
    target: () => "Streaming: added time to first event, p50",
    goal: "< 1.000 ms",
    limit: 1,
    lower: true,
    unit: " ms",
    digits: 3,
    value: (_, s) => s.streamAdded.modelpin?.ttfeP50 ?? NaN,
  },
  {
    target: () => "Streaming: added per-event delay, p50",
    goal: "< 0.050 ms",
    limit: 0.05,
    lower: true,
    unit: " ms",
    digits: 3,
    value: (_, s) => s.streamAdded.modelpin?.eventP50 ?? NaN,
  },
  {
    target: () => "Streaming: events coalesced beyond what direct coalesced",
    goal: "0",
    limit: 0.5,
    lower: true,
    unit: "",
    digits: 0,
    value: (_, s) => s.streamAdded.modelpin?.extraCoalesced ?? NaN,
  },
  {
    target: (r) => `${streams(r)}: incomplete or stalled`,
    goal: "0",
    limit: 0.5,
    lower: true,
    unit: "",
    digits: 0,
    value: (r) => (held(r) ? held(r).streams - held(r).complete + held(r).stalled : NaN),
  },
  {
    target: (r) => `${streams(r)}: peak RSS`,
    goal: "< 150 MB",
    limit: 150,
    lower: true,
    unit: " MB",
    digits: 1,
    value: (r) => held(r)?.peakRssMb ?? NaN,
  },
  {
    target: (r) =>
      `${streams(r)}: RSS ${r.info.settings.settleSeconds} s after the load${
        r.info.settings.settleSeconds < 60 ? " (the target says one minute)" : ""
      }`,
    goal: "< 100 MB",
    limit: 100,
    lower: true,
    unit: " MB",
    digits: 1,
    value: (r) => held(r)?.rssAfterLoadMb ?? NaN,
  },
  {
    target: () => "Idle RSS after start",
    goal: "< 50 MB",
    limit: 50,
    lower: true,
    unit: " MB",
    digits: 1,
    value: (r) => held(r)?.idleRssAfterStartMb ?? NaN,
  },
  {
    target: () => "Start-up to first answered request (start.sh's two steps), p50",
    goal: "< 150 ms",
    limit: 150,
    lower: true,
    unit: " ms",
    digits: 0,
    value: (_, s) => s.startupP50Ms,
  },
];

/** The verdict of one rule for one value. */
export function verdict(rule: TargetRule, target: string, value: number): TargetCheck {
  const { goal, limit, lower, unit, digits } = rule;
  if (!Number.isFinite(value)) return { target, goal, measured: "n/a", met: null, margin: "not measured" };
  const met = lower ? value < limit : value >= limit;
  const diff = Math.abs(value - limit);
  // For counts ("0"), the distance to the 0.5 threshold is not a margin anyone wants to read.
  const spare = goal === "0" ? "" : ` with ${diff.toFixed(digits)}${unit} to spare`;
  const scale = limit <= 0
    ? ""
    : lower
    ? ` (${(value / limit).toFixed(1)}x the limit)`
    : ` (${((value / limit) * 100).toFixed(0)}% of the goal)`;
  const missedBy = goal === "0" ? `${value.toFixed(digits)} instead of 0` : `missed by ${diff.toFixed(digits)}${unit}`;
  return {
    target,
    goal,
    measured: `${value.toFixed(digits)}${unit}`,
    met,
    margin: met ? `met${spare}` : goal === "0" ? missedBy : `${missedBy}${scale}`,
  };
}

/** Every target's verdict for one run. */
export function evaluateTargets(r: BenchResults, s: Summary): TargetCheck[] {
  return TARGETS.map((rule) => verdict(rule, rule.target(r), rule.value(r, s)));
}
