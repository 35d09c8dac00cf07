/**
 * End-to-end tests of the core behaviour: forcing, routing,
 * endpoints, bad input, path stitching, keys and headers, redirects, REAL_*
 * compatibility and the request log. Real `Deno.serve` fake backends, the
 * whole proxy in-process.
 */

import assert from "node:assert/strict";
import { chunkEvent, completion, fakeBackend, jsonResponse, type Seen } from "../support/fake_backend.ts";
import { logLines, post, startProxy } from "../support/proxy.ts";
import { KEYS, MODELS, oneRoute, twoRoutes } from "../support/routes.ts";
import { byteBackend, closedPort, dump, fixedSse, sseContent, waitForLog } from "../support/wire.ts";

const CLIENT_KEY = "sk-client-should-never-travel";

const ok = () => jsonResponse(completion("hi"));

/** Asserts an OpenAI-shaped error body and returns it. */
async function assertOpenAIError(
  res: Response,
  status: number,
): Promise<{ message: string; type: string; code: string }> {
  assert.equal(res.status, status);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  const body = await res.json();
  assert.equal(typeof body.error, "object", JSON.stringify(body));
  assert.equal(typeof body.error.message, "string");
  assert.ok(body.error.message.length > 0);
  assert.equal(typeof body.error.type, "string");
  assert.ok("code" in body.error, "error.code is present");
  return body.error;
}

function withoutModel(o: Record<string, unknown> | undefined): Record<string, unknown> {
  const { model: _model, ...rest } = o ?? {};
  return rest;
}

// ---------------------------------------------------------------- forcing

Deno.test("forcing: gpt-4 becomes FAST_MODEL_NAME and every other field passes unchanged", async () => {
  await using backend = fakeBackend(ok);
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  // Written by hand: a big integer, a float written 1.0, unknown fields, tools, response_format, stream_options.
  const text =
    `{"model":"gpt-4","messages":[{"role":"user","content":[{"type":"text","text":"caf\\u00e9 \\"model\\": x"},` +
    `{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}],` +
    `"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object",` +
    `"properties":{"model":{"type":"string"}}}}}],"tool_choice":"auto",` +
    `"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}},` +
    `"stream_options":{"include_usage":true},"seed":12345678901234567890,"temperature":1.0,` +
    `"x_vendor_extension":{"nested":[1,2,{"model":"keep-me"}]},"metadata":{"model":"keep-me-too"}}`;
  const res = await post(`${proxy.url}/v1/chat/completions`, text);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), completion("hi"));

  assert.equal(backend.seen.length, 1);
  const seen = backend.seen[0];
  assert.equal(seen.json?.model, MODELS.fast);
  assert.deepEqual(withoutModel(seen.json), withoutModel(JSON.parse(text)));
  // Number literals survive as written (JSON.parse + stringify would give 12345678901234567000 and 1).
  assert.ok(seen.body.includes("12345678901234567890"), seen.body);
  assert.ok(seen.body.includes(`"temperature":1.0`), seen.body);
  assert.ok(!seen.body.includes("gpt-4"), "the requested model is gone");
  // Nested "model" members are not the model: left alone.
  assert.ok(seen.body.includes(`{"model":"keep-me"}`));
  assert.ok(seen.body.includes(`"metadata":{"model":"keep-me-too"}`));
});

Deno.test("forcing: a body without model gets the forced model; smart's model is forced on smart", async () => {
  await using backend = fakeBackend(ok);
  await using proxy = await startProxy(oneRoute(backend.baseUrl, { SMART_MODEL_NAME: MODELS.smart }));
  const r1 = await post(`${proxy.url}/v1/chat/completions`, { messages: [{ role: "user", content: "a" }] });
  await r1.body?.cancel();
  const r2 = await post(`${proxy.url}/v1/chat/completions`, { model: "smart", messages: [], n: 2 });
  await r2.body?.cancel();
  assert.equal(r1.status, 200);
  assert.equal(r2.status, 200);
  assert.equal(backend.seen[0].json?.model, MODELS.fast);
  assert.deepEqual(backend.seen[0].json?.messages, [{ role: "user", content: "a" }]);
  assert.equal(backend.seen[1].json?.model, MODELS.smart);
  assert.equal(backend.seen[1].json?.n, 2);
});

