import assert from "node:assert/strict";
import { type Outcome, routeFailure, shouldFallback } from "../../../src/proxy/fallback.ts";

interface Case {
  outcome: Outcome;
  /** Whether the outcome is the route's fault (and thus may fall back). */
  failure: boolean;
}

const cases: Case[] = [
  { outcome: { kind: "connect_error" }, failure: true },
  { outcome: { kind: "timeout" }, failure: true },
  { outcome: { kind: "bad_stream" }, failure: true },
  { outcome: { kind: "response", status: 500 }, failure: true },
  { outcome: { kind: "response", status: 502 }, failure: true },
  { outcome: { kind: "response", status: 503 }, failure: true },
  { outcome: { kind: "response", status: 504 }, failure: true },
  { outcome: { kind: "response", status: 529 }, failure: true },
  { outcome: { kind: "response", status: 429 }, failure: true },
  { outcome: { kind: "response", status: 200 }, failure: false },
  { outcome: { kind: "response", status: 201 }, failure: false },
  { outcome: { kind: "response", status: 204 }, failure: false },
  { outcome: { kind: "response", status: 400 }, failure: false },
  { outcome: { kind: "response", status: 401 }, failure: false },
  { outcome: { kind: "response", status: 403 }, failure: false },
  { outcome: { kind: "response", status: 404 }, failure: false },
  { outcome: { kind: "response", status: 408 }, failure: false },
  { outcome: { kind: "response", status: 413 }, failure: false },
  { outcome: { kind: "response", status: 422 }, failure: false },
  { outcome: { kind: "response", status: 499 }, failure: false },
  { outcome: { kind: "redirect", status: 301 }, failure: false },
  { outcome: { kind: "redirect", status: 302 }, failure: false },
  { outcome: { kind: "redirect", status: 307 }, failure: false },
  { outcome: { kind: "redirect", status: 308 }, failure: false },
  { outcome: { kind: "client_gone" }, failure: false },
];

function label(o: Outcome): string {
  return "status" in o ? `${o.kind} ${o.status}` : o.kind;
}

for (const c of cases) {
  Deno.test(`fallback: ${label(c.outcome)} -> ${c.failure ? "route failure" : "no fallback"}`, () => {
    const reason = routeFailure(c.outcome);
    if (c.failure) {
      assert.equal(typeof reason, "string");
      assert.ok(reason!.length > 0);
      if (c.outcome.kind === "response") assert.match(reason!, new RegExp(String(c.outcome.status)));
      else assert.equal(reason, c.outcome.kind);
    } else {
      assert.equal(reason, undefined);
    }
    // After the first attempt, with fallback on: fall back exactly for route failures.
    assert.equal(shouldFallback(c.outcome, true, 1), c.failure);
    // Never when fallback is disabled (fast and smart are the same backend).
    assert.equal(shouldFallback(c.outcome, false, 1), false);
    // Only once: never after the second attempt.
    assert.equal(shouldFallback(c.outcome, true, 2), false);
    assert.equal(shouldFallback(c.outcome, true, 3), false);
  });
}

Deno.test("fallback: routeFailure reasons distinguish the causes", () => {
  const reasons = new Set(cases.filter((c) => c.failure).map((c) => routeFailure(c.outcome)));
  assert.ok(reasons.has("connect_error"));
  assert.ok(reasons.has("timeout"));
  assert.ok(reasons.has("bad_stream"));
  assert.ok(reasons.has(routeFailure({ kind: "response", status: 429 })));
  assert.notEqual(routeFailure({ kind: "response", status: 429 }), routeFailure({ kind: "response", status: 500 }));
});
