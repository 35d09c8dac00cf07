/**
 * The operations endpoints: `/` (the status page for browsers, a JSON index
 * for everyone else), `/metrics` and `/status.json`. They are rows of the
 * endpoint table: the handler checks their key and method like any other
 * endpoint's, and does not count them as requests.
 */

import assert from "node:assert/strict";
import { parseConfig } from "../../../src/config/config.ts";
import { ENDPOINTS, TABLE } from "../../../src/endpoints.ts";
import { metrics, statusJson, statusPage, wantsHtml } from "../../../src/ops/endpoints.ts";
import { handle } from "../../../src/proxy/handler.ts";
import { buildState, type ProxyState } from "../../../src/proxy/state.ts";
import type { Transports } from "../../../src/upstream/transport.ts";

const PROXY_KEY = "proxy-key-for-clients-77";
const BACKEND_KEY = "sk-backend-0123456789abcdef";
const OPS_PATHS = ["/", "/metrics", "/status.json", "/health"];
const BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/** The operations endpoints answer from the proxy's state: a backend call is a failure of the test. */
const NO_BACKEND: Transports = {
  for: () => () => Promise.reject(new Error("the operations endpoints never call a backend")),
  close: () => {},
};

/** A proxy with one configured backend, with PROXY_API_KEYS set when `keys` are given. */
function proxy(keys: string[] = []): ProxyState {
  const config = parseConfig({
    FAST_BASE_URL: "http://fast.test/v1",
    FAST_MODEL_NAME: "m-fast",
    FAST_API_KEY: BACKEND_KEY,
    PROXY_API_KEYS: keys.join(","),
  });
  return buildState(config, NO_BACKEND, undefined);
}

const req = (path: string, init: RequestInit = {}) => new Request(`http://proxy.test${path}`, init);
const keyed = { authorization: `Bearer ${PROXY_KEY}` };

/** Asserts an OpenAI-shaped error with `status` and `code`. */
async function assertError(res: Response, status: number, code: string): Promise<void> {
  assert.equal(res.status, status);
  assert.equal((await res.json()).error?.code, code);
}

Deno.test("endpoints: a browser's Accept gets the page, curl's */* and application/json get JSON", async () => {
  const state = proxy();
  const page = statusPage(state, { req: req("/", { headers: { accept: BROWSER } }) });
  assert.match(page.headers.get("content-type")!, /^text\/html/);
  assert.match(page.headers.get("content-security-policy")!, /default-src 'none'/);
  assert.equal(page.headers.get("x-content-type-options"), "nosniff");
  assert.equal(page.headers.get("cache-control"), "no-store");
  assert.match(await page.text(), /<!doctype html>/);
  for (const accept of ["*/*", "application/json", ""]) {
    const res = statusPage(state, { req: req("/", { headers: accept ? { accept } : {} }) });
    assert.equal(res.headers.get("content-type"), "application/json", accept);
    const index = await res.json();
    assert.equal(index.object, "modelpin");
    assert.deepEqual(index.endpoints, { api: "/v1", health: "/health", metrics: "/metrics", status: "/status.json" });
  }
});

Deno.test("endpoints: HEAD / answers 200; other methods get 405 naming GET and HEAD", async () => {
  const state = proxy();
  const head = await handle(state, TABLE, req("/", { method: "HEAD" }));
  assert.equal(head.status, 200);
  await head.body?.cancel();
  for (const path of OPS_PATHS) {
    for (const method of ["POST", "PUT", "DELETE"]) {
      const res = await handle(state, TABLE, req(path, { method }));
      assert.equal(res.headers.get("allow"), "GET, HEAD", `${method} ${path}`);
      await assertError(res, 405, "method_not_allowed");
    }
    const ok = await handle(state, TABLE, req(path, { method: "HEAD" }));
    assert.equal(ok.status, 200, `HEAD ${path}`);
    await ok.body?.cancel();
  }
});

