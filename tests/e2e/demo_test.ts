/**
 * Demo mode end to end: with no configuration at all the proxy serves an
 * in-process echo model on both routes.
 */

import assert from "node:assert/strict";
import { run } from "../../src/main.ts";
import type { RunningProxy } from "../../src/server.ts";
import { post, startProxy } from "../support/proxy.ts";
import { sseContent } from "../support/wire.ts";

const chat = (model: string, content: unknown, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: "system", content: "be brief" }, { role: "user", content }],
  ...extra,
});

Deno.test("demo: non-streaming chat completions echo per route", async () => {
  await using proxy = await startProxy({});
  const cases: [string, string, string][] = [
    ["gpt-4", "hello there", "[demo fast] you said: hello there"],
    ["fast", "one two three", "[demo fast] you said: one two three"],
    ["smart", "what is 2+2?", "[demo smart] you said: what is 2+2?"],
    ["SMART", "ünïcödé ✓", "[demo smart] you said: ünïcödé ✓"],
  ];
  for (const [model, said, want] of cases) {
    const res = await post(`${proxy.url}/v1/chat/completions`, chat(model, said));
    assert.equal(res.status, 200, model);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    const body = await res.json();
    assert.equal(body.object, "chat.completion");
    assert.equal(body.choices[0].message.role, "assistant");
    assert.equal(body.choices[0].message.content, want);
    assert.equal(body.choices[0].finish_reason, "stop");
  }
  // Content given as parts (as vision clients send it) is echoed too.
  const parts = await post(
    `${proxy.url}/v1/chat/completions`,
    chat("gpt-4", [{ type: "text", text: "from " }, { type: "text", text: "parts" }]),
  );
  assert.equal((await parts.json()).choices[0].message.content, "[demo fast] you said: from parts");
});

Deno.test("demo: streaming chat completions echo as SSE ending in [DONE]", async () => {
  await using proxy = await startProxy({});
  for (const [model, route] of [["gpt-4", "fast"], ["smart", "smart"]]) {
    const res = await post(`${proxy.url}/v1/chat/completions`, chat(model, "stream me please", { stream: true }));
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    assert.equal(res.headers.get("cache-control"), "no-cache");
    const text = await res.text();
    const events = text.split("\n\n").filter((e) => e !== "");
    assert.ok(events.length >= 3, `several events, got ${events.length}`);
    for (const e of events) assert.match(e, /^data: /);
    assert.equal(events.at(-1), "data: [DONE]");
    assert.equal(sseContent(text), `[demo ${route}] you said: stream me please`);
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
    for (const c of chunks) assert.equal(c.object, "chat.completion.chunk");
    assert.equal(chunks.at(-1).choices[0].finish_reason, "stop");
  }
});

Deno.test("demo: /health reports demo mode, /v1/models lists fast and smart, banner says DEMO MODE", async () => {
  await using proxy = await startProxy({});
  const health = await (await fetch(`${proxy.url}/health`)).json();
  assert.equal(health.demo, true);
  assert.equal(health.fallback, false);
  assert.ok(health.routes.fast && health.routes.smart);
  const models = await (await fetch(`${proxy.url}/v1/models`)).json();
  assert.deepEqual(models.data.map((m: { id: string }) => m.id).sort(), ["fast", "smart"]);
  const banner = proxy.stdout.join("");
  assert.match(banner, /DEMO MODE/);
  assert.match(banner, /FAST_BASE_URL/, "says how to configure a real backend");
  assert.match(banner, /\.env/);
  // No "fallback=off" next to a README that pitches fallback: the banner says why there is none.
  assert.doesNotMatch(banner.slice(0, banner.indexOf("listening on")), /fallback=/);
  assert.match(banner, /one built-in backend, so there is nothing to fall back to/);
});

Deno.test("demo: a configured proxy is not in demo mode and prints no demo banner", async () => {
  await using proxy = await startProxy({ FAST_BASE_URL: "http://127.0.0.1:9/v1", FAST_MODEL_NAME: "m" });
  const health = await (await fetch(`${proxy.url}/health`)).json();
  assert.equal(health.demo, false);
  assert.doesNotMatch(proxy.stdout.join(""), /DEMO MODE/);
});

Deno.test("demo: bad input is still refused with a 400 before the echo model", async () => {
  await using proxy = await startProxy({});
  const res = await post(`${proxy.url}/v1/chat/completions`, "{not json");
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.error.type, "invalid_request_error");
});

Deno.test("demo: with no configuration at all it listens on 127.0.0.1 only", async () => {
  const out: string[] = [];
  let listening!: (s: RunningProxy) => void;
  const started = new Promise<RunningProxy>((r) => listening = r);
  // No BIND_HOST: the demo's own default applies.
  const done = run({
    source: { PROXY_PORT: "0" },
    stdout: (t) => void out.push(t),
    signals: false,
    onListen: listening,
  });
  const server = await Promise.race([
    started,
    done.then((code) => {
      throw new Error(`exited with ${code}`);
    }),
  ]);
  try {
    assert.equal(server.addr.hostname, "127.0.0.1");
    const res = await post(`http://127.0.0.1:${server.addr.port}/v1/chat/completions`, chat("gpt-4", "hi"));
    assert.equal((await res.json()).choices[0].message.content, "[demo fast] you said: hi");
    assert.match(out.join(""), /DEMO MODE/);
  } finally {
    await server.shutdown(0);
    assert.equal(await done, 0);
  }
});
