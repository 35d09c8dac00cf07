/**
 * Security, end to end:
 * inbound auth, the start-up warning for an open LAN bind, requests that try
 * to steer the proxy, key custody, upstream redirects and path tricks. Every
 * backend is a real server on 127.0.0.1 that records what reached it.
 */

import assert from "node:assert/strict";
import { chunkEvent, completion, type FakeBackend, fakeBackend, jsonResponse } from "../support/fake_backend.ts";
import { post, startProxy, type TestProxy } from "../support/proxy.ts";
import { ALL_KEYS, KEYS, MODELS, ONE_ATTEMPT, oneRoute, twoRoutes } from "../support/routes.ts";
import { assertNoKeys, deferred, within } from "../support/stream_tools.ts";

const CLIENT_KEYS = ["k1", "k2"];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Every proxy here gets ONE_ATTEMPT: these tests count attempts; the same-route retry is tested in fallback_test.ts.

const CHAT = { model: "fast", messages: [{ role: "user", content: "hi" }] };

function goodBackend(): FakeBackend {
  return fakeBackend((seen) =>
    seen.json?.stream === true
      ? new Response(`${chunkEvent("streamed")}data: [DONE]\n\n`, { headers: { "content-type": "text/event-stream" } })
      : jsonResponse(completion("from the configured backend"))
  );
}

/** A backend that must never be reached; it records what reaches it anyway. */
function evilBackend(): FakeBackend {
  return fakeBackend(() => jsonResponse(completion("EVIL ANSWERED")));
}

/** Reads an error response and checks the OpenAI shape; returns the body text. */
async function openAiError(
  res: Response,
  status: number,
  what: string,
): Promise<{ text: string; error: Record<string, unknown> }> {
  const text = await res.text();
  assert.equal(res.status, status, `${what}: status (body ${text})`);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/, `${what}: content-type`);
  const body = JSON.parse(text);
  assert.equal(typeof body.error, "object", `${what}: ${text}`);
  for (const field of ["message", "type", "code"]) {
    assert.equal(typeof body.error[field], "string", `${what}: error.${field} in ${text}`);
  }
  return { text, error: body.error };
}

