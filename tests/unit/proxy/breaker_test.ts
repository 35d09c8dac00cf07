import assert from "node:assert/strict";
import { Breaker, MAX_COOLDOWN_MS } from "../../../src/proxy/breaker.ts";

const START = Date.UTC(2025, 0, 1);

function clock() {
  const c = { t: START, now: () => c.t };
  return c;
}

Deno.test("breaker: closed until the threshold of consecutive failures", () => {
  const c = clock();
  const b = new Breaker(3, 30_000, c.now);
  assert.equal(b.admit(), "use");
  b.failure();
  b.failure();
  assert.equal(b.admit(), "use");
  assert.ok(!["cooling", "probing"].includes(b.snapshot().state), "no request is kept off the route");
  assert.deepEqual(b.snapshot(), { state: "closed", failures: 2 });
  b.failure();
  assert.equal(b.admit(), "cooling");
  assert.ok(["cooling", "probing"].includes(b.snapshot().state), "requests are kept off the route");
  assert.deepEqual(b.snapshot(), {
    state: "cooling",
    failures: 3,
    until: new Date(START + 30_000).toISOString(),
  });
});

Deno.test("breaker: a success resets the consecutive count", () => {
  const c = clock();
  const b = new Breaker(3, 30_000, c.now);
  b.failure();
  b.failure();
  b.success();
  b.failure();
  b.failure();
  assert.equal(b.admit(), "use");
  assert.deepEqual(b.snapshot(), { state: "closed", failures: 2 });
});

Deno.test("breaker: threshold 1 opens on the first failure", () => {
  const c = clock();
  const b = new Breaker(1, 5_000, c.now);
  b.failure();
  assert.equal(b.admit(), "cooling");
});

Deno.test("breaker: cooldown boundaries and a single probe after it", () => {
  const c = clock();
  const b = new Breaker(2, 10_000, c.now);
  b.failure();
  b.failure();
  c.t = START + 9_999;
  assert.equal(b.admit(), "cooling");
  c.t = START + 10_000;
  assert.equal(b.admit(), "probe");
  // Only one probe at a time: every other request still sees the route cooling.
  assert.equal(b.admit(), "cooling");
  assert.equal(b.admit(), "cooling");
  assert.ok(["cooling", "probing"].includes(b.snapshot().state), "requests are kept off the route");
  assert.equal(b.snapshot().state, "probing");
  assert.equal(b.snapshot().until, undefined);
});

Deno.test("breaker: probe success closes", () => {
  const c = clock();
  const b = new Breaker(1, 1_000, c.now);
  b.failure();
  c.t += 1_000;
  assert.equal(b.admit(), "probe");
  b.success();
  assert.equal(b.admit(), "use");
  assert.equal(b.admit(), "use");
  assert.ok(!["cooling", "probing"].includes(b.snapshot().state), "no request is kept off the route");
  assert.deepEqual(b.snapshot(), { state: "closed", failures: 0 });
});

Deno.test("breaker: probe failure reopens for a full cooldown", () => {
  const c = clock();
  const b = new Breaker(3, 1_000, c.now);
  b.failure();
  b.failure();
  b.failure();
  c.t += 1_000;
  assert.equal(b.admit(), "probe");
  c.t += 50;
  b.failure();
  assert.equal(b.admit(), "cooling");
  assert.deepEqual(b.snapshot(), {
    state: "cooling",
    failures: 4,
    until: new Date(c.t + 1_000).toISOString(),
  });
  c.t += 999;
  assert.equal(b.admit(), "cooling");
  c.t += 1;
  assert.equal(b.admit(), "probe");
});

Deno.test("breaker: a released probe (client gone) lets the next request probe", () => {
  const c = clock();
  const b = new Breaker(1, 1_000, c.now);
  b.failure();
  c.t += 2_000;
  assert.equal(b.admit(), "probe");
  b.release();
  assert.equal(b.admit(), "probe");
});

const retryAfterCases: { name: string; retryAfterMs: number; coolsFor: number }[] = [
  { name: "5 s", retryAfterMs: 5_000, coolsFor: 5_000 },
  { name: "longer than the cooldown", retryAfterMs: 120_000, coolsFor: 120_000 },
  { name: "exactly the cap", retryAfterMs: 300_000, coolsFor: 300_000 },
  { name: "over the cap", retryAfterMs: 3_600_000, coolsFor: MAX_COOLDOWN_MS },
  { name: "absurd", retryAfterMs: Number.MAX_SAFE_INTEGER, coolsFor: MAX_COOLDOWN_MS },
];

for (const c of retryAfterCases) {
  Deno.test(`breaker: Retry-After ${c.name} opens at once for ${c.coolsFor} ms`, () => {
    assert.equal(MAX_COOLDOWN_MS, 300_000);
    const clk = clock();
    const b = new Breaker(3, 30_000, clk.now);
    b.failure(c.retryAfterMs); // first failure, far below the threshold
    assert.equal(b.admit(), "cooling");
    assert.equal(b.snapshot().until, new Date(START + c.coolsFor).toISOString());
    clk.t = START + c.coolsFor - 1;
    assert.equal(b.admit(), "cooling");
    clk.t = START + c.coolsFor;
    assert.equal(b.admit(), "probe");
  });
}

Deno.test("breaker: threshold 0 turns it off", () => {
  const c = clock();
  const b = new Breaker(0, 30_000, c.now);
  for (let i = 0; i < 50; i++) b.failure();
  b.failure(60_000);
  assert.equal(b.admit(), "use");
  assert.ok(!["cooling", "probing"].includes(b.snapshot().state), "no request is kept off the route");
  assert.deepEqual(b.snapshot(), { state: "closed", failures: 0 });
});

Deno.test("breaker: after cooling ends without a probe, snapshot says half_open, and it admits", () => {
  const c = clock();
  const b = new Breaker(1, 1_000, c.now);
  b.failure();
  assert.equal(b.snapshot().state, "cooling");
  c.t += 1_000;
  assert.equal(b.snapshot().state, "half_open");
  assert.ok(!["cooling", "probing"].includes(b.snapshot().state), "no request is kept off the route");
});

Deno.test("breaker: Retry-After 0 and a zero cooldown never leave the route probe-only", () => {
  const now = 1_000;
  const b = new Breaker(3, 30_000, () => now);
  b.failure(0);
  assert.equal(b.admit(), "use", "Retry-After: 0 is an ordinary failure");
  assert.equal(b.admit(), "use");
  const zero = new Breaker(1, 0, () => now);
  zero.failure();
  assert.equal(zero.admit(), "use");
  assert.equal(zero.admit(), "use", "no single-probe mode with a zero cooldown");
});

Deno.test("breaker: after its cooldown and before any probe, the state is half_open, not closed", () => {
  const c = clock();
  const b = new Breaker(3, 30_000, c.now);
  b.failure();
  b.failure();
  b.failure();
  c.t += 30_000;
  assert.deepEqual(b.snapshot(), { state: "half_open", failures: 3 });
  assert.equal(b.admit(), "probe");
  assert.deepEqual(b.snapshot(), { state: "probing", failures: 3 });
  b.success();
  assert.deepEqual(b.snapshot(), { state: "closed", failures: 0 });
});