Deno.test("forcing: content-length upstream matches the rewritten body", async () => {
  await using backend = fakeBackend(ok);
  const longModel = "accounts/fireworks/models/" + "m".repeat(200);
  await using proxy = await startProxy(oneRoute(backend.baseUrl, { FAST_MODEL_NAME: longModel }));
  const body = JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content: "ünïcödé ✓" }] });
  const res = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "content-length": String(new TextEncoder().encode(body).length) },
    body,
  });
  await res.body?.cancel();
  assert.equal(res.status, 200);
  const seen = backend.seen[0];
  assert.equal(seen.json?.model, longModel);
  assert.equal(seen.headers.get("content-length"), String(new TextEncoder().encode(seen.body).length));
  assert.equal((seen.json?.messages as { content: string }[])[0].content, "ünïcödé ✓");
});

// ---------------------------------------------------------------- routing

Deno.test("routing: fast/smart case-insensitively, anything else (or nothing) to fast", async () => {
  await using fast = fakeBackend(ok);
  await using smart = fakeBackend(ok);
  await using proxy = await startProxy(
    oneRoute(fast.baseUrl, { SMART_BASE_URL: smart.baseUrl, SMART_MODEL_NAME: MODELS.smart }),
  );
  const cases: [unknown, "fast" | "smart"][] = [
    ["fast", "fast"],
    ["FAST", "fast"],
    ["smart", "smart"],
    ["SMART", "smart"],
    ["sMaRt", "smart"],
    ["Smart", "smart"],
    ["gpt-4", "fast"],
    ["gpt-4o-mini", "fast"],
    ["smarter", "fast"],
    ["smart ", "fast"],
    ["", "fast"],
    [undefined, "fast"],
    [42, "fast"],
  ];
  for (const [model, want] of cases) {
    const before = { fast: fast.seen.length, smart: smart.seen.length };
    const body: Record<string, unknown> = { messages: [{ role: "user", content: `case ${String(model)}` }] };
    if (model !== undefined) body.model = model;
    const res = await post(`${proxy.url}/v1/chat/completions`, body);
    await res.body?.cancel();
    assert.equal(res.status, 200, `model ${JSON.stringify(model)}`);
    const other = want === "fast" ? "smart" : "fast";
    const target = want === "fast" ? fast : smart;
    assert.equal(target.seen.length, before[want] + 1, `model ${JSON.stringify(model)} should go to ${want}`);
    assert.equal((other === "fast" ? fast : smart).seen.length, before[other], `model ${JSON.stringify(model)}`);
    const seen = target.seen.at(-1)!;
    assert.equal(seen.json?.model, want === "fast" ? MODELS.fast : MODELS.smart);
    assert.equal(seen.headers.get("authorization"), `Bearer ${KEYS.fast}`); // SMART_API_KEY falls back to FAST's
  }
});

// ---------------------------------------------------------------- other endpoints

Deno.test("other /v1 endpoints go to fast with the key replaced and the model forced", async () => {
  await using fast = fakeBackend((s) => jsonResponse({ object: "list", echoed_path: s.path }));
  await using smart = fakeBackend(ok);
  await using proxy = await startProxy(
    twoRoutes(fast.baseUrl, smart.baseUrl),
  );
  const bodies: [string, Record<string, unknown>][] = [
    ["/v1/embeddings", { model: "text-embedding-3-small", input: ["a", "b"], encoding_format: "float" }],
    ["/v1/completions", { model: "smart", prompt: "once upon", max_tokens: 5, logprobs: 2 }],
    // /v1/responses is a front door of its own now (routing by model name): see the responses tests.
    ["/v1/audio/speech", { model: "tts-1", input: "hi", voice: "alloy" }],
  ];
  for (const [path, body] of bodies) {
    const res = await post(`${proxy.url}${path}`, body, { authorization: `Bearer ${CLIENT_KEY}` });
    assert.equal(res.status, 200, path);
    assert.equal((await res.json()).echoed_path, path);
    const seen = fast.seen.at(-1)!;
    assert.equal(seen.path, path);
    assert.equal(seen.method, "POST");
    assert.equal(seen.json?.model, MODELS.fast, path);
    assert.deepEqual(withoutModel(seen.json), withoutModel(body), path);
    assert.equal(seen.headers.get("authorization"), `Bearer ${KEYS.fast}`, path);
  }
  assert.equal(fast.seen.length, 3);
  assert.equal(smart.seen.length, 0, "non-chat endpoints always use the fast route");

  // JSON without a model field: passed as is, no model added.
  const res = await post(`${proxy.url}/v1/moderations`, { input: "text" });
  await res.body?.cancel();
  assert.equal(res.status, 200);
  assert.deepEqual(fast.seen.at(-1)!.json, { input: "text" });

  // A GET under /v1 is forwarded too (query kept).
  const got = await fetch(`${proxy.url}/v1/files?purpose=batch&limit=2`);
  assert.equal(got.status, 200);
  assert.equal((await got.json()).echoed_path, "/v1/files?purpose=batch&limit=2");
  assert.equal(fast.seen.at(-1)!.method, "GET");
  assert.equal(fast.seen.at(-1)!.headers.get("authorization"), `Bearer ${KEYS.fast}`);
});