/** Response headers as one text, for leak scans. */
function headerText(res: Response): string {
  return [...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
}

/** Everything the operator could read from the proxy (banner, log, warnings). */
function proxyOutput(proxy: TestProxy): string {
  return proxy.stdout.join("") + proxy.stderr.join("");
}

/** Request log lines written so far (the banner excluded). */
function logLinesNow(proxy: TestProxy): string[] {
  return proxy.stdout.join("").split("\n").filter((l) => /^\d{4}-\d\d-\d\dT/.test(l));
}

/**
 * Sends `head` (request line and headers, no final CRLF) plus `body` over a
 * raw TCP connection, so no client library normalises the target or the
 * headers, and returns the whole answer (the proxy closes the connection).
 */
async function rawExchange(port: number, head: string, body = ""): Promise<{ status: number; text: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const bytes = encoder.encode(body);
  await conn.write(encoder.encode(`${head}\r\nconnection: close\r\ncontent-length: ${bytes.length}\r\n\r\n`));
  if (bytes.length > 0) await conn.write(bytes);
  const text = decoder.decode(await within(new Response(conn.readable).bytes(), 10_000, `answer to ${head}`));
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
  assert.ok(m, `no status line in answer to ${JSON.stringify(head)}: ${JSON.stringify(text)}`);
  return { status: Number(m[1]), text };
}

// ------------------------------------------------------------------ inbound auth

Deno.test("inbound auth: missing, wrong, prefix and suffix keys get 401 and never reach the backend", async () => {
  await using backend = goodBackend();
  await using proxy = await startProxy(oneRoute(backend.baseUrl, { ...ONE_ATTEMPT, PROXY_API_KEYS: "k1,k2" }));
  const refused: { name: string; headers: Record<string, string> }[] = [
    { name: "no key", headers: {} },
    { name: "wrong bearer", headers: { authorization: "Bearer k3" } },
    { name: "bearer: prefix of k1", headers: { authorization: "Bearer k" } },
    { name: "bearer: suffix of k2", headers: { authorization: "Bearer 2" } },
    { name: "bearer: k1 is a prefix of it", headers: { authorization: "Bearer k12" } },
    { name: "bearer: k2 is a suffix of it", headers: { authorization: "Bearer xk2" } },
    { name: "bearer: the whole list", headers: { authorization: "Bearer k1,k2" } },
    { name: "bearer: wrong case", headers: { authorization: "Bearer K1" } },
    { name: "bearer: empty", headers: { authorization: "Bearer" } },
    { name: "key without a scheme", headers: { authorization: "k1" } },
    { name: "basic scheme", headers: { authorization: "Basic k1" } },
    { name: "wrong x-api-key", headers: { "x-api-key": "k3" } },
    { name: "x-api-key: prefix of k1", headers: { "x-api-key": "k" } },
    { name: "x-api-key: suffix of k1", headers: { "x-api-key": "1" } },
    { name: "x-api-key: k2 is a prefix of it", headers: { "x-api-key": "k2k" } },
    { name: "x-api-key: empty", headers: { "x-api-key": "" } },
  ];
  for (const { name, headers } of refused) {
    const res = await post(`${proxy.url}/v1/chat/completions`, CHAT, headers);
    const { text, error } = await openAiError(res, 401, name);
    assert.equal(error.type, "authentication_error", name);
    assertNoKeys(text + headerText(res), [...CLIENT_KEYS, ...ALL_KEYS], `401 for ${name}`);
  }
  // Every other endpoint but /health is closed too, streaming included.
  const others: [string, RequestInit][] = [
    ["/v1/chat/completions", { method: "POST", body: JSON.stringify({ ...CHAT, stream: true }) }],
    ["/v1/embeddings", { method: "POST", body: JSON.stringify({ model: "x", input: "hi" }) }],
    ["/v1/models", { method: "GET" }],
    ["/v1/models/fast", { method: "GET" }],
    ["/v1/completions", { method: "POST", headers: { "x-api-key": "k" }, body: "{}" }],
  ];
  for (const [path, init] of others) {
    const res = await fetch(`${proxy.url}${path}`, init);
    const { text } = await openAiError(res, 401, `${init.method} ${path}`);
    assertNoKeys(text, [...CLIENT_KEYS, ...ALL_KEYS], `401 for ${path}`);
  }
  assert.equal(backend.seen.length, 0, "no refused request reached the backend");

  await proxy.close(); // flushes the log
  const log = logLinesNow(proxy);
  assert.equal(log.filter((l) => / 401 /.test(l)).length, refused.length + others.length, log.join("\n"));
  assertNoKeys(proxyOutput(proxy), [...CLIENT_KEYS, ...ALL_KEYS], "proxy output");
});

Deno.test("inbound auth: Bearer k2 and x-api-key k1 pass, and the backend only ever sees the route key", async () => {
  await using backend = goodBackend();
  await using proxy = await startProxy(oneRoute(backend.baseUrl, { ...ONE_ATTEMPT, PROXY_API_KEYS: "k1,k2" }));
  const accepted: Record<string, string>[] = [
    { authorization: "Bearer k2" },
    { "x-api-key": "k1" },
    { authorization: "bearer k1" },
  ];
  for (const headers of accepted) {
    const res = await post(`${proxy.url}/v1/chat/completions`, CHAT, headers);
    const text = await res.text();
    assert.equal(res.status, 200, `${JSON.stringify(headers)}: ${text}`);
    assert.match(text, /from the configured backend/);
    assertNoKeys(text + headerText(res), [...CLIENT_KEYS, KEYS.fast], "client response");
  }
  const embed = await post(`${proxy.url}/v1/embeddings`, { model: "e", input: "hi" }, { "x-api-key": "k2" });
  assert.equal(embed.status, 200, await embed.text());

  assert.equal(backend.seen.length, accepted.length + 1);
  for (const seen of backend.seen) {
    assert.equal(seen.headers.get("authorization"), `Bearer ${KEYS.fast}`, "the route key goes upstream");
    assert.equal(seen.headers.get("x-api-key"), null, "the client's x-api-key is not forwarded");
    const all = headerText(new Response(null, { headers: seen.headers })) + seen.body;
    for (const key of CLIENT_KEYS) {
      assert.ok(![...seen.headers.values()].some((v) => v.includes(key)), `client key ${key} reached the backend`);
    }
    assert.ok(!/\bk[12]\b/.test(all), `a client key reached the backend: ${all}`);
  }
  assert.equal(backend.seen[0].json?.model, MODELS.fast, "the model is still forced");

  // /v1/models needs a key too, and works with one.
  const models = await fetch(`${proxy.url}/v1/models`, { headers: { authorization: "Bearer k1" } });
  const list = await models.json();
  assert.equal(models.status, 200);
  assert.deepEqual(list.data.map((m: { id: string }) => m.id), ["fast", "smart"]);

  await proxy.close();
  assertNoKeys(proxyOutput(proxy), [...CLIENT_KEYS, KEYS.fast], "proxy output");
  assert.equal(logLinesNow(proxy).filter((l) => / 200 /.test(l)).length, accepted.length + 2);
});

Deno.test("inbound auth: /health needs no key and shows none", async () => {
  await using backend = goodBackend();
  await using proxy = await startProxy(oneRoute(backend.baseUrl, { ...ONE_ATTEMPT, PROXY_API_KEYS: "k1,k2" }));
  const res = await fetch(`${proxy.url}/health`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const health = JSON.parse(text);
  assert.equal(health.status, "ok");
  assert.equal(health.auth, true, "/health reports that inbound auth is on");
  assertNoKeys(text + headerText(res), [...CLIENT_KEYS, KEYS.fast], "/health");
  assert.equal(backend.seen.length, 0);
});

// ------------------------------------------------------------ start-up warning

/**
 * Runs `src/main.ts` as its own process (binding 0.0.0.0 needs a network
 * grant the test itself does not have) in an empty directory, with exactly
 * `env`; waits for the banner, stops it with SIGTERM, returns its output.
 */
async function startOnce(
  env: Record<string, string>,
  stderrBeforeStop?: RegExp,
): Promise<{ stdout: string; stderr: string }> {
  const dir = await Deno.makeTempDir();
  try {
    const inherit: Record<string, string> = {};
    for (const name of ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME"]) {
      const v = Deno.env.get(name);
      if (v !== undefined) inherit[name] = v;
    }
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        "--allow-net=0.0.0.0,127.0.0.1",
        "--allow-env",
        "--allow-read",
        new URL("../../src/main.ts", import.meta.url).pathname,
      ],
      cwd: dir,
      clearEnv: true,
      env: { ...inherit, PROXY_PORT: "0", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // stderr is read as it comes, so the test can wait for a line there before stopping the proxy.
    let stderrText = "";
    let stderrChanged = deferred();
    const stderr = (async () => {
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
        stderrText += text;
        stderrChanged.resolve();
        stderrChanged = deferred();
      }
      stderrChanged.resolve();
      return stderrText;
    })();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let stdout = "";
    let ended = false;
    try {
      while (!stdout.includes("listening on")) {
        const { value, done } = await within(reader.read(), 30_000, "the start-up banner");
        if (done) {
          ended = true;
          break;
        }
        stdout += value;
      }
      while (!ended && stderrBeforeStop && !stderrBeforeStop.test(stderrText)) {
        await within(stderrChanged.promise, 30_000, `${stderrBeforeStop} on stderr`);
      }
    } finally {
      if (!ended) child.kill("SIGTERM");
    }
    for (;;) {
      const { value, done } = await within(reader.read(), 30_000, "the proxy to exit");
      if (done) break;
      stdout += value;
    }
    await within(child.status, 30_000, "the proxy to exit");
    const err = await stderr;
    assert.match(stdout, /listening on http:\/\/0\.0\.0\.0:\d+/, `the proxy did not start: ${stdout}\n${err}`);
    return { stdout, stderr: err };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("start-up: BIND_HOST=0.0.0.0 without PROXY_API_KEYS warns on stderr", async () => {
  const { stdout, stderr } = await startOnce({
    FAST_BASE_URL: "http://127.0.0.1:9/v1",
    FAST_API_KEY: KEYS.fast,
    FAST_MODEL_NAME: MODELS.fast,
    BIND_HOST: "0.0.0.0",
  }, /WARNING: listening on 0\.0\.0\.0/);
  assert.match(stderr, /warning/i, stderr);
  assert.match(stderr, /PROXY_API_KEYS/, stderr);
  assert.match(stderr, /0\.0\.0\.0/, "the warning names the address");
  assert.doesNotMatch(stdout, /PROXY_API_KEYS/, "the warning goes to stderr, not the log");
  assertNoKeys(stdout + stderr, [KEYS.fast], "start-up output");
});

Deno.test("start-up: BIND_HOST=0.0.0.0 with PROXY_API_KEYS set does not warn", async () => {
  const { stdout, stderr } = await startOnce({
    FAST_BASE_URL: "http://127.0.0.1:9/v1",
    FAST_API_KEY: KEYS.fast,
    FAST_MODEL_NAME: MODELS.fast,
    BIND_HOST: "0.0.0.0",
    PROXY_API_KEYS: "k1,k2",
  });
  assert.doesNotMatch(stderr, /PROXY_API_KEYS|warning/i, stderr);
  assertNoKeys(stdout + stderr, [KEYS.fast, ...CLIENT_KEYS], "start-up output");
});

Deno.test("start-up: a loopback BIND_HOST without PROXY_API_KEYS does not warn", async () => {
  for (const host of ["127.0.0.1", "localhost"]) {
    await using backend = goodBackend();
    await using proxy = await startProxy(oneRoute(backend.baseUrl, { ...ONE_ATTEMPT, BIND_HOST: host }));
    assert.match(proxy.stdout.join(""), /listening on http:\/\//, "started");
    const stderr = proxy.stderr.join("");
    assert.doesNotMatch(stderr, /PROXY_API_KEYS|warning/i, `${host}: ${stderr}`);
    // And it really is open without a key (no auth configured).
    const res = await post(`${proxy.url}/v1/chat/completions`, CHAT);
    assert.equal(res.status, 200, await res.text());
  }
});

// ------------------------------------------------- nothing in a request steers it

Deno.test("body fields and headers cannot change the destination or the key", async () => {
  await using evil = evilBackend();
  await using fast = goodBackend();
  await using smart = goodBackend();
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, ONE_ATTEMPT));
  const evilHost = new URL(evil.baseUrl).host;
  const steering = {
    api_base: evil.baseUrl,
    base_url: evil.baseUrl,
    baseURL: evil.baseUrl,
    api_key: "sk-evil-body",
    extra_headers: { Authorization: "Bearer sk-evil-extra", Host: evilHost, "X-Api-Base": evil.baseUrl },
    extra_body: { api_base: evil.baseUrl, base_url: evil.baseUrl },
    extra_query: { api_base: evil.baseUrl },
  };
  const steeringHeaders = {
    "x-forwarded-host": evilHost,
    "x-original-host": evilHost,
    "x-host": evilHost,
    "x-api-base": evil.baseUrl,
    "x-base-url": evil.baseUrl,
    "x-forwarded-proto": "http",
    "forwarded": `host=${evilHost}`,
    "api-key": "sk-evil-header",
  };

  for (const [route, backend] of [["fast", fast], ["smart", smart]] as const) {
    for (const stream of [false, true]) {
      const before = backend.seen.length;
      const res = await post(
        `${proxy.url}/v1/chat/completions`,
        { model: route, messages: [{ role: "user", content: "hi" }], stream, ...steering },
        steeringHeaders,
      );
      const text = await res.text();
      assert.equal(res.status, 200, text);
      assert.doesNotMatch(text, /EVIL/);
      assert.equal(backend.seen.length, before + 1, `${route} backend got the request`);
      const seen = backend.seen[before];
      assert.equal(seen.path, "/v1/chat/completions");
      assert.equal(seen.headers.get("authorization"), `Bearer ${KEYS[route]}`, "the route key, not the body's");
      assert.equal(seen.headers.get("host"), new URL(backend.baseUrl).host, "Host is the backend's own");
      for (const h of ["x-forwarded-host", "x-original-host", "x-host", "api-key", "forwarded"]) {
        assert.equal(seen.headers.get(h), null, `${h} is not forwarded`);
      }
      assert.equal(seen.json?.model, MODELS[route], "the model is forced");
      // Body fields may travel on as plain fields; they just must not have steered anything.
      for (const [field, value] of Object.entries(steering)) {
        if (seen.json && field in seen.json) assert.deepEqual(seen.json[field], value, `${field} is passed unchanged`);
      }
    }
  }
  // A model name that is a URL does not pick a backend either.
  const byModel = await post(`${proxy.url}/v1/chat/completions`, { ...CHAT, model: evil.baseUrl });
  assert.equal(byModel.status, 200, await byModel.text());
  assert.equal(fast.seen.at(-1)?.json?.model, MODELS.fast);

  // Non-chat endpoints take the same route, whatever the body says.
  const embed = await post(`${proxy.url}/v1/embeddings`, { model: "e", input: "x", ...steering }, steeringHeaders);
  assert.equal(embed.status, 200, await embed.text());
  assert.equal(fast.seen.at(-1)?.path, "/v1/embeddings");
  assert.equal(fast.seen.at(-1)?.headers.get("authorization"), `Bearer ${KEYS.fast}`);

  assert.equal(evil.seen.length, 0, "the evil backend received nothing");
});

Deno.test("raw Host, absolute-form target and x-*-host headers cannot change the destination", async () => {
  await using evil = evilBackend();
  await using fast = goodBackend();
  await using proxy = await startProxy(oneRoute(fast.baseUrl, ONE_ATTEMPT));
  const evilHost = new URL(evil.baseUrl).host;
  const body = JSON.stringify({ ...CHAT, api_base: evil.baseUrl, base_url: evil.baseUrl });
  const targets = [
    "/v1/chat/completions",
    `http://${evilHost}/v1/chat/completions`,
    `/v1/chat/completions?api_base=${encodeURIComponent(evil.baseUrl)}`,
  ];
  for (const target of targets) {
    const before = fast.seen.length;
    const { status, text } = await rawExchange(
      proxy.server.addr.port,
      [
        `POST ${target} HTTP/1.1`,
        "Host: evil.example",
        `X-Forwarded-Host: ${evilHost}`,
        `X-Original-Host: ${evilHost}`,
        `X-Forwarded-Server: ${evilHost}`,
        `X-Api-Base: ${evil.baseUrl}`,
        "Content-Type: application/json",
      ].join("\r\n"),
      body,
    );
    assert.equal(status, 200, text);
    assert.doesNotMatch(text, /EVIL/);
    assert.equal(fast.seen.length, before + 1, target);
    const seen = fast.seen[before];
    assert.match(seen.path, /^\/v1\/chat\/completions(\?|$)/, target);
    assert.equal(seen.headers.get("host"), new URL(fast.baseUrl).host, "Host: evil.example is not forwarded");
    assert.equal(seen.headers.get("authorization"), `Bearer ${KEYS.fast}`);
    for (const h of ["x-forwarded-host", "x-original-host"]) assert.equal(seen.headers.get(h), null, h);
  }
  assert.equal(evil.seen.length, 0, "the evil backend received nothing");
});

// ------------------------------------------------------------------ key custody

/** The route key the proxy sent, taken from what the backend saw. */
function keyOf(req: { headers: Headers }): string {
  return (req.headers.get("authorization") ?? "").replace(/^Bearer /, "");
}

/** Checks everything a client or operator can read, after the proxy has closed. */
async function assertNothingLeaks(proxy: TestProxy, seenByClient: string): Promise<void> {
  const health = await fetch(`${proxy.url}/health`);
  const healthText = await health.text();
  assert.equal(health.status, 200);
  assertNoKeys(healthText + headerText(health), ALL_KEYS, "/health");
  assertNoKeys(seenByClient, ALL_KEYS, "what the client received");
  await proxy.close();
  assert.ok(logLinesNow(proxy).length > 0, "requests were logged");
  assertNoKeys(proxy.stdout.join(""), ALL_KEYS, "stdout");
  assertNoKeys(proxy.stderr.join(""), ALL_KEYS, "stderr");
}

Deno.test("keys: an upstream 401 echoing 'Bearer <key>' reaches the client masked", async () => {
  const echo = (seen: { headers: Headers }) =>
    jsonResponse({
      error: {
        message: `Incorrect API key provided: ${seen.headers.get("authorization")}`,
        type: "invalid_request_error",
        code: "invalid_api_key",
      },
    }, 401);
  await using fast = fakeBackend(echo);
  await using smart = fakeBackend(echo);
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, ONE_ATTEMPT));
  let client = "";
  for (const model of ["fast", "smart"] as const) {
    for (const stream of [false, true]) {
      const res = await post(`${proxy.url}/v1/chat/completions`, { ...CHAT, model, stream });
      const text = await res.text();
      client += headerText(res) + text;
      assert.equal(res.status, 401, text);
      assert.equal(JSON.parse(text).error.message, "Incorrect API key provided: Bearer ***", "masked as ***");
    }
  }
  assert.equal(fast.seen.length, 2, "401 does not fall back");
  assert.equal(smart.seen.length, 2);
  assert.equal(keyOf(fast.seen[0]), KEYS.fast, "the backend did get the key it echoed");
  assert.equal(keyOf(smart.seen[0]), KEYS.smart);
  await assertNothingLeaks(proxy, client);
});

