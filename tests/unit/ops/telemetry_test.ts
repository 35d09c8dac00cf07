/** Unit tests of the proxy's instruments: the fixed metric names and labels. */

import assert from "node:assert/strict";
import { Telemetry } from "../../../src/ops/telemetry.ts";
import type { LogEntry } from "../../../src/ops/request_log.ts";
import { type Failure, type FailureLabel, failureLabel } from "../../../src/upstream/failure.ts";

function telemetry(cooling = { fast: false, smart: false }, open = 0): Telemetry {
  return new Telemetry({
    routes: [
      { name: "fast", host: "f.example", model: "m-fast", cooling: () => cooling.fast },
      { name: "smart", host: "s.example", model: "m-smart", cooling: () => cooling.smart },
    ],
    openStreams: () => open,
  });
}

function done(t: Telemetry, e: Partial<LogEntry>): void {
  t.requestDone({ method: "POST", path: "/v1/chat/completions", status: 200, ms: 100, stream: false, ...e });
}

Deno.test("telemetry: a request is counted by the route that served it and its status; none when no route", () => {
  const t = telemetry();
  done(t, { route: "smart", status: 200 });
  done(t, { route: "smart", status: 200 });
  done(t, { status: 400 });
  const text = t.registry.render();
  assert.match(text, /^modelpin_requests_total\{route="smart",code="200",api="none"\} 2$/m);
  assert.match(text, /^modelpin_requests_total\{route="none",code="400",api="none"\} 1$/m);
});

Deno.test("telemetry: a fallback is counted with from, to and reason; cooling is a reason", () => {
  const t = telemetry();
  t.fallback("fast", "smart", "status_5xx");
  t.fallback("fast", "smart", "cooling");
  t.fallback("smart", "fast", "status_429");
  const text = t.registry.render();
  assert.match(text, /^modelpin_fallbacks_total\{from="fast",to="smart",reason="status_5xx"\} 1$/m);
  assert.match(text, /^modelpin_fallbacks_total\{from="fast",to="smart",reason="cooling"\} 1$/m);
  assert.match(text, /^modelpin_fallbacks_total\{from="smart",to="fast",reason="status_429"\} 1$/m);
  assert.deepEqual(t.routes().map((r) => r.stats.fallbacks), [2, 1], "counted on the route that was left");
});

Deno.test("telemetry: each failed attempt is counted with its reason and kept as the route's last error", () => {
  const t = telemetry();
  t.attemptFailed("fast", "timeout", "no answer");
  t.attemptFailed("fast", "status_429", "HTTP 429: slow down");
  const text = t.registry.render();
  assert.match(text, /^modelpin_upstream_failures_total\{route="fast",reason="timeout"\} 1$/m);
  assert.match(text, /^modelpin_upstream_failures_total\{route="fast",reason="status_429"\} 1$/m);
  const fast = t.routes()[0].stats;
  assert.equal(fast.failures, 2);
  assert.equal(fast.lastError?.reason, "status_429");
  assert.equal(fast.lastError?.message, "HTTP 429: slow down");
});

Deno.test("telemetry: tokens are counted by route, forced model and type", () => {
  const t = telemetry();
  t.tokens("smart", { input: 10, output: 3 });
  t.tokens("smart", { input: 1, output: 1 });
  const text = t.registry.render();
  assert.match(text, /^modelpin_tokens_total\{route="smart",model="m-smart",type="input"\} 11$/m);
  assert.match(text, /^modelpin_tokens_total\{route="smart",model="m-smart",type="output"\} 4$/m);
});