Deno.test("a multipart body has its model part forced; every other part arrives byte for byte", async () => {
  await using backend = byteBackend(() => jsonResponse({ text: "transcribed" }));
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  const boundary = "----modelpinTestBoundary7MA4YWxkTrZu0gW";
  const enc = new TextEncoder();
  const audio = new Uint8Array(512);
  for (let i = 0; i < audio.length; i++) audio[i] = (i * 37 + 11) & 0xff; // not UTF-8
  const parts = [
    enc.encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n` +
        `Content-Type: audio/wav\r\n\r\n`,
    ),
    audio,
    enc.encode(`\r\n--${boundary}--\r\n`),
  ];
  const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    body.set(p, at);
    at += p.length;
  }
  const res = await fetch(`${proxy.url}/v1/audio/transcriptions`, {
    method: "POST",
    headers: { "content-type": `multipart/form-data; boundary=${boundary}`, authorization: `Bearer ${CLIENT_KEY}` },
    body,
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { text: "transcribed" });
  assert.equal(backend.seen.length, 1);
  const seen = backend.seen[0];
  assert.equal(seen.path, "/v1/audio/transcriptions");
  // A body with a top-level model never reaches a backend with another model, forms included.
  const contentType = seen.headers.get("content-type") ?? "";
  assert.match(contentType, /^multipart\/form-data; boundary=/);
  const form = await new Response(seen.bytes as Uint8Array<ArrayBuffer>, { headers: { "content-type": contentType } })
    .formData();
  assert.deepEqual(form.getAll("model"), [MODELS.fast]);
  const file = form.get("file") as File;
  assert.equal(file.name, "a.wav");
  assert.equal(file.type, "audio/wav");
  assert.deepEqual(new Uint8Array(await file.arrayBuffer()), audio);
  assert.equal(seen.headers.get("authorization"), `Bearer ${KEYS.fast}`);
  assert.equal(seen.headers.get("content-length"), String(seen.bytes.length));
});

Deno.test("a multipart body without a model part is forwarded byte for byte", async () => {
  await using backend = byteBackend(() => jsonResponse({ id: "file-1" }));
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  const boundary = "----modelpinTestBoundaryNoModel";
  const body = new TextEncoder().encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--${boundary}--\r\n`,
  );
  const res = await fetch(`${proxy.url}/v1/files`, {
    method: "POST",
    headers: { "content-type": `multipart/form-data; boundary=${boundary}`, authorization: `Bearer ${CLIENT_KEY}` },
    body,
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.deepEqual(backend.seen[0].bytes, body);
  assert.equal(backend.seen[0].headers.get("content-type"), `multipart/form-data; boundary=${boundary}`);
});

// ---------------------------------------------------------------- local endpoints

Deno.test("GET /v1/models is answered locally: fast and smart, OpenAI list shape", async () => {
  await using backend = fakeBackend(ok);
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  const res = await fetch(`${proxy.url}/v1/models`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  const list = await res.json();
  assert.equal(list.object, "list");
  assert.ok(Array.isArray(list.data));
  assert.deepEqual(list.data.map((m: { id: string }) => m.id).sort(), ["fast", "smart"]);
  for (const m of list.data) {
    assert.equal(m.object, "model");
    assert.equal(typeof m.created, "number");
    assert.equal(typeof m.owned_by, "string");
  }
  assert.equal(backend.seen.length, 0, "no upstream call");
});

Deno.test("GET /health: routes with host and model, demo and fallback flags, never a key", async () => {
  await using fast = fakeBackend(ok);
  await using smart = fakeBackend(ok);
  {
    await using proxy = await startProxy(
      twoRoutes(fast.baseUrl, smart.baseUrl),
    );
    const res = await fetch(`${proxy.url}/health`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    const text = await res.text();
    const health = JSON.parse(text);
    assert.equal(health.demo, false);
    assert.equal(health.fallback, true);
    assert.equal(health.routes.fast.host, `127.0.0.1:${fast.port}`);
    assert.equal(health.routes.fast.model, MODELS.fast);
    assert.equal(health.routes.smart.host, `127.0.0.1:${smart.port}`);
    assert.equal(health.routes.smart.model, MODELS.smart);
    assert.ok(!text.includes(KEYS.fast) && !text.includes(KEYS.smart), text);
    assert.ok(!/api_?key|authorization|base_?url/i.test(text), `health names no key or URL field: ${text}`);
  }
  {
    // Same backend, model and key on both routes: nothing to fall back to.
    await using proxy = await startProxy(oneRoute(fast.baseUrl));
    const health = await (await fetch(`${proxy.url}/health`)).json();
    assert.equal(health.fallback, false);
    assert.equal(health.demo, false);
    assert.equal(health.routes.smart.model, MODELS.fast);
  }
  assert.equal(fast.seen.length + smart.seen.length, 0, "health calls no backend");
});

Deno.test("unknown paths get a 404 OpenAI-shaped error without an upstream call", async () => {
  await using backend = fakeBackend(ok);
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  // `/` is the status page / JSON index (the operations endpoints).
  for (
    const [method, path] of [["GET", "/nope"], ["POST", "/chat/completions"], ["GET", "/v2/models"], ["GET", "/v1x"]]
  ) {
    const res = await fetch(`${proxy.url}${path}`, { method, body: method === "POST" ? "{}" : undefined });
    const error = await assertOpenAIError(res, 404);
    assert.equal(error.type, "not_found_error", `${method} ${path}`);
  }
  assert.equal(backend.seen.length, 0);
});

Deno.test("wrong methods get 405 OpenAI-shaped errors without an upstream call", async () => {
  await using backend = fakeBackend(ok);
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  for (
    const [method, path] of [["GET", "/v1/chat/completions"], ["PUT", "/v1/chat/completions"], ["POST", "/v1/models"], [
      "POST",
      "/health",
    ], ["DELETE", "/health"]]
  ) {
    const res = await fetch(`${proxy.url}${path}`, { method, body: method === "GET" ? undefined : "{}" });
    await assertOpenAIError(res, 405);
  }
  assert.equal(backend.seen.length, 0);
});

// ---------------------------------------------------------------- bad input

Deno.test("bad input on a JSON endpoint: 400 OpenAI-shaped, no upstream call", async () => {
  await using backend = fakeBackend(ok);
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  const cases: [string, string, BodyInit][] = [
    ["invalid JSON", "/v1/chat/completions", `{"model": "gpt-4", "messages": [`],
    ["trailing garbage", "/v1/chat/completions", `{"model": "gpt-4"} x`],
    ["JSON array", "/v1/chat/completions", `[{"model": "gpt-4"}]`],
    ["JSON string", "/v1/chat/completions", `"hello"`],
    ["JSON null", "/v1/chat/completions", `null`],
    ["JSON number", "/v1/chat/completions", `42`],
    ["empty body", "/v1/chat/completions", ``],
    [
      "invalid UTF-8",
      "/v1/chat/completions",
      new Uint8Array([0x7b, 0x22, 0x6d, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    ],
    ["invalid JSON on embeddings", "/v1/embeddings", `{"model": "x", "input": `],
    ["array on embeddings", "/v1/embeddings", `["x"]`],
    ["chat without messages", "/v1/chat/completions", `{}`],
    ["chat with messages that are not an array", "/v1/chat/completions", `{"model": "gpt-4", "messages": "hi"}`],
  ];
  for (const [name, path, body] of cases) {
    const res = await fetch(`${proxy.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    const error = await assertOpenAIError(res, 400);
    assert.equal(error.type, "invalid_request_error", name);
    if (name.startsWith("chat with")) assert.match(error.message, /'messages'/, "the message names the field");
  }
  // A chat completion body is JSON whatever its declared type.
  const noType = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: "POST",
    body: new Uint8Array([0x5b, 0x5d]),
  });
  await assertOpenAIError(noType, 400);
  assert.equal(backend.seen.length, 0, "nothing reached the backend");
});

// ---------------------------------------------------------------- path stitching

Deno.test("path stitching end to end: the base path replaces /v1, the query is preserved", async () => {
  const cases: [string, string, string][] = [
    ["/inference/v1", "/v1/chat/completions", "/inference/v1/chat/completions"],
    ["/api/v3", "/v1/chat/completions", "/api/v3/chat/completions"],
    ["/openai/v1/", "/v1/chat/completions", "/openai/v1/chat/completions"],
    ["", "/v1/chat/completions", "/v1/chat/completions"],
    ["/", "/v1/chat/completions", "/v1/chat/completions"],
    ["/v1", "/v1/chat/completions", "/v1/chat/completions"],
    ["/inference/v1", "/v1/embeddings?user=abc&x=1%202", "/inference/v1/embeddings?user=abc&x=1%202"],
    [
      "/openai/v1/",
      "/v1/chat/completions?api-version=2024-10-21",
      "/openai/v1/chat/completions?api-version=2024-10-21",
    ],
    ["", "/v1/files?purpose=batch", "/v1/files?purpose=batch"],
  ];
  for (const [basePath, clientPath, want] of cases) {
    await using backend = fakeBackend(ok, basePath);
    await using proxy = await startProxy(oneRoute(backend.baseUrl));
    const res = clientPath.startsWith("/v1/files")
      ? await fetch(`${proxy.url}${clientPath}`)
      : await post(`${proxy.url}${clientPath}`, { model: "gpt-4", input: "x", messages: [] });
    await res.body?.cancel();
    assert.equal(res.status, 200, `${basePath} + ${clientPath}`);
    assert.equal(backend.seen.length, 1);
    assert.equal(backend.seen[0].path, want, `base ${JSON.stringify(basePath)} + ${clientPath}`);
  }
});

// ---------------------------------------------------------------- keys and headers

Deno.test("key replacement and header hygiene: client secrets and hop-by-hop headers never reach the backend", async () => {
  await using backend = fakeBackend(() =>
    jsonResponse(completion("hi"), 200, {
      "set-cookie": "backend_session=abc; Path=/; HttpOnly",
      "x-request-id": "req-123",
    })
  );
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  const res = await post(`${proxy.url}/v1/chat/completions`, { model: "gpt-4", messages: [] }, {
    authorization: `Bearer ${CLIENT_KEY}`,
    "api-key": CLIENT_KEY,
    "x-api-key": CLIENT_KEY,
    cookie: "session=client-cookie",
    "proxy-authorization": "Basic Y2xpZW50OnNlY3JldA==",
    connection: "x-hop-named",
    "x-hop-named": "must-not-pass",
    "keep-alive": "timeout=5",
    te: "trailers",
    "x-passthrough": "kept",
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("set-cookie"), null, "Set-Cookie is not passed back");
  assert.equal(res.headers.get("x-request-id"), "req-123", "ordinary response headers pass back");
  assert.deepEqual(await res.json(), completion("hi"));

  const h = backend.seen[0].headers;
  assert.equal(h.get("authorization"), `Bearer ${KEYS.fast}`);
  for (const name of ["api-key", "x-api-key", "cookie", "proxy-authorization", "x-hop-named", "keep-alive", "te"]) {
    assert.equal(h.get(name), null, `${name} must not reach the backend`);
  }
  const connection = h.get("connection") ?? "";
  assert.ok(!/x-hop-named/i.test(connection), `client's Connection not forwarded: ${connection}`);
  assert.equal(h.get("host"), `127.0.0.1:${backend.port}`, "Host is the backend's, not the proxy's");
  assert.equal(h.get("x-passthrough"), "kept", "ordinary client headers do pass");
  for (const [name, value] of h) {
    assert.ok(!value.includes(CLIENT_KEY), `client key leaked in ${name}`);
    assert.ok(!value.includes("client-cookie"), `client cookie leaked in ${name}`);
  }
});

Deno.test("an empty route key sends no Authorization at all", async () => {
  await using backend = fakeBackend(ok);
  await using proxy = await startProxy(oneRoute(backend.baseUrl, { FAST_API_KEY: "" }));
  const res = await post(`${proxy.url}/v1/chat/completions`, { model: "gpt-4", messages: [] }, {
    authorization: `Bearer ${CLIENT_KEY}`,
    "x-api-key": CLIENT_KEY,
  });
  await res.body?.cancel();
  assert.equal(res.status, 200);
  assert.equal(backend.seen[0].headers.get("authorization"), null);
  assert.equal(backend.seen[0].headers.get("x-api-key"), null);
});

Deno.test("Set-Cookie is not passed back on streams and verbatim bodies either", async () => {
  await using backend = fakeBackend((s) =>
    s.path.endsWith("/chat/completions")
      ? fixedSse([chunkEvent("a"), "data: [DONE]\n\n"], { "set-cookie": "s=1" })
      : new Response("plain text", { headers: { "content-type": "text/plain", "set-cookie": "s=2" } })
  );
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  const stream = await post(`${proxy.url}/v1/chat/completions`, { model: "gpt-4", stream: true, messages: [] });
  assert.equal(stream.headers.get("set-cookie"), null);
  assert.equal(sseContent(await stream.text()), "a");
  const plain = await fetch(`${proxy.url}/v1/files/file-1/content`);
  assert.equal(plain.headers.get("set-cookie"), null);
  assert.equal(await plain.text(), "plain text");
});

Deno.test("an upstream redirect is not followed: the key never reaches the other host", async () => {
  await using elsewhere = fakeBackend(() => jsonResponse(completion("from the other host")));
  await using backend = fakeBackend(() =>
    new Response(null, {
      status: 307,
      headers: { location: `http://localhost:${elsewhere.port}/v1/chat/completions` },
    })
  );
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  const res = await post(`${proxy.url}/v1/chat/completions`, { model: "gpt-4", messages: [] });
  const text = await res.text();
  assert.equal(backend.seen.length, 1);
  assert.equal(elsewhere.seen.length, 0, "the redirect target was never contacted");
  assert.ok(res.status !== 200, `status ${res.status}`);
  assert.ok(!text.includes("from the other host"));
  assert.ok(!text.includes(KEYS.fast));
  // The proxy explains itself in OpenAI shape rather than relaying a Location the client might follow with a key.
  assert.equal(res.headers.get("location"), null);
  assert.equal(typeof JSON.parse(text).error?.message, "string");
});

// ---------------------------------------------------------------- REAL_* compatibility

Deno.test("REAL_* names (the Python version's .env) configure the proxy", async () => {
  await using backend = fakeBackend(ok);
  await using proxy = await startProxy({
    REAL_BASE_URL: backend.baseUrl,
    REAL_API_KEY: "sk-real-legacy-key",
    REAL_MODEL_NAME: "legacy/model",
  });
  for (const model of ["gpt-4", "smart"]) {
    const res = await post(`${proxy.url}/v1/chat/completions`, { model, messages: [] });
    await res.body?.cancel();
    assert.equal(res.status, 200);
  }
  assert.equal(backend.seen.length, 2);
  for (const seen of backend.seen) {
    assert.equal(seen.json?.model, "legacy/model");
    assert.equal(seen.headers.get("authorization"), "Bearer sk-real-legacy-key");
  }
  const health = await (await fetch(`${proxy.url}/health`)).json();
  assert.equal(health.demo, false);
  assert.equal(health.fallback, false);
  assert.equal(health.routes.fast.model, "legacy/model");
  assert.ok(!proxy.stdout.join("").includes("sk-real-legacy-key"));
});

Deno.test("FAST_* wins over REAL_* when both are set", async () => {
  await using real = fakeBackend(ok);
  await using fast = fakeBackend(ok);
  await using proxy = await startProxy({
    REAL_BASE_URL: real.baseUrl,
    REAL_API_KEY: "sk-real-legacy-key",
    REAL_MODEL_NAME: "legacy/model",
    FAST_BASE_URL: fast.baseUrl,
    FAST_API_KEY: KEYS.fast,
    FAST_MODEL_NAME: "new/model",
  });
  const res = await post(`${proxy.url}/v1/chat/completions`, { model: "gpt-4", messages: [] });
  await res.body?.cancel();
  assert.equal(res.status, 200);
  assert.equal(real.seen.length, 0);
  assert.equal(fast.seen[0].json?.model, "new/model");
  assert.equal(fast.seen[0].headers.get("authorization"), `Bearer ${KEYS.fast}`);
});

// ---------------------------------------------------------------- request log

Deno.test("one log line per request: method, path, requested model -> route:model, status, json, fallback", async () => {
  await using backend = fakeBackend(ok);
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  const marker = "BODY-MARKER-do-not-log";
  const res = await post(`${proxy.url}/v1/chat/completions?secret_query=1`, {
    model: "gpt-4",
    messages: [{ role: "user", content: marker }],
  }, { authorization: `Bearer ${CLIENT_KEY}` });
  await res.body?.cancel();
  const line = await waitForLog(proxy, (l) => l.includes("/v1/chat/completions"));
  assert.match(line, /\bPOST \/v1\/chat\/completions\b/);
  assert.match(line, new RegExp(`gpt-4 -> fast:${MODELS.fast}\\b`));
  assert.match(line, / 200 /);
  assert.match(line, /\bjson\b/);
  assert.match(line, /fallback=no\b/);
  assert.match(line, /\d+(\.\d+)?ms/);
  assert.ok(!line.includes(marker), "no body in the log");
  assert.ok(!line.includes(KEYS.fast) && !line.includes(CLIENT_KEY), "no key in the log");
  assert.ok(!line.includes("hi"), "no response body in the log");

  const bad = await post(`${proxy.url}/v1/chat/completions`, "[1]");
  await bad.body?.cancel();
  const badLine = await waitForLog(proxy, (l) => / 400 /.test(l));
  assert.match(badLine, /POST \/v1\/chat\/completions model=- 400 /);
  assert.equal((await logLines(proxy)).length, 2, "exactly one line per request");
});

Deno.test("log line of a stream says stream; of a fallback says why", async () => {
  await using fast = fakeBackend((s) =>
    s.json?.stream === true ? fixedSse([chunkEvent("x"), "data: [DONE]\n\n"]) : jsonResponse({ error: {} }, 503)
  );
  await using smart = fakeBackend(ok);
  await using proxy = await startProxy(
    twoRoutes(fast.baseUrl, smart.baseUrl),
  );
  const stream = await post(`${proxy.url}/v1/chat/completions`, { model: "FAST", stream: true, messages: [] });
  assert.equal(sseContent(await stream.text()), "x");
  const streamLine = await waitForLog(proxy, (l) => /\bstream\b.* end=/.test(l));
  assert.match(streamLine, new RegExp(`model=FAST -> fast:${MODELS.fast} 200 `));
  assert.match(streamLine, /fallback=no\b/);

  const fellBack = await post(`${proxy.url}/v1/chat/completions`, { model: "gpt-4", messages: [] });
  assert.equal(fellBack.status, 200);
  await fellBack.body?.cancel();
  const fallbackLine = await waitForLog(proxy, (l) => /\bjson\b/.test(l));
  assert.match(fallbackLine, new RegExp(`model=gpt-4 -> smart:${MODELS.smart} 200 `));
  assert.doesNotMatch(fallbackLine, /fallback=no\b/);
  assert.match(fallbackLine, /fallback=\S*(503|5xx|status)/);
  assert.deepEqual(await logLines(proxy), [streamLine, fallbackLine], "one line per request, streams included");
  for (const l of [streamLine, fallbackLine]) {
    assert.ok(!l.includes(KEYS.fast) && !l.includes(KEYS.smart));
  }
});

// ---------------------------------------------------------------- keys never leak

Deno.test("keys never appear in any response, banner or log line", async () => {
  // Backends that echo the key they were sent, as real ones do in auth errors.
  const echoKey = (s: Seen) =>
    jsonResponse({
      error: {
        message: `Incorrect API key provided: ${s.headers.get("authorization")?.slice(7)}`,
        type: "invalid_request_error",
        code: "invalid_api_key",
      },
    }, 401);
  await using fast = fakeBackend((s) => s.path.includes("embeddings") ? echoKey(s) : ok());
  await using smart = fakeBackend((s) =>
    s.json?.stream === true ? fixedSse([chunkEvent("y"), "data: [DONE]\n\n"]) : echoKey(s)
  );
  await using redirecting = fakeBackend(() =>
    new Response(null, { status: 302, headers: { location: "http://127.0.0.1:1/v1/x" } })
  );
  const seenText: string[] = [];
  const scanAll = async (proxyUrl: string) => {
    const requests: [string, RequestInit][] = [
      ["/v1/chat/completions", { method: "POST", body: `{"model":"gpt-4","messages":[]}` }],
      ["/v1/chat/completions", { method: "POST", body: `{"model":"smart","messages":[]}` }],
      ["/v1/chat/completions", { method: "POST", body: `{"model":"smart","stream":true,"messages":[]}` }],
      ["/v1/embeddings", { method: "POST", body: `{"model":"e","input":"x"}` }],
      ["/v1/chat/completions", { method: "POST", body: `not json` }],
      ["/v1/chat/completions", { method: "GET" }],
      ["/v1/models", { method: "GET" }],
      ["/health", { method: "GET" }],
      ["/nope", { method: "GET" }],
    ];
    for (const [path, init] of requests) {
      const res = await fetch(`${proxyUrl}${path}`, {
        ...init,
        headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_KEY}` },
      });
      seenText.push(await dump(res));
    }
  };
  {
    await using proxy = await startProxy(
      twoRoutes(fast.baseUrl, smart.baseUrl),
    );
    await scanAll(proxy.url);
    await waitForLog(proxy, (l) => l.includes("/nope"));
    seenText.push(...proxy.stdout, ...proxy.stderr);
  }
  {
    // Fallback on, fast unreachable and smart redirecting: error paths of the proxy itself.
    await using proxy = await startProxy({
      FAST_BASE_URL: `http://127.0.0.1:${closedPort()}/v1`,
      FAST_API_KEY: KEYS.fast,
      FAST_MODEL_NAME: "m",
      SMART_BASE_URL: redirecting.baseUrl,
      SMART_API_KEY: KEYS.smart,
    });
    await scanAll(proxy.url);
    await waitForLog(proxy, (l) => l.includes("/nope"));
    seenText.push(...proxy.stdout, ...proxy.stderr);
  }
  // The scan is not vacuous: the backends did receive the keys and did echo them.
  assert.ok(fast.seen.some((s) => s.headers.get("authorization") === `Bearer ${KEYS.fast}`));
  assert.ok(smart.seen.some((s) => s.headers.get("authorization") === `Bearer ${KEYS.smart}`));
  assert.ok(redirecting.seen.some((s) => s.headers.get("authorization") === `Bearer ${KEYS.smart}`));
  const all = seenText.join("\n");
  assert.ok(all.includes("Incorrect API key provided"), "the echoing error bodies reached the client");
  for (const key of [KEYS.fast, KEYS.smart]) {
    assert.ok(!all.includes(key), `key ${key.slice(0, 8)}... leaked:\n${all}`);
  }
});

/** A backend answering 204 on /files and a chat completion elsewhere, behind a proxy with two models. */
async function twoModelProxy() {
  const backend = fakeBackend((seen) =>
    seen.path.startsWith("/v1/files")
      ? new Response(null, { status: 204, headers: { "content-type": "application/json" } })
      : jsonResponse(completion("ok"))
  );
  const proxy = await startProxy({
    FAST_BASE_URL: backend.baseUrl,
    FAST_MODEL_NAME: "fast-model",
    SMART_MODEL_NAME: "smart-model",
  });
  return {
    backend,
    proxy,
    async [Symbol.asyncDispose]() {
      await proxy.close();
      await backend.close();
    },
  };
}

Deno.test("an upstream 204 reaches the client without a body", async () => {
  await using t = await twoModelProxy();
  const del = await fetch(`${t.proxy.url}/v1/files/file-1`, { method: "DELETE" });
  assert.equal(del.status, 204);
  assert.equal(await del.text(), "");
});

Deno.test("curl -d JSON (labelled as a form) has its model forced", async () => {
  await using t = await twoModelProxy();
  const form = await fetch(`${t.proxy.url}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: '{"model":"text-embedding-3-small","input":"hi"}',
  });
  assert.equal(form.status, 200);
  await form.body?.cancel();
  assert.equal(t.backend.seen.at(-1)?.json?.model, "fast-model");
});

Deno.test("a form body that only looks like JSON is refused: its model cannot be known", async () => {
  await using t = await twoModelProxy();
  const notJson = await fetch(`${t.proxy.url}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "{not json",
  });
  assert.equal(notJson.status, 400);
  assert.equal((await notJson.json()).error.code, "unforceable_body");
  assert.equal(t.backend.seen.length, 0);
});

Deno.test("/v1/models/fast answers GET only", async () => {
  await using t = await twoModelProxy();
  const wrongMethod = await fetch(`${t.proxy.url}/v1/models/fast`, { method: "POST" });
  assert.equal(wrongMethod.status, 405);
  assert.equal((await wrongMethod.json()).error.code, "method_not_allowed");
});

Deno.test("/v1/chat/completions/ with a trailing slash is chat: its model picks the route", async () => {
  await using t = await twoModelProxy();
  const slash = await fetch(`${t.proxy.url}/v1/chat/completions/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "SMART", messages: [] }),
  });
  assert.equal(slash.status, 200);
  await slash.body?.cancel();
  assert.equal(t.backend.seen.at(-1)?.json?.model, "smart-model");
});