Deno.test("keys: both routes fail with a 500 text echoing the key: masked", async () => {
  const echo = (seen: { headers: Headers }) =>
    new Response(`internal error while calling with ${seen.headers.get("authorization")} (key=${keyOf(seen)})`, {
      status: 500,
      headers: { "content-type": "text/plain" },
    });
  await using fast = fakeBackend(echo);
  await using smart = fakeBackend(echo);
  await using proxy = await startProxy(
    twoRoutes(fast.baseUrl, smart.baseUrl, { ...ONE_ATTEMPT, PROXY_BREAKER_FAILURES: "0" }),
  );
  let client = "";
  for (const model of ["fast", "smart"] as const) {
    for (const stream of [false, true]) {
      const res = await post(`${proxy.url}/v1/chat/completions`, { ...CHAT, model, stream });
      const text = await res.text();
      client += headerText(res) + text;
      assert.equal(res.status, 500, text);
      assert.equal(text, "internal error while calling with Bearer *** (key=***)");
    }
  }
  assert.equal(fast.seen.length, 4, "each request tried both routes");
  assert.equal(smart.seen.length, 4);
  await assertNothingLeaks(proxy, client);
});

Deno.test("keys: a 400 echoing the key is masked and not retried", async () => {
  await using fast = fakeBackend((seen) =>
    jsonResponse({ error: { message: `bad request from ${keyOf(seen)}`, type: "invalid_request_error" } }, 400)
  );
  await using smart = evilBackend();
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, ONE_ATTEMPT));
  const res = await post(`${proxy.url}/v1/chat/completions`, CHAT);
  const text = await res.text();
  assert.equal(res.status, 400);
  assert.equal(JSON.parse(text).error.message, "bad request from ***");
  assert.equal(fast.seen.length, 1);
  assert.equal(smart.seen.length, 0, "400 is the client's problem: no fallback");
  await assertNothingLeaks(proxy, headerText(res) + text);
});

