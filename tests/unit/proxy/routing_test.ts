/**
 * Routing as tables: which route a model name picks (`pickRoute`,
 * `pickClaudeRoute`), where a request starts given the breakers
 * (`startPlan`), where a failed attempt goes next (`fallbackTo`), and what a
 * failure means to the breaker, the metrics and the log (`isRouteFailure`,
 * `failureLabel`, `failureReason`). Pure functions, so every combination is
 * listed with the answer it must give.
 */

import assert from "node:assert/strict";
import type { RouteName } from "../../../src/config/config.ts";
import type { Admission } from "../../../src/proxy/breaker.ts";
import {
  fallbackTo,
  otherRoute,
  pickClaudeRoute,
  pickRoute,
  type RoutePlan,
  startPlan,
} from "../../../src/proxy/routing.ts";
import {
  type Failure,
  type FailureLabel,
  failureLabel,
  failureReason,
  isRouteFailure,
} from "../../../src/upstream/failure.ts";

const OTHER: Record<RouteName, RouteName> = { fast: "smart", smart: "fast" };

// ---------------------------------------------------------------- pickRoute (the OpenAI side)

const openaiRoutes: { model: unknown; route: RouteName }[] = [
  { model: "smart", route: "smart" },
  { model: "SMART", route: "smart" },
  { model: "Smart", route: "smart" },
  { model: "sMaRt", route: "smart" },
  { model: "fast", route: "fast" },
  { model: "FAST", route: "fast" },
  { model: "Fast", route: "fast" },
  { model: "gpt-4", route: "fast" },
  { model: "gpt-4o-mini", route: "fast" },
  { model: "accounts/fireworks/models/deepseek-v4-pro", route: "fast" },
  { model: "", route: "fast" },
  { model: " smart", route: "fast" },
  { model: "smart ", route: "fast" },
  { model: "smarter", route: "fast" },
  { model: "smart-model", route: "fast" },
  { model: "ſmart", route: "fast" }, // long s: toUpperCase() would make it "SMART"
  { model: undefined, route: "fast" },
  { model: null, route: "fast" },
  { model: 5, route: "fast" },
  { model: ["smart"], route: "fast" },
  { model: { name: "smart" }, route: "fast" },
  { model: true, route: "fast" },
];

for (const c of openaiRoutes) {
  Deno.test(`pickRoute: model ${JSON.stringify(c.model) ?? "undefined"} -> ${c.route}`, () => {
    assert.equal(pickRoute(c.model), c.route);
  });
}

Deno.test("otherRoute: swaps both ways", () => {
  assert.equal(otherRoute("fast"), "smart");
  assert.equal(otherRoute("smart"), "fast");
  assert.equal(otherRoute(otherRoute("fast")), "fast");
});

// ---------------------------------------------------------------- pickClaudeRoute (the Anthropic side)

/** ANTHROPIC_FAST_MODELS as the configuration hands it over by default: lower-case substrings. */
const DEFAULT_FAST_MODELS = ["haiku"];

const claudeRoutes: { model: unknown; patterns?: string[]; route: RouteName }[] = [
  { model: "fast", route: "fast" },
  { model: "SMART", route: "smart" },
  { model: "Fast", route: "fast" },
  { model: "claude-3-5-haiku-20241022", route: "fast" },
  { model: "claude-haiku-4-5", route: "fast" },
  { model: "Claude-Haiku-4-5", route: "fast" }, // the name is lowered before matching
  { model: "claude-sonnet-4-5-20250929", route: "smart" },
  { model: "claude-opus-4-1", route: "smart" },
  { model: undefined, route: "smart" },
  { model: null, route: "smart" },
  { model: 5, route: "smart" },
  { model: "claude-sonnet-4-5", patterns: ["sonnet", "haiku"], route: "fast" },
  { model: "claude-haiku-4-5", patterns: ["mini"], route: "smart" },
  { model: "claude-haiku-4-5", patterns: [], route: "smart" },
  { model: "fast", patterns: [], route: "fast" }, // the route names hold whatever the patterns
  { model: "smart", patterns: ["smart"], route: "smart" },
];

