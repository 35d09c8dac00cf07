/** Unit tests of the operations endpoints' routing, content negotiation and auth. */

import assert from "node:assert/strict";
import { ProxyError } from "../../../src/errors/errors.ts";
import { isOpsPath, opsEndpoints, wantsHtml } from "../../../src/ops/endpoints.ts";
import { buildStatus } from "../../../src/ops/status.ts";
import { Telemetry } from "../../../src/ops/telemetry.ts";

function endpoints(authorized: boolean) {
  const telemetry = new Telemetry({ routes: [], openStreams: () => 0 });
  return opsEndpoints({
    telemetry,
    authorized: () => authorized,
    status: () =>
      buildStatus({
        telemetry,
        breaker: () => ({ state: "closed" }),
        openStreams: () => 0,
        auth: !authorized,
        demo: false,
        fallback: false,
        mask: (s) => s,
      }),
  });
}

const req = (path: string, init: RequestInit = {}) => new Request(`http://x${path}`, init);

Deno.test("endpoints: a browser's Accept gets the page, curl's */* and application/json get JSON", async () => {
  const ops = endpoints(true);
  const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
  const page = ops(req("/", { headers: { accept: browser } }), "/")!;
  assert.match(page.headers.get("content-type")!, /^text\/html/);
  assert.match(page.headers.get("content-security-policy")!, /default-src 'none'/);
  assert.match(await page.text(), /<!doctype html>/);
  for (const accept of ["*/*", "application/json", ""]) {
    const res = ops(req("/", { headers: accept ? { accept } : {} }), "/")!;
    assert.equal(res.headers.get("content-type"), "application/json", accept);
    assert.equal((await res.json()).endpoints.status, "/status.json");
  }
});

Deno.test("endpoints: HEAD / answers 200; other methods get 405", () => {
  const ops = endpoints(true);
  assert.equal(ops(req("/", { method: "HEAD" }), "/")!.status, 200);
  assert.throws(() => ops(req("/", { method: "POST" }), "/"), (e) => e instanceof ProxyError && e.status === 405);
});

Deno.test("endpoints: /metrics and /status.json need a key when auth is on; / never does", async () => {
  const locked = endpoints(false);
  for (const path of ["/metrics", "/status.json"]) {
    assert.throws(() => locked(req(path), path), (e) => e instanceof ProxyError && e.status === 401, path);
  }
  const page = locked(req("/", { headers: { accept: "text/html" } }), "/")!;
  assert.equal(page.status, 200);
  await page.body?.cancel();
  const open = endpoints(true);
  const metrics = open(req("/metrics"), "/metrics")!;
  assert.match(metrics.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  assert.match(await metrics.text(), /# TYPE modelpin_requests_total counter/);
  const status = open(req("/status.json"), "/status.json")!;
  assert.equal(typeof (await status.json()).uptime_s, "number");
});

Deno.test("endpoints: other paths are left to the handler", () => {
  assert.equal(endpoints(true)(req("/v1/models"), "/v1/models"), undefined);
  assert.ok(isOpsPath("/metrics") && isOpsPath("/") && isOpsPath("/health") && !isOpsPath("/v1/models"));
});

Deno.test("endpoints: wantsHtml needs text/html named, not a wildcard", () => {
  assert.ok(wantsHtml("text/html"));
  assert.ok(wantsHtml("application/json, text/html;q=0.5"));
  assert.ok(!wantsHtml("*/*"));
  assert.ok(!wantsHtml("text/*"));
  assert.ok(!wantsHtml("text/htmlx"));
  assert.ok(!wantsHtml(null));
});