Deno.test("keys: a stream whose first event is an error echoing the key: masked in the 502", async () => {
  const errorStream = (seen: { headers: Headers }) =>
    new Response(`data: {"error":{"message":"quota exceeded for ${keyOf(seen)}"}}\n\n`, {
      headers: { "content-type": "text/event-stream" },
    });
  await using fast = fakeBackend(errorStream);
  await using smart = fakeBackend(errorStream);
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, ONE_ATTEMPT));
  const res = await post(`${proxy.url}/v1/chat/completions`, { ...CHAT, stream: true });
  const { text, error } = await openAiError(res, 502, "bad stream");
  assert.match(String(error.message), /quota exceeded for \*\*\*/);
  assert.equal(fast.seen.length, 1);
  assert.equal(smart.seen.length, 1);
  await assertNothingLeaks(proxy, headerText(res) + text);
});

Deno.test("keys: an error event in the middle of a stream that echoes the key is masked", async () => {
  await using fast = fakeBackend((seen) =>
    new Response(`${chunkEvent("partial")}data: {"error":{"message":"key ${keyOf(seen)} was revoked"}}\n\n`, {
      headers: { "content-type": "text/event-stream" },
    })
  );
  await using proxy = await startProxy(oneRoute(fast.baseUrl, ONE_ATTEMPT));
  const res = await post(`${proxy.url}/v1/chat/completions`, { ...CHAT, stream: true });
  const text = await res.text();
  assert.equal(res.status, 200);
  assert.match(text, /"content":"partial"/, "the events before it are passed on");
  assert.match(text, /key \*\*\* was revoked/, "the error event is passed on, masked");
  assert.doesNotMatch(text, /data: \[DONE\]/);
  await assertNothingLeaks(proxy, headerText(res) + text);
});