for (const { model, patterns, route } of claudeRoutes) {
  Deno.test(
    `pickClaudeRoute: ${JSON.stringify(model) ?? "undefined"}${patterns ? ` with [${patterns}]` : ""} goes to ${route}`,
    () => {
      assert.equal(pickClaudeRoute(model, patterns ?? DEFAULT_FAST_MODELS), route);
    },
  );
}

Deno.test("pickRoute and pickClaudeRoute: a name neither knows goes to fast on the OpenAI side, smart on Claude's", () => {
  for (const model of ["gpt-4", "claude-sonnet-4-5", "", undefined]) {
    assert.equal(pickRoute(model), "fast", String(model));
    assert.equal(pickClaudeRoute(model, DEFAULT_FAST_MODELS), "smart", String(model));
  }
});

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

// ---------------------------------------------------------------- failures: route failure, label, reason

/** A status failure as the judge makes one: the backend's answer read whole. */
function status(code: number, retryAfterMs?: number): Failure {
  return {
    kind: "status",
    code,
    retryAfterMs,
    answer: { status: code, headers: new Headers(), body: new Uint8Array() },
  };
}

interface FailureRow {
  failure: Failure;
  /** Whether it is the route's failure: counted by the breaker, and the other route tried. */
  route: boolean;
  label: FailureLabel;
  reason: string;
}

/**
 * Every kind of Failure. The old table's 2xx and 4xx rows (200, 201, 204,
 * 400, 401, 403, 404, 408, 413, 422, 499) are gone: a 4xx other than 429 is
 * an answer now (judge.ts), relayed to the client, so no Failure can name it
 * and it never falls back.
 */
const failureRows: FailureRow[] = [
  { failure: { kind: "connect" }, route: true, label: "connect_error", reason: "connect_error" },
  { failure: { kind: "timeout" }, route: true, label: "timeout", reason: "timeout" },
  {
    failure: { kind: "bad_stream", message: "the backend's stream ended before its first event" },
    route: true,
    label: "bad_stream",
    reason: "bad_stream",
  },
  {
    failure: { kind: "bad_response", code: "upstream_bad_status", message: "status 999" },
    route: true,
    label: "bad_response",
    reason: "bad_response",
  },
  {
    failure: { kind: "bad_response", code: "upstream_answer_too_large", message: "larger than 16 MiB" },
    route: true,
    label: "bad_response",
    reason: "bad_response",
  },
  {
    failure: { kind: "bad_response", code: "upstream_wrong_shape", message: "an SSE stream" },
    route: true,
    label: "bad_response",
    reason: "bad_response",
  },
  { failure: status(500), route: true, label: "status_5xx", reason: "status_500" },
  { failure: status(502), route: true, label: "status_5xx", reason: "status_502" },
  { failure: status(503), route: true, label: "status_5xx", reason: "status_503" },
  { failure: status(504), route: true, label: "status_5xx", reason: "status_504" },
  { failure: status(529), route: true, label: "status_5xx", reason: "status_529" },
  { failure: status(429), route: true, label: "status_429", reason: "status_429" },
  { failure: status(429, 7000), route: true, label: "status_429", reason: "status_429" },
  { failure: { kind: "redirect", code: 301 }, route: false, label: "redirect", reason: "redirect" },
  { failure: { kind: "redirect", code: 302 }, route: false, label: "redirect", reason: "redirect" },
  { failure: { kind: "redirect", code: 307 }, route: false, label: "redirect", reason: "redirect" },
  { failure: { kind: "redirect", code: 308 }, route: false, label: "redirect", reason: "redirect" },
  { failure: { kind: "client_gone" }, route: false, label: "client_gone", reason: "client_gone" },
];

function describe(f: Failure): string {
  switch (f.kind) {
    case "status":
      return `status ${f.code}${f.retryAfterMs === undefined ? "" : ` (retry after ${f.retryAfterMs} ms)`}`;
    case "redirect":
      return `redirect ${f.code}`;
    case "bad_response":
      return `bad_response ${f.code}`;
    default:
      return f.kind;
  }
}

