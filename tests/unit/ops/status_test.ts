/** Unit tests of the status document the page polls. */

import assert from "node:assert/strict";
import { buildStatus } from "../../../src/ops/status.ts";
import { Telemetry } from "../../../src/ops/telemetry.ts";
import { VERSION } from "../../../src/version.ts";

const KEY = "sk-backend-0123456789abcdef";

function sources(t: Telemetry) {
  return {
    telemetry: t,
    breaker: (name: string) =>
      name === "smart" ? { state: "cooling", until: "2026-01-01T00:00:30.000Z" } : { state: "closed" },
    openStreams: () => 1,
    auth: true,
    demo: false,
    fallback: true,
    mask: (s: string) => s.replaceAll(KEY, "***"),
    now: () => t.startedAt + 90_500,
  };
}

Deno.test("status: each route shows host, model, breaker, counts, tokens, p50 and masked last error", () => {
  const t = new Telemetry({
    routes: [
      { name: "fast", host: "f.example", model: "m-fast", cooling: () => false },
      { name: "smart", host: "s.example", model: "m-smart", cooling: () => true },
    ],
    openStreams: () => 1,
  });
  t.requestDone({ method: "POST", path: "/v1/chat/completions", route: "smart", status: 200, ms: 5, stream: false });
  t.attemptFailed("fast", "status_5xx", `HTTP 503: bad key ${KEY}`);
  t.fallback("fast", "smart", "status_5xx");
  t.tokens("smart", { input: 4, output: 2 });
  t.firstByte("smart", 0.4);
  const s = buildStatus(sources(t));
  assert.equal(s.version, VERSION);
  assert.equal(s.uptime_s, 90);
  assert.equal(s.auth, true);
  assert.equal(s.open_streams, 1);
  const [fast, smart] = s.routes;
  assert.deepEqual([fast.name, fast.host, fast.model, fast.breaker.state], ["fast", "f.example", "m-fast", "closed"]);
  assert.equal(fast.failures, 1);
  assert.equal(fast.fallbacks, 1);
  assert.equal(fast.last_error?.message, "HTTP 503: bad key ***");
  assert.equal(fast.last_error?.reason, "status_5xx");
  assert.ok(!JSON.stringify(s).includes(KEY));
  assert.deepEqual(smart.breaker, { state: "cooling", until: "2026-01-01T00:00:30.000Z" });
  assert.equal(smart.requests, 1);
  assert.deepEqual(smart.tokens, { input: 4, output: 2 });
  assert.equal(smart.first_token_p50_ms, 400);
  assert.equal(s.recent.length, 1);
  assert.equal(s.recent[0].route, "smart");
});