Deno.test("endpoints: /metrics and /status.json need a key when auth is on; / and /health never do", async () => {
  const state = proxy([PROXY_KEY]);
  for (const path of ["/metrics", "/status.json"]) {
    await assertError(await handle(state, TABLE, req(path)), 401, "invalid_api_key");
    await assertError(
      await handle(state, TABLE, req(path, { headers: { authorization: "Bearer nope" } })),
      401,
      "invalid_api_key",
    );
    // The key is checked before the method: a stranger learns nothing about what a path serves.
    await assertError(await handle(state, TABLE, req(path, { method: "POST" })), 401, "invalid_api_key");
  }
  const page = await handle(state, TABLE, req("/", { headers: { accept: "text/html" } }));
  assert.equal(page.status, 200);
  await page.body?.cancel();
  const health = await handle(state, TABLE, req("/health"));
  assert.equal(health.status, 200);
  assert.equal((await health.json()).auth, true);

  const scraped = await handle(state, TABLE, req("/metrics", { headers: keyed }));
  assert.equal(scraped.status, 200);
  assert.match(scraped.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  assert.match(await scraped.text(), /# TYPE modelpin_requests_total counter/);
  const status = await handle(state, TABLE, req("/status.json", { headers: { "x-api-key": PROXY_KEY } }));
  assert.equal(status.status, 200);
  const document = await status.json();
  assert.equal(typeof document.uptime_s, "number");
  assert.equal(document.auth, true);
});

Deno.test("endpoints: without PROXY_API_KEYS every operations endpoint is open", async () => {
  const state = proxy();
  for (const path of OPS_PATHS) {
    const res = await handle(state, TABLE, req(path));
    assert.equal(res.status, 200, path);
    await res.body?.cancel();
  }
});

Deno.test("endpoints: the table's operations rows: GET and HEAD, a key for the data, never counted", () => {
  const row = (path: string) => ENDPOINTS.find((e) => e.matches(path));
  const want: Record<string, boolean> = { "/": false, "/health": false, "/metrics": true, "/status.json": true };
  for (const [path, auth] of Object.entries(want)) {
    const e = row(path);
    assert.ok(e, path);
    assert.deepEqual([...e.methods], ["GET", "HEAD"], path);
    assert.equal(e.auth, auth, `${path} needs a key: ${auth}`);
    assert.equal(e.counted, false, `${path} is not counted`);
  }
  // Everything else is counted and keyed: the operations rows are exactly these paths.
  for (const path of ["/v1/models", "/v1/chat/completions", "/metrics/", "/status.json/x"]) {
    const e = row(path);
    if (e) assert.ok(e.counted && e.auth, path);
  }
});

Deno.test("endpoints: operations requests are not counted as requests; /v1 requests are", async () => {
  const state = proxy();
  for (const path of OPS_PATHS) await (await handle(state, TABLE, req(path))).body?.cancel();
  await (await handle(state, TABLE, req("/metrics", { method: "POST" }))).body?.cancel();
  assert.deepEqual(state.telemetry.recent.list(), []);
  assert.doesNotMatch(state.telemetry.registry.render(), /^modelpin_requests_total\{/m);
  await (await handle(state, TABLE, req("/v1/models"))).body?.cancel();
  assert.deepEqual(state.telemetry.recent.list().map((r) => r.path), ["/v1/models"]);
  assert.match(state.telemetry.registry.render(), /^modelpin_requests_total\{route="none",code="200",api="none"\} 1$/m);
});

Deno.test("endpoints: metrics() renders the registry in Prometheus' text format, never cached", async () => {
  const state = proxy();
  state.telemetry.tokens("fast", { input: 3, output: 2 });
  const res = metrics(state);
  assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.match(await res.text(), /^modelpin_tokens_total\{route="fast",model="m-fast",type="input"\} 3$/m);
});

Deno.test("endpoints: statusJson() shows routes, breakers and recent requests, and never a key", async () => {
  const state = proxy([PROXY_KEY]);
  state.telemetry.attemptFailed("fast", "status_5xx", `HTTP 503: bad key ${BACKEND_KEY}`);
  state.telemetry.requestDone({ method: "GET", path: `/v1/${PROXY_KEY}`, status: 404, ms: 1, stream: false });
  const res = statusJson(state);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.headers.get("cache-control"), "no-store");
  const text = await res.text();
  assert.ok(!text.includes(BACKEND_KEY) && !text.includes(PROXY_KEY), text);
  const status = JSON.parse(text);
  assert.deepEqual(
    status.routes.map((
      r: { name: string; host: string; breaker: { state: string } },
    ) => [r.name, r.host, r.breaker.state]),
    [["fast", "fast.test", "closed"], ["smart", "fast.test", "closed"]],
  );
  assert.equal(status.routes[0].last_error.message, "HTTP 503: bad key ***");
  assert.equal(status.recent[0].path, "/v1/***");
  assert.equal(status.auth, true);
  assert.equal(status.demo, false);
});

Deno.test("endpoints: wantsHtml needs text/html named, not a wildcard", () => {
  assert.ok(wantsHtml("text/html"));
  assert.ok(wantsHtml("application/json, text/html;q=0.5"));
  assert.ok(wantsHtml("TEXT/HTML"));
  assert.ok(wantsHtml(BROWSER));
  assert.ok(!wantsHtml("*/*"));
  assert.ok(!wantsHtml("text/*"));
  assert.ok(!wantsHtml("text/htmlx"));
  assert.ok(!wantsHtml("application/xhtml+xml"));
  assert.ok(!wantsHtml(""));
  assert.ok(!wantsHtml(null));
});