Deno.test("telemetry: durations go to the histogram by route and stream flag, in seconds", () => {
  const t = telemetry();
  done(t, { route: "fast", stream: true, ms: 1500 });
  const text = t.registry.render();
  assert.match(text, /^modelpin_request_duration_seconds_sum\{route="fast",stream="true"\} 1\.5$/m);
  assert.match(text, /^modelpin_request_duration_seconds_count\{route="fast",stream="true"\} 1$/m);
  assert.match(text, /^modelpin_request_duration_seconds_bucket\{route="fast",stream="true",le="1"\} 0$/m);
  assert.match(text, /^modelpin_request_duration_seconds_bucket\{route="fast",stream="true",le="2"\} 1$/m);
});

Deno.test("telemetry: first-byte times feed the histogram and the route's p50", () => {
  const t = telemetry();
  for (const s of [0.1, 0.2, 0.3, 5]) t.firstByte("fast", s);
  assert.match(t.registry.render(), /^modelpin_upstream_first_byte_seconds_count\{route="fast"\} 4$/m);
  assert.equal(t.routes()[0].stats.firstByteP50Ms(), 250);
  assert.equal(t.routes()[1].stats.firstByteP50Ms(), null);
});

Deno.test("telemetry: breaker, open streams, build info and process gauges are read at scrape time", () => {
  const cooling = { fast: false, smart: true };
  const t = telemetry(cooling, 2);
  let text = t.registry.render();
  assert.match(text, /^modelpin_breaker_open\{route="fast"\} 0$/m);
  assert.match(text, /^modelpin_breaker_open\{route="smart"\} 1$/m);
  assert.match(text, /^modelpin_open_streams 2$/m);
  assert.match(text, new RegExp(`^modelpin_build_info\\{version="[^"]+",deno="${Deno.version.deno}"\\} 1$`, "m"));
  assert.match(text, /^process_resident_memory_bytes [1-9]\d+$/m);
  const start = Number(/^process_start_time_seconds (\d+)$/m.exec(text)![1]);
  assert.ok(Math.abs(start - Date.now() / 1000) < 3600, "started within the last hour");
  cooling.smart = false;
  text = t.registry.render();
  assert.match(text, /^modelpin_breaker_open\{route="smart"\} 0$/m);
});

const answer = { status: 503, headers: new Headers(), body: new Uint8Array() };
const labelCases: { failure: Failure; label: FailureLabel }[] = [
  { failure: { kind: "status", code: 503, retryAfterMs: undefined, answer }, label: "status_5xx" },
  { failure: { kind: "status", code: 500, retryAfterMs: undefined, answer }, label: "status_5xx" },
  { failure: { kind: "status", code: 429, retryAfterMs: 1000, answer }, label: "status_429" },
  { failure: { kind: "timeout" }, label: "timeout" },
  { failure: { kind: "connect" }, label: "connect_error" },
  { failure: { kind: "bad_stream", message: "boom" }, label: "bad_stream" },
  { failure: { kind: "bad_response", code: "x", message: "odd" }, label: "bad_response" },
  { failure: { kind: "redirect", code: 302 }, label: "redirect" },
  { failure: { kind: "client_gone" }, label: "client_gone" },
];

Deno.test("telemetry: every kind of failure has one fixed reason label, whatever its status", () => {
  for (const c of labelCases) assert.equal(failureLabel(c.failure), c.label, JSON.stringify(c.failure));
  const t = telemetry();
  for (const c of labelCases) t.attemptFailed("smart", failureLabel(c.failure), "m");
  const series = /^modelpin_upstream_failures_total\{route="smart",reason="(\w+)"\}/gm;
  const reasons = [...t.registry.render().matchAll(series)].map((m) => m[1]);
  assert.deepEqual(reasons.sort(), [...new Set(labelCases.map((c) => c.label))].sort(), "no label per status code");
});

Deno.test("telemetry: a failure on no known route is counted on route none", () => {
  const t = telemetry();
  t.attemptFailed("elsewhere", "timeout", "no answer");
  assert.match(t.registry.render(), /^modelpin_upstream_failures_total\{route="none",reason="timeout"\} 1$/m);
  assert.deepEqual(t.routes().map((r) => r.stats.failures), [0, 0]);
});