Deno.test("keys: an upstream error that echoes the key in a response header does not pass it on", async () => {
  await using fast = fakeBackend((seen) =>
    jsonResponse({ error: { message: "unauthorized", type: "invalid_request_error", code: "invalid_api_key" } }, 401, {
      "www-authenticate": `Bearer realm="api", error="invalid_token", key="${keyOf(seen)}"`,
      "x-debug-authorization": seen.headers.get("authorization") ?? "",
    })
  );
  await using proxy = await startProxy(oneRoute(fast.baseUrl, ONE_ATTEMPT));
  const res = await post(`${proxy.url}/v1/chat/completions`, CHAT);
  const text = await res.text();
  assert.equal(res.status, 401);
  assert.equal(keyOf(fast.seen[0]), KEYS.fast, "the backend did get the key it echoed");
  await assertNothingLeaks(proxy, headerText(res) + text);
});

// ------------------------------------------------------------------- redirects

Deno.test("upstream redirects are not followed: 502 upstream_redirect, the target sees nothing", async () => {
  await using target = evilBackend();
  const redirectTo = (status: number) => () =>
    new Response(`moved, key ${KEYS.fast}`, {
      status,
      headers: { location: `${target.baseUrl}/chat/completions`, "content-type": "text/plain" },
    });
  for (const status of [307, 302, 301, 303, 308]) {
    await using fast = fakeBackend(redirectTo(status));
    await using proxy = await startProxy(oneRoute(fast.baseUrl, ONE_ATTEMPT));
    for (const stream of [false, true]) {
      const res = await post(`${proxy.url}/v1/chat/completions`, { ...CHAT, stream });
      const { text, error } = await openAiError(res, 502, `${status} stream=${stream}`);
      assert.equal(error.code, "upstream_redirect");
      assert.equal(res.headers.get("location"), null, "the Location is not passed on");
      assertNoKeys(text + headerText(res), ALL_KEYS, "redirect answer");
    }
    const embed = await post(`${proxy.url}/v1/embeddings`, { model: "e", input: "x" });
    const { error } = await openAiError(embed, 502, `${status} embeddings`);
    assert.equal(error.code, "upstream_redirect");
    assert.equal(fast.seen.length, 3, "each request reached the configured backend once");
  }
  assert.equal(target.seen.length, 0, "the redirect target saw nothing (and so no key)");
});

Deno.test("an upstream redirect on one route does not leak the key to the target via fallback either", async () => {
  await using target = evilBackend();
  const redirect = () =>
    new Response(null, { status: 307, headers: { location: `${target.baseUrl}/chat/completions` } });
  await using fast = fakeBackend(redirect);
  await using smart = fakeBackend(redirect);
  await using proxy = await startProxy(twoRoutes(fast.baseUrl, smart.baseUrl, ONE_ATTEMPT));
  for (const model of ["fast", "smart"]) {
    const res = await post(`${proxy.url}/v1/chat/completions`, { ...CHAT, model });
    const { error } = await openAiError(res, 502, model);
    assert.equal(error.code, "upstream_redirect");
  }
  assert.ok(fast.seen.length >= 1 && smart.seen.length >= 1);
  assert.equal(target.seen.length, 0);
});

// ------------------------------------------------------------------- path tricks

/**
 * True when `path` would step out of where it points once a WHATWG URL
 * parser (as in fetch, and many servers) reads it: a `.` or `..` segment,
 * with `%2e` counted as a dot and a backslash as a slash.
 */
function hasDotSegment(path: string): boolean {
  const segments = path.split("?")[0].replace(/%2e/gi, ".").split(/[/\\]/);
  return segments.includes(".") || segments.includes("..");
}