for (const { failure, route, label, reason } of failureRows) {
  Deno.test(
    `failure: ${describe(failure)} is ${route ? "the route's failure" : "not the route's failure"}, ` +
      `labelled ${label}, reason ${reason}`,
    () => {
      assert.equal(isRouteFailure(failure), route);
      assert.equal(failureLabel(failure), label);
      assert.equal(failureReason(failure), reason);
    },
  );
}

Deno.test("failure: a status failure's reason names the exact status, its label only the class", () => {
  assert.equal(failureReason(status(503)), "status_503");
  assert.equal(failureLabel(status(503)), "status_5xx");
  assert.equal(failureLabel(status(500)), failureLabel(status(529)));
});

Deno.test("failure: reasons distinguish the causes", () => {
  const reasons = new Set(failureRows.filter((r) => r.route).map((r) => failureReason(r.failure)));
  assert.ok(reasons.has("connect_error"));
  assert.ok(reasons.has("timeout"));
  assert.ok(reasons.has("bad_stream"));
  assert.ok(reasons.has(failureReason(status(429))));
  assert.notEqual(failureReason(status(429)), failureReason(status(500)));
  assert.notEqual(failureLabel(status(429)), failureLabel(status(500)), "a 429 is not counted as a 5xx");
});

Deno.test("failure: the metric labels are a closed set, each the label of some failure", () => {
  const all: FailureLabel[] = [
    "timeout",
    "connect_error",
    "status_5xx",
    "status_429",
    "bad_stream",
    "bad_response",
    "redirect",
    "client_gone",
  ];
  assert.deepEqual(new Set(failureRows.map((r) => failureLabel(r.failure))), new Set(all));
});

// ---------------------------------------------------------------- fallbackTo

const withThen: RoutePlan = { first: "fast", then: "smart", skipped: undefined };
const withoutThen: RoutePlan = { first: "smart", then: undefined, skipped: "fast_cooling" };

for (const { failure, route } of failureRows) {
  for (const attempts of [1, 2]) {
    for (const plan of [withThen, withoutThen]) {
      const expected = route && attempts === 1 && plan.then !== undefined ? plan.then : undefined;
      const why = expected !== undefined
        ? "a route failure on the first attempt falls back"
        : plan.then === undefined
        ? "the plan has no fallback route"
        : !route
        ? "not the route's fault"
        : "only once";
      Deno.test(
        `fallbackTo: ${describe(failure)} after attempt ${attempts}, plan ${plan.then ? "with" : "without"} a ` +
          `fallback -> ${expected ?? "stop"} (${why})`,
        () => {
          assert.equal(fallbackTo(plan, failure, attempts), expected);
        },
      );
    }
  }
}

for (const { failure, route } of failureRows) {
  Deno.test(
    `fallbackTo: ${describe(failure)} ${route ? "falls back once, and only with fallback on" : "never falls back"}`,
    () => {
      // After the first attempt, with fallback on: fall back exactly for route failures.
      assert.equal(fallbackTo(startPlan("fast", true, "use"), failure, 1), route ? "smart" : undefined);
      // Never when fallback is off (fast and smart are the same backend).
      assert.equal(fallbackTo(startPlan("fast", false, "use"), failure, 1), undefined);
      // Only once: never after the second attempt.
      assert.equal(fallbackTo(startPlan("fast", true, "use"), failure, 2), undefined);
      assert.equal(fallbackTo(startPlan("fast", true, "use"), failure, 3), undefined);
    },
  );
}

Deno.test("fallbackTo: the fallback is the plan's `then`, whichever route that is", () => {
  const toFast: RoutePlan = { first: "smart", then: "fast", skipped: undefined };
  assert.equal(fallbackTo(toFast, { kind: "timeout" }, 1), "fast");
  assert.equal(fallbackTo(withThen, { kind: "timeout" }, 1), "smart");
});
