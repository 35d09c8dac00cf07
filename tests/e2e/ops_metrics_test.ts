/**
 * End-to-end tests of `/metrics`, `/status.json`, `/` and `PROXY_LOG=json`
 * on a running proxy with real fake backends, and `promtool check metrics`
 * on a real scrape.
 */

import assert from "node:assert/strict";
import { completion, fakeBackend, jsonResponse } from "../support/fake_backend.ts";
import { logLines, post, startProxy } from "../support/proxy.ts";
import { KEYS, MODELS, ONE_ATTEMPT, twoRoutes } from "../support/routes.ts";
import { fixedSse } from "../support/wire.ts";

/**
 * What every proxy here adds to the routes: one attempt per route, so every failure counted here is one request's
 * (retries are counted in fallback_test.ts), and the breaker off, unless a test turns it on.
 */
const COUNTED = { ...ONE_ATTEMPT, PROXY_BREAKER_FAILURES: "0" };
const PROXY_KEY = "sk-proxy-client-00112233";

function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const PROMTOOL = (() => {
  try {
    return new Deno.Command("promtool", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();
if (!PROMTOOL) console.log("ops_metrics: promtool is not installed (Debian package prometheus): its check is skipped");

/** A fast backend that fails with 503 and a smart one that answers JSON and streams with usage. */
function backends() {
  const fast = fakeBackend(() => jsonResponse({ error: { message: `overloaded, key ${KEYS.fast}` } }, 503));
  const smart = fakeBackend((seen) => {
    if (seen.json?.stream) {
      return fixedSse([
        'data: {"choices":[{"delta":{"content":"hi"}}]}\n\n',
        'data: {"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":5}}\n\n',
        "data: [DONE]\n\n",
      ]);
    }
    return jsonResponse({ ...completion("hi"), usage: { prompt_tokens: 7, completion_tokens: 3 } });
  });
  return { fast, smart };
}

Deno.test("metrics e2e: a fallback, failures, tokens from JSON and streams, and durations are counted", async () => {
  const { fast, smart } = backends();
  await using _f = fast;
  await using _s = smart;
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, COUNTED));
  const json = await post(`${proxy.url}/v1/chat/completions`, { model: "gpt-4", messages: [] });
  assert.equal(json.status, 200);
  await json.body?.cancel();
  const stream = await post(`${proxy.url}/v1/chat/completions`, { model: "gpt-4", stream: true, messages: [] });
  assert.equal(stream.status, 200);
  assert.match(await stream.text(), /\[DONE\]/);
  const bad = await post(`${proxy.url}/v1/chat/completions`, "{not json");
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
  await logLines(proxy); // the stream's end is recorded after its last byte: give it a turn

  const res = await fetch(`${proxy.url}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.equal(sample(text, 'modelpin_requests_total{route="smart",code="200",api="chat"}'), 2);
  assert.equal(sample(text, 'modelpin_requests_total{route="none",code="400",api="chat"}'), 1);
  assert.equal(sample(text, 'modelpin_fallbacks_total{from="fast",to="smart",reason="status_5xx"}'), 2);
  assert.equal(sample(text, 'modelpin_upstream_failures_total{route="fast",reason="status_5xx"}'), 2);
  assert.equal(sample(text, `modelpin_tokens_total{route="smart",model="${MODELS.smart}",type="input"}`), 18);
  assert.equal(sample(text, `modelpin_tokens_total{route="smart",model="${MODELS.smart}",type="output"}`), 8);
  assert.equal(sample(text, 'modelpin_request_duration_seconds_count{route="smart",stream="true"}'), 1);
  assert.equal(sample(text, 'modelpin_request_duration_seconds_count{route="smart",stream="false"}'), 1);
  assert.equal(sample(text, 'modelpin_upstream_first_byte_seconds_count{route="smart"}'), 2);
  assert.equal(sample(text, 'modelpin_breaker_open{route="fast"}'), 0);
  assert.equal(sample(text, "modelpin_open_streams"), 0);
  assert.ok(!text.includes(KEYS.fast) && !text.includes(KEYS.smart));
  assert.equal(smart.seen[1].json?.stream_options, undefined, "modelpin never asks for usage itself");
});

Deno.test("metrics e2e: a cooling route counts a cooling fallback and shows as breaker open", async () => {
  const { fast, smart } = backends();
  await using _f = fast;
  await using _s = smart;
  await using proxy = await startProxy(
    twoRoutes(fast.baseUrl, smart.baseUrl, { ...COUNTED, PROXY_BREAKER_FAILURES: "1", PROXY_BREAKER_COOLDOWN: "60" }),
  );
  for (let i = 0; i < 2; i++) {
    const r = await post(`${proxy.url}/v1/chat/completions`, { model: "fast", messages: [] });
    assert.equal(r.status, 200);
    await r.body?.cancel();
  }
  const text = await (await fetch(`${proxy.url}/metrics`)).text();
  assert.equal(sample(text, 'modelpin_fallbacks_total{from="fast",to="smart",reason="cooling"}'), 1);
  assert.equal(
    sample(text, 'modelpin_upstream_failures_total{route="fast",reason="status_5xx"}'),
    1,
    "skip != attempt",
  );
  assert.equal(sample(text, 'modelpin_breaker_open{route="fast"}'), 1);
  const status = await (await fetch(`${proxy.url}/status.json`)).json();
  assert.equal(status.routes[0].breaker.state, "cooling");
  assert.ok(status.routes[0].breaker.until);
  assert.match(status.routes[0].last_error.message, /HTTP 503: overloaded, key \*\*\*/);
  assert.equal(status.recent[0].fallback, "fast_cooling");
});

Deno.test("metrics e2e: with PROXY_API_KEYS, /metrics and /status.json need the key; /health and / stay open", async () => {
  const { fast, smart } = backends();
  await using _f = fast;
  await using _s = smart;
  await using proxy = await startProxy(
    twoRoutes(fast.baseUrl, smart.baseUrl, { ...COUNTED, PROXY_API_KEYS: PROXY_KEY }),
  );
  for (const path of ["/metrics", "/status.json"]) {
    const denied = await fetch(`${proxy.url}${path}`);
    assert.equal(denied.status, 401, path);
    const body = await denied.text();
    assert.ok(!body.includes(PROXY_KEY));
    const allowed = await fetch(`${proxy.url}${path}`, { headers: { authorization: `Bearer ${PROXY_KEY}` } });
    assert.equal(allowed.status, 200, path);
    const text = await allowed.text();
    for (const key of [KEYS.fast, KEYS.smart, PROXY_KEY]) assert.ok(!text.includes(key), `${path} leaks no key`);
  }
  const health = await fetch(`${proxy.url}/health`);
  assert.equal(health.status, 200);
  await health.body?.cancel();
  const page = await fetch(`${proxy.url}/`, { headers: { accept: "text/html" } });
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.ok(!html.includes(MODELS.fast) && !html.includes(fast.baseUrl), "the page itself holds no data");
  const head = await fetch(`${proxy.url}/`, { method: "HEAD" });
  assert.equal(head.status, 200);
  const curl = await fetch(`${proxy.url}/`, { headers: { accept: "*/*" } });
  assert.equal(curl.headers.get("content-type"), "application/json");
  await curl.body?.cancel();
});

Deno.test("metrics e2e: ops requests are not counted, so scrapes and polls do not fill the recent list", async () => {
  const { fast, smart } = backends();
  await using _f = fast;
  await using _s = smart;
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, COUNTED));
  for (const path of ["/metrics", "/status.json", "/", "/health"]) {
    await (await fetch(`${proxy.url}${path}`)).body?.cancel();
  }
  const status = await (await fetch(`${proxy.url}/status.json`)).json();
  assert.deepEqual(status.recent, []);
  assert.ok(!(await (await fetch(`${proxy.url}/metrics`)).text()).includes("modelpin_requests_total{"));
});

Deno.test("log e2e: PROXY_LOG=json writes one typed JSON object per request", async () => {
  const { fast, smart } = backends();
  await using _f = fast;
  await using _s = smart;
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, { ...COUNTED, PROXY_LOG: "json" }));
  const r = await post(`${proxy.url}/v1/chat/completions?api_key=secret-query`, { model: "gpt-4", messages: [] });
  await r.body?.cancel();
  await new Promise((resolve) => setTimeout(resolve, 0));
  const lines = proxy.stdout.join("").split("\n").filter((l) => l.startsWith("{"));
  assert.equal(lines.length, 1, proxy.stdout.join(""));
  const o = JSON.parse(lines[0]);
  assert.equal(o.method, "POST");
  assert.equal(o.path, "/v1/chat/completions");
  assert.equal(o.requested_model, "gpt-4");
  assert.equal(o.route, "smart");
  assert.equal(o.model, MODELS.smart);
  assert.equal(o.status, 200);
  assert.equal(typeof o.ms, "number");
  assert.equal(o.stream, false);
  assert.equal(o.fallback, "status_503");
  assert.ok(!lines[0].includes("secret-query"));
});

Deno.test({
  name: "metrics e2e: promtool check metrics accepts a real scrape without problems",
  ignore: !PROMTOOL,
  async fn() {
    const { fast, smart } = backends();
    await using _f = fast;
    await using _s = smart;
    await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, COUNTED));
    const r = await post(`${proxy.url}/v1/chat/completions`, { model: '<img src=x onerror="a\\b">\n', messages: [] });
    await r.body?.cancel();
    const text = await (await fetch(`${proxy.url}/metrics`)).text();
    const child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    })
      .spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
    const out = await child.output();
    const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.ok(out.success, said);
    assert.equal(said.trim(), "", `promtool reports no problems: ${said}`);
  },
});