Deno.test("path tricks: dot segments, encoded or not, get 400/404 and never reach the backend oddly", async () => {
  await using backend = fakeBackend((seen) =>
    seen.path.startsWith("/v1/chat/completions")
      ? jsonResponse(completion("ok"))
      : jsonResponse({ error: { message: "no such path", type: "invalid_request_error", code: "not_found" } }, 404)
  );
  await using proxy = await startProxy(oneRoute(backend.baseUrl, ONE_ATTEMPT));
  const tricks = [
    "/v1/../admin",
    "/v1/..",
    "/v1/.",
    "/v1/./chat/completions",
    "/v1/chat/completions/../../admin",
    "/v1/chat/../../../etc/passwd",
    "/v1/%2e%2e/x",
    "/v1/%2E%2E/admin",
    "/v1/.%2e/admin",
    "/v1/%2e./admin",
    "/v1/%2e/chat/completions",
    "/v1/%2e%2e%2fadmin",
    "/v1/..%2fadmin",
    "/v1/..%2Fadmin",
    "/v1/..%5cadmin",
    "/v1/..;/admin",
    "/v1/chat/completions/%2e%2e",
    "/v1/..?x=1",
    "/v1%2f..%2fadmin",
    "/v1%2e%2e/admin",
    "/v1@127.0.0.1/admin",
    "/%2e%2e/v1/chat/completions",
    "/../v1/chat/completions",
    "/admin",
  ];
  for (const path of tricks) {
    for (const method of ["GET", "POST"]) {
      const { status, text } = await rawExchange(
        proxy.server.addr.port,
        `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json`,
        method === "POST" ? JSON.stringify(CHAT) : "",
      );
      assert.ok(status === 400 || status === 404, `${method} ${path}: got ${status}\n${text}`);
    }
  }
  // Whatever did reach the backend stayed under its base path, with no dot segment in it.
  for (const seen of backend.seen) {
    assert.match(seen.path, /^\/v1\//, `backend saw ${seen.path}`);
    assert.ok(!hasDotSegment(seen.path), `backend saw a dot segment: ${seen.path}`);
  }
  // The plain and %2e forms are refused by the proxy itself, before any upstream call.
  for (const seen of backend.seen) assert.doesNotMatch(seen.path, /%2e|\/\.\.?(\/|$)/i, seen.path);
});

Deno.test("path tricks: backslash dot segments cannot climb out of the base path upstream", async () => {
  // fetch's URL parser reads a backslash as `/` in http(s) URLs, so `..\` is a parent step once stitched.
  await using backend = fakeBackend(() => jsonResponse(completion("reached")));
  const base = `${backend.baseUrl}/deployments/x`;
  await using proxy = await startProxy(oneRoute(base, ONE_ATTEMPT));
  const statuses: string[] = [];
  for (const path of ["/v1/..\\..\\..\\admin", "/v1/..\\admin", "/v1/chat\\..\\..\\admin", "/v1/.\\chat/completions"]) {
    const { status } = await rawExchange(proxy.server.addr.port, `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1`);
    statuses.push(`${path} -> ${status}`);
  }
  // What reached the backend first (the harm), then what the client was told.
  const outside = backend.seen.filter((s) => !s.path.startsWith("/v1/deployments/x/") || hasDotSegment(s.path));
  assert.deepEqual(
    outside.map((s) => `${s.path} (${s.headers.get("authorization")?.replace(KEYS.fast, "<route key>")})`),
    [],
    "requests reached the backend outside its base path",
  );
  for (const line of statuses) assert.match(line, / -> (400|404)$/);
});

Deno.test("keys: a short local-backend key (e.g. 'x') mangles neither headers nor error bodies", async () => {
  await using backend = fakeBackend(() =>
    new Response(JSON.stringify({ error: { message: "max_tokens exceeded", type: "invalid_request_error" } }), {
      status: 400,
      headers: { "content-type": "application/json", "x-request-id": "req-x-1" },
    })
  );
  await using proxy = await startProxy({ FAST_BASE_URL: backend.baseUrl, FAST_MODEL_NAME: "m", FAST_API_KEY: "x" });
  const res = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-4", messages: [] }),
  });
  assert.equal(res.status, 400);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.headers.get("x-request-id"), "req-x-1");
  assert.equal((await res.json()).error.message, "max_tokens exceeded");
  assert.equal(backend.seen[0].headers.get("authorization"), "Bearer x");
});

// ------------------------------------------------ the key never leaves its base path

Deno.test("Host tricks: a Host header with a path, tab dot segments or URL delimiters gets 400, no upstream call", async () => {
  await using backend = fakeBackend(() => jsonResponse(completion("reached")));
  // A base path to climb out of: the trick aimed at /v1/accounts/me/api-keys on the backend's host.
  await using proxy = await startProxy(oneRoute(`${backend.baseUrl}/deployments/x`, ONE_ATTEMPT));
  const hosts = [
    "x/v1/.\t./.\t./v1/accounts/me/api-keys?",
    "x/v1/../../admin?",
    "x/v1/chat/completions?",
    "h?x",
    "h#x",
    "a@b",
    "h\\x",
    "x/",
  ];
  for (const host of hosts) {
    for (const [method, path] of [["GET", "/v1/models/x"], ["POST", "/v1/chat/completions"], ["GET", "/v1/files"]]) {
      const { status, text } = await rawExchange(
        proxy.server.addr.port,
        `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json`,
        method === "POST" ? JSON.stringify(CHAT) : "",
      );
      assert.equal(status, 400, `${JSON.stringify(host)} ${method} ${path}: ${text}`);
      assert.match(text, /"invalid_host"/, text);
    }
  }
  assert.deepEqual(backend.seen.map((s) => s.path), [], "nothing may reach the backend");
});

Deno.test("path tricks: control characters, non-ASCII and URL delimiters in a path get 400, no upstream call", async () => {
  await using backend = fakeBackend(() => jsonResponse(completion("reached")));
  await using proxy = await startProxy(oneRoute(`${backend.baseUrl}/deployments/x`, ONE_ATTEMPT));
  for (
    const path of ["/v1/.\u00e9./x", "/v1/caf\u00e9", "/v1/files#frag", '/v1/a"b', "/v1/a<b>", "/v1/a`b", "/v1/a{b}"]
  ) {
    const { status, text } = await rawExchange(proxy.server.addr.port, `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1`);
    assert.equal(status, 400, `${JSON.stringify(path)}: ${text}`);
    assert.match(text, /"invalid_path"/, text);
  }
  assert.deepEqual(backend.seen.map((s) => s.path), []);
  // Percent-encoded bytes are not delimiters: they reach the backend still encoded, under its base path.
  const { status } = await rawExchange(proxy.server.addr.port, `GET /v1/files/a%09b%C3%A9 HTTP/1.1\r\nhost: 127.0.0.1`);
  assert.equal(status, 200);
  assert.deepEqual(backend.seen.map((s) => s.path), ["/v1/deployments/x/files/a%09b%C3%A9"]);
});

// ---------------------------------------------- no request goes upstream unforced

/** A backend that records the `model` each request carried, whatever its encoding. */
function modelRecorder(): FakeBackend & { models: () => Promise<unknown[]> } {
  const raw: { contentType: string; body: string }[] = [];
  const backend = fakeBackend((seen) => {
    raw.push({ contentType: seen.headers.get("content-type") ?? "", body: seen.body });
    return jsonResponse({ object: "list", data: [] });
  });
  return Object.assign(backend, {
    models: () =>
      Promise.all(raw.map(async ({ contentType, body }) => {
        if (contentType.startsWith("multipart/form-data")) {
          return (await new Response(body, { headers: { "content-type": contentType } }).formData()).get("model");
        }
        if (contentType.startsWith("application/x-www-form-urlencoded") && !body.trimStart().startsWith("{")) {
          return new URLSearchParams(body).get("model");
        }
        return JSON.parse(body).model;
      })),
  });
}

