/**
 * The fallback policy as a table: where a request starts (`startPlan`) and
 * where a failed attempt goes next (`fallbackTo`). Pure functions, so every
 * combination is listed with the answer it must give.
 */

import assert from "node:assert/strict";
import type { RouteName } from "../../../src/config/config.ts";
import type { Admission } from "../../../src/proxy/breaker.ts";
import type { Outcome } from "../../../src/proxy/fallback.ts";
import { fallbackTo, type RoutePlan, startPlan } from "../../../src/proxy/fallback_plan.ts";

const OTHER: Record<RouteName, RouteName> = { fast: "smart", smart: "fast" };

// ---------------------------------------------------------------- startPlan

/** One row, written for any primary: "primary" and "other" stand for the two routes. */
interface StartRow {
  fallback: boolean;
  primary: Admission;
  /** The other route's breaker answer; `undefined` = not asked (it is asked only when the primary is cooling). */
  other: Admission | undefined;
  first: "primary" | "other";
  then: "primary" | "other" | undefined;
  /** Whether the plan reports the primary as skipped for cooling. */
  skipped: boolean;
  why: string;
}

const ADMISSIONS: Admission[] = ["use", "probe", "cooling"];

const startRows: StartRow[] = [
  // Fallback off (one route, or two identical ones): the primary, alone, whatever the breakers say.
  ...ADMISSIONS.flatMap((primary) =>
    [undefined, ...ADMISSIONS].map((other): StartRow => ({
      fallback: false,
      primary,
      other,
      first: "primary",
      then: undefined,
      skipped: false,
      why: "with fallback off the primary is the only route",
    }))
  ),
  // Fallback on, primary healthy or probing: the primary first, the other as the fallback.
  ...(["use", "probe"] as Admission[]).flatMap((primary) =>
    [undefined, ...ADMISSIONS].map((other): StartRow => ({
      fallback: true,
      primary,
      other,
      first: "primary",
      then: "other",
      skipped: false,
      why: "a usable primary goes first and may fall back once",
    }))
  ),
  // Fallback on, primary cooling: skip it for the other route, with nowhere further to go.
  ...(["use", "probe"] as Admission[]).map((other): StartRow => ({
    fallback: true,
    primary: "cooling",
    other,
    first: "other",
    then: undefined,
    skipped: true,
    why: "a cooling primary is skipped and the skip is reported",
  })),
  // Both cooling: the primary is tried anyway, once, rather than refusing the request.
  {
    fallback: true,
    primary: "cooling",
    other: "cooling",
    first: "primary",
    then: undefined,
    skipped: false,
    why: "with both routes cooling the primary is tried once",
  },
];

for (const primary of ["fast", "smart"] as RouteName[]) {
  const name = (who: "primary" | "other" | undefined) =>
    who === undefined ? undefined : who === "primary" ? primary : OTHER[primary];
  for (const row of startRows) {
    const label = `startPlan: primary ${primary}, fallback ${row.fallback ? "on" : "off"}, ` +
      `primary ${row.primary}, other ${row.other ?? "not asked"} -> ` +
      `${name(row.first)} then ${name(row.then) ?? "nothing"} (${row.why})`;
    Deno.test(label, () => {
      const plan = startPlan(primary, row.fallback, row.primary, row.other);
      assert.deepEqual(plan, {
        first: name(row.first),
        then: name(row.then),
        skipped: row.skipped ? `${primary}_cooling` : undefined,
      });
    });
  }
}

Deno.test("startPlan: a skipped primary is named in the reason, so the log says which route was cooling", () => {
  assert.equal(startPlan("fast", true, "cooling", "use").skipped, "fast_cooling");
  assert.equal(startPlan("smart", true, "cooling", "use").skipped, "smart_cooling");
});

Deno.test("startPlan: a plan never falls back to the route it started on", () => {
  for (const primary of ["fast", "smart"] as RouteName[]) {
    for (const fallback of [true, false]) {
      for (const p of ADMISSIONS) {
        for (const o of [undefined, ...ADMISSIONS]) {
          const plan = startPlan(primary, fallback, p, o);
          assert.notEqual(plan.then, plan.first, JSON.stringify({ primary, fallback, p, o }));
        }
      }
    }
  }
});

// ---------------------------------------------------------------- fallbackTo

interface OutcomeRow {
  outcome: Outcome;
  /** Whether the outcome is the route's fault, so it may fall back. */
  routeFailure: boolean;
}

/** Every kind of Outcome, with the statuses that decide a `response`. */
const outcomes: OutcomeRow[] = [
  { outcome: { kind: "response", status: 200 }, routeFailure: false },
  { outcome: { kind: "response", status: 400 }, routeFailure: false },
  { outcome: { kind: "response", status: 401 }, routeFailure: false },
  { outcome: { kind: "response", status: 404 }, routeFailure: false },
  { outcome: { kind: "response", status: 429 }, routeFailure: true },
  { outcome: { kind: "response", status: 500 }, routeFailure: true },
  { outcome: { kind: "response", status: 503 }, routeFailure: true },
  { outcome: { kind: "connect_error" }, routeFailure: true },
  { outcome: { kind: "timeout" }, routeFailure: true },
  { outcome: { kind: "bad_stream" }, routeFailure: true },
  { outcome: { kind: "bad_response", code: "upstream_bad_status", message: "status 999" }, routeFailure: true },
  { outcome: { kind: "redirect", status: 302 }, routeFailure: false },
  { outcome: { kind: "client_gone" }, routeFailure: false },
];

const withThen: RoutePlan = { first: "fast", then: "smart", skipped: undefined };
const withoutThen: RoutePlan = { first: "smart", then: undefined, skipped: "fast_cooling" };

function describe(o: Outcome): string {
  return "status" in o ? `${o.kind} ${o.status}` : o.kind;
}

for (const { outcome, routeFailure } of outcomes) {
  for (const attempts of [1, 2]) {
    for (const plan of [withThen, withoutThen]) {
      const expected = routeFailure && attempts === 1 && plan.then !== undefined ? plan.then : undefined;
      const why = expected !== undefined
        ? "a route failure on the first attempt falls back"
        : plan.then === undefined
        ? "the plan has no fallback route"
        : !routeFailure
        ? "not the route's fault"
        : "only once";
      Deno.test(
        `fallbackTo: ${describe(outcome)} after attempt ${attempts}, plan ${plan.then ? "with" : "without"} a ` +
          `fallback -> ${expected ?? "stop"} (${why})`,
        () => {
          assert.equal(fallbackTo(plan, outcome, attempts), expected);
        },
      );
    }
  }
}

Deno.test("fallbackTo: the fallback is the plan's `then`, whichever route that is", () => {
  const toFast: RoutePlan = { first: "smart", then: "fast", skipped: undefined };
  assert.equal(fallbackTo(toFast, { kind: "timeout" }, 1), "fast");
  assert.equal(fallbackTo(withThen, { kind: "timeout" }, 1), "smart");
});