Deno.test("forcing: a JSON body under any label, or none, has its model forced on every endpoint", async () => {
  await using backend = modelRecorder();
  await using proxy = await startProxy(oneRoute(backend.baseUrl, ONE_ATTEMPT));
  const body = JSON.stringify({ model: "text-embedding-3-large", input: "x" });
  const labels = [
    "Application/JSON",
    "APPLICATION/JSON; charset=utf-8",
    "text/plain",
    "text/plain;charset=UTF-8",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    null,
  ];
  for (const label of labels) {
    const head = `POST /v1/embeddings HTTP/1.1\r\nhost: 127.0.0.1${label === null ? "" : `\r\ncontent-type: ${label}`}`;
    const { status, text } = await rawExchange(proxy.server.addr.port, head, body);
    assert.equal(status, 200, `${label}: ${text}`);
  }
  assert.deepEqual(await backend.models(), labels.map(() => MODELS.fast), "every request carried the forced model");
  for (const seen of backend.seen) {
    assert.equal(seen.headers.get("content-type"), "application/json", "a forced JSON body is labelled as JSON");
  }
});

Deno.test("forcing: a form or multipart body's model field is forced too", async () => {
  await using backend = modelRecorder();
  await using proxy = await startProxy(oneRoute(backend.baseUrl, ONE_ATTEMPT));
  const form = new FormData();
  form.set("model", "whisper-1");
  form.set("file", new Blob([new Uint8Array([0, 1, 2, 255])]), "a.wav");
  assert.equal((await fetch(`${proxy.url}/v1/audio/transcriptions`, { method: "POST", body: form })).status, 200);
  const urlencoded = await fetch(`${proxy.url}/v1/images/generations`, {
    method: "POST",
    body: new URLSearchParams({ model: "dall-e-3", prompt: "a cat" }),
  });
  assert.equal(urlencoded.status, 200);
  assert.deepEqual(await backend.models(), [MODELS.fast, MODELS.fast]);
  // The file's bytes arrive intact.
  const seen = backend.seen[0];
  const file = (await new Response(seen.body, { headers: { "content-type": seen.headers.get("content-type")! } })
    .formData()).get("file") as File;
  assert.ok(file instanceof File);
  assert.equal(file.name, "a.wav");
});

Deno.test("forcing: a body that looks like JSON but cannot be rewritten is refused with 400, no upstream call", async () => {
  await using backend = modelRecorder();
  await using proxy = await startProxy(oneRoute(backend.baseUrl, ONE_ATTEMPT));
  const invalidUtf8 = new Uint8Array([
    ...encoder.encode('{"model":"text-embedding-3-large","input":"'),
    0xff,
    ...encoder.encode('"}'),
  ]);
  for (const label of [null, "text/plain", "application/json"]) {
    const res = await fetch(`${proxy.url}/v1/embeddings`, {
      method: "POST",
      headers: label === null ? {} : { "content-type": label },
      body: invalidUtf8,
    });
    const { error } = await openAiError(res, 400, `invalid UTF-8 labelled ${label}`);
    assert.match(String(error.message), /model/, "the message says why: the model could not be forced");
  }
  const truncated = await fetch(`${proxy.url}/v1/embeddings`, { method: "POST", body: '{"model": "x", "input": ' });
  await openAiError(truncated, 400, "truncated JSON");
  assert.equal(backend.seen.length, 0);
});

// ----------------------------------------------------- every readable answer is masked

Deno.test("keys: a 200 JSON answer, a 200 text answer and a header name echoing the key are masked", async () => {
  await using backend = fakeBackend((seen) => {
    if (seen.path.endsWith("/text")) {
      return new Response(`plain text with ${KEYS.fast} inside`, { headers: { "content-type": "text/plain" } });
    }
    return new Response(JSON.stringify(completion(`your key is ${KEYS.fast}`)), {
      headers: { "content-type": "application/json", [`x-${KEYS.fast}`]: "1" },
    });
  });
  await using proxy = await startProxy(oneRoute(backend.baseUrl, ONE_ATTEMPT));
  const chat = await post(`${proxy.url}/v1/chat/completions`, CHAT);
  const chatText = await chat.text();
  assert.equal(chat.status, 200);
  assert.match(chatText, /your key is \*\*\*/);
  assertNoKeys(chatText + headerText(chat), [KEYS.fast], "200 JSON answer");
  const text = await fetch(`${proxy.url}/v1/text`);
  const body = await text.text();
  assert.equal(body, "plain text with *** inside");
  assertNoKeys(body + headerText(text), [KEYS.fast], "200 text answer");
});

// -------------------------------------------------------------- methods

Deno.test("methods: only GET, POST, DELETE and HEAD are forwarded; others get 405 without an upstream call", async () => {
  await using backend = fakeBackend(() => jsonResponse({ ok: true }));
  await using proxy = await startProxy(oneRoute(backend.baseUrl, ONE_ATTEMPT));
  for (const method of ["TRACE", "PUT", "PATCH", "OPTIONS", "PROPFIND", "TRACK"]) {
    const { status, text } = await rawExchange(
      proxy.server.addr.port,
      `${method} /v1/files HTTP/1.1\r\nhost: 127.0.0.1`,
    );
    assert.equal(status, 405, `${method}: ${text}`);
    assert.match(text, /\r\nallow: GET, POST, DELETE, HEAD\r\n/i, text);
    const body = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
    assert.equal(body.error.code, "method_not_allowed");
  }
  assert.deepEqual(backend.seen.map((s) => s.method), []);
  for (const method of ["GET", "POST", "DELETE", "HEAD"]) {
    const res = await fetch(`${proxy.url}/v1/files/file-1`, { method, body: method === "POST" ? "{}" : undefined });
    await res.body?.cancel();
    assert.equal(res.status, 200, method);
  }
  assert.deepEqual(backend.seen.map((s) => s.method), ["GET", "POST", "DELETE", "HEAD"]);
});

// ------------------------------------------------------- operations endpoints leak nothing

Deno.test("keys: /, /metrics, /status.json and /health never show a key, even after a backend echoed one", async () => {
  await using fast = fakeBackend(() =>
    jsonResponse({ error: { message: `invalid key ${KEYS.fast}`, type: "server_error" } }, 503)
  );
  await using smart = fakeBackend(() => jsonResponse({ error: { message: `bad ${KEYS.smart}` } }, 500));
  await using proxy = await startProxy(
    twoRoutes(fast.baseUrl, smart.baseUrl, { ...ONE_ATTEMPT, PROXY_API_KEYS: "client-key-1234567" }),
  );
  const auth = { authorization: "Bearer client-key-1234567" };
  const res = await post(`${proxy.url}/v1/chat/completions`, { ...CHAT, model: `model-${KEYS.fast}` }, auth);
  await res.body?.cancel();
  const secrets = [KEYS.fast, KEYS.smart, "client-key-1234567"];
  for (
    const [path, headers] of [
      ["/", { accept: "text/html" }],
      ["/", {}],
      ["/metrics", auth],
      ["/status.json", auth],
      ["/health", {}],
    ] as const
  ) {
    const answer = await fetch(`${proxy.url}${path}`, { headers });
    const text = await answer.text();
    assert.equal(answer.status, 200, `${path}: ${text}`);
    assertNoKeys(text + headerText(answer), secrets, path);
  }
  // Without the key, the endpoints that hold data refuse; the page and /health hold none.
  for (const path of ["/metrics", "/status.json"]) {
    const refused = await fetch(`${proxy.url}${path}`);
    await openAiError(refused, 401, path);
  }
  assertNoKeys(proxyOutput(proxy), secrets, "log and stderr");
});

// ---------------------------------------------------------- found by a hostile review

const LOWER_KEY = "sk-lowercasekey0123456789abcdef";

Deno.test("keys: a header whose name holds a (lower-case) key is dropped, and a key in content-type is masked", async () => {
  await using backend = fakeBackend(() =>
    new Response("{}", {
      headers: { "content-type": `application/json; x=${LOWER_KEY}`, [`x-echo-${LOWER_KEY}`]: "1", "x-ok": "kept" },
    })
  );
  await using proxy = await startProxy({
    FAST_BASE_URL: backend.baseUrl,
    FAST_MODEL_NAME: "m",
    FAST_API_KEY: LOWER_KEY,
  });
  const res = await post(`${proxy.url}/v1/chat/completions`, CHAT);
  await res.body?.cancel();
  assertNoKeys(headerText(res), [LOWER_KEY], "response headers");
  assert.equal(res.headers.get("x-ok"), "kept");
});

Deno.test("forcing: a JSON body behind a UTF-8 byte order mark is forced; a UTF-16 one is refused", async () => {
  await using backend = modelRecorder();
  await using proxy = await startProxy(oneRoute(backend.baseUrl, ONE_ATTEMPT));
  const json = encoder.encode(JSON.stringify({ model: "gpt-4-expensive", prompt: "x" }));
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...json]);
  for (const label of [null, "text/plain", "application/json"]) {
    const res = await fetch(`${proxy.url}/v1/completions`, {
      method: "POST",
      headers: label === null ? {} : { "content-type": label },
      body: bom,
    });
    assert.equal(res.status, 200, `${label}: ${await res.text()}`);
  }
  assert.deepEqual(await backend.models(), [MODELS.fast, MODELS.fast, MODELS.fast]);
  const utf16 = new Uint8Array([0xff, 0xfe, ...[...'{"model":"x"}'].flatMap((c) => [c.charCodeAt(0), 0])]);
  const refused = await fetch(`${proxy.url}/v1/completions`, { method: "POST", body: utf16 });
  const { error } = await openAiError(refused, 400, "UTF-16 JSON");
  assert.equal(error.code, "unforceable_body");
  assert.equal(backend.seen.length, 3);
});

Deno.test("forcing: a multipart part naming model in any spelling (NAME=, spaces, RFC 2231) is forced or refused", async () => {
  await using backend = modelRecorder();
  await using proxy = await startProxy(oneRoute(backend.baseUrl, ONE_ATTEMPT));
  const boundary = "b0undary";
  for (const disposition of ['form-data; NAME="model"', 'form-data; name = "model"', "form-data; name*=UTF-8''model"]) {
    const body = `--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\ngpt-4-expensive\r\n--${boundary}--\r\n`;
    const res = await fetch(`${proxy.url}/v1/audio/transcriptions`, {
      method: "POST",
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
      body,
    });
    const text = await res.text();
    if (res.status === 200) {
      assert.doesNotMatch(backend.seen.at(-1)!.body, /gpt-4-expensive/, `${disposition}: reached the backend unforced`);
    } else {
      assert.equal(res.status, 400, `${disposition}: ${text}`);
      assert.equal(JSON.parse(text).error.code, "unforceable_body");
    }
  }
});

Deno.test("path tricks: '..;' segments (read as '..' by Java servers) are refused before the key goes out", async () => {
  await using backend = fakeBackend(() => jsonResponse({ ok: true }));
  await using proxy = await startProxy(oneRoute(`${backend.baseUrl}/deployments/x`, ONE_ATTEMPT));
  for (const path of ["/v1/..;/..;/admin", "/v1/.;/files", "/v1/files/..;x/..;/admin"]) {
    const { status, text } = await rawExchange(proxy.server.addr.port, `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1`);
    assert.equal(status, 400, `${path}: ${text}`);
  }
  assert.deepEqual(backend.seen.map((s) => s.path), []);
});

Deno.test("forcing: a compressed request body is refused (415): its model could not be seen", async () => {
  await using backend = modelRecorder();
  await using proxy = await startProxy(oneRoute(backend.baseUrl, ONE_ATTEMPT));
  const gz = await new Response(
    new Blob([JSON.stringify({ model: "gpt-4-expensive", input: "x" })]).stream().pipeThrough(
      new CompressionStream("gzip"),
    ),
  ).bytes();
  const res = await fetch(`${proxy.url}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "text/plain", "content-encoding": "gzip" },
    body: gz,
  });
  const { error } = await openAiError(res, 415, "gzip request body");
  assert.equal(error.code, "unsupported_content_encoding");
  assert.equal(backend.seen.length, 0);
});
