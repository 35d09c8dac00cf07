/**
 * Real clients nobody here wrote: the official OpenAI TypeScript SDK and curl,
 * driving the proxy in front of fake backends.
 */

import assert from "node:assert/strict";
import OpenAI from "openai";
import { chunkEvent, completion, fakeBackend, jsonResponse } from "../support/fake_backend.ts";
import { startProxy } from "../support/proxy.ts";
import { KEYS, MODELS, oneRoute } from "../support/routes.ts";
import { fixedSse } from "../support/wire.ts";

const SDK_KEY = "sk-dummy-sdk-key-never-forwarded";

const sdk = (proxyUrl: string) => new OpenAI({ baseURL: `${proxyUrl}/v1`, apiKey: SDK_KEY, maxRetries: 0 });

const STREAM_EVENTS = [
  chunkEvent("Hel"),
  chunkEvent("lo, "),
  chunkEvent("wor"),
  chunkEvent("ld!"),
  `data: ${
    JSON.stringify({
      id: "chatcmpl-test",
      object: "chat.completion.chunk",
      created: 1,
      model: "backend-model",
      choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
    })
  }\n\n`,
  "data: [DONE]\n\n",
];

// ---------------------------------------------------------------- OpenAI SDK

Deno.test("openai SDK: non-streaming chat completion", async () => {
  await using backend = fakeBackend(() => jsonResponse(completion("hello from the backend")));
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  const client = sdk(proxy.url);
  const res = await client.chat.completions.create({
    model: "gpt-4",
    messages: [{ role: "user", content: "hi" }],
    temperature: 0.2,
  });
  assert.equal(res.choices[0].message.content, "hello from the backend");
  assert.equal(res.object, "chat.completion");
  assert.equal(backend.seen.length, 1);
  const seen = backend.seen[0];
  assert.equal(seen.path, "/v1/chat/completions");
  assert.equal(seen.json?.model, MODELS.fast);
  assert.equal(seen.json?.temperature, 0.2);
  assert.deepEqual(seen.json?.messages, [{ role: "user", content: "hi" }]);
  assert.equal(seen.headers.get("authorization"), `Bearer ${KEYS.fast}`);
  for (const [, value] of seen.headers) assert.ok(!value.includes(SDK_KEY), "the SDK's key never travels");
});

Deno.test("openai SDK: streaming chat completion, chunk by chunk", async () => {
  await using backend = fakeBackend(() => fixedSse(STREAM_EVENTS));
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  const client = sdk(proxy.url);
  const stream = await client.chat.completions.create({
    model: "gpt-4",
    messages: [{ role: "user", content: "stream please" }],
    stream: true,
    stream_options: { include_usage: true },
  });
  const pieces: string[] = [];
  let finish: string | null | undefined;
  for await (const chunk of stream) {
    assert.equal(chunk.object, "chat.completion.chunk");
    const choice = chunk.choices[0];
    if (choice?.delta.content) pieces.push(choice.delta.content);
    if (choice?.finish_reason) finish = choice.finish_reason;
  }
  assert.deepEqual(pieces, ["Hel", "lo, ", "wor", "ld!"]);
  assert.equal(finish, "stop");
  const seen = backend.seen[0];
  assert.equal(seen.json?.model, MODELS.fast);
  assert.equal(seen.json?.stream, true);
  assert.deepEqual(seen.json?.stream_options, { include_usage: true });
  assert.equal(seen.headers.get("authorization"), `Bearer ${KEYS.fast}`);
  for (const [, value] of seen.headers) assert.ok(!value.includes(SDK_KEY));
});

Deno.test("openai SDK: models.list() returns fast and smart without a backend call", async () => {
  await using backend = fakeBackend(() => jsonResponse(completion("x")));
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  const ids: string[] = [];
  for await (const model of sdk(proxy.url).models.list()) {
    assert.equal(model.object, "model");
    ids.push(model.id);
  }
  assert.deepEqual(ids.sort(), ["fast", "smart"]);
  assert.equal(backend.seen.length, 0);
});

Deno.test("openai SDK: a backend 400 surfaces as the SDK's APIError with its status and message", async () => {
  await using backend = fakeBackend(() =>
    jsonResponse({
      error: {
        message: "max_tokens is too large for this model",
        type: "invalid_request_error",
        param: "max_tokens",
        code: "context_length_exceeded",
      },
    }, 400)
  );
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  const client = sdk(proxy.url);
  await assert.rejects(
    client.chat.completions.create({ model: "gpt-4", messages: [{ role: "user", content: "x" }], max_tokens: 1e9 }),
    (err: unknown) => {
      assert.ok(err instanceof OpenAI.APIError, `got ${err}`);
      assert.ok(err instanceof OpenAI.BadRequestError);
      assert.equal(err.status, 400);
      assert.equal(err.code, "context_length_exceeded");
      assert.equal(err.param, "max_tokens");
      assert.match(err.message, /max_tokens is too large/);
      return true;
    },
  );
  assert.equal(backend.seen.length, 1, "a 400 is not retried or fallen back");
});

Deno.test("openai SDK: the proxy's own errors are APIErrors too (bad route → 404)", async () => {
  await using backend = fakeBackend(() => jsonResponse(completion("x")));
  await using proxy = await startProxy(oneRoute(backend.baseUrl));
  // baseURL without /v1: the SDK posts to /chat/completions, which modelpin does not serve.
  const client = new OpenAI({ baseURL: proxy.url, apiKey: SDK_KEY, maxRetries: 0 });
  await assert.rejects(
    client.chat.completions.create({ model: "gpt-4", messages: [] }),
    (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError, `got ${err}`);
      assert.equal(err.status, 404);
      assert.equal(err.type, "not_found_error");
      return true;
    },
  );
  assert.equal(backend.seen.length, 0);
});

// ---------------------------------------------------------------- curl

function curlAvailable(): boolean {
  try {
    return new Deno.Command("curl", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

const HAVE_CURL = curlAvailable();
const CURL_SKIP = HAVE_CURL ? "" : " (SKIPPED: curl is not installed on this machine)";
if (!HAVE_CURL) console.warn("clients_test: curl not found on PATH; the curl tests are skipped.");

async function curl(args: string[]): Promise<{ head: string; body: Uint8Array }> {
  const out = await new Deno.Command("curl", { args: ["-sS", "-D", "-", ...args], stdout: "piped", stderr: "piped" })
    .output();
  assert.ok(out.success, `curl failed: ${new TextDecoder().decode(out.stderr)}`);
  // -D - writes the response head first; the body follows the first blank line.
  const bytes = out.stdout;
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return { head: new TextDecoder().decode(bytes.subarray(0, i)), body: bytes.subarray(i + 4) };
    }
  }
  throw new Error(`no response head in curl output: ${new TextDecoder().decode(bytes)}`);
}

Deno.test({
  name: `curl -N: raw SSE bytes pass through unchanged${CURL_SKIP}`,
  ignore: !HAVE_CURL,
  async fn() {
    await using backend = fakeBackend(() => fixedSse(STREAM_EVENTS));
    await using proxy = await startProxy(oneRoute(backend.baseUrl));
    const { head, body } = await curl([
      "-N",
      "-H",
      "content-type: application/json",
      "-H",
      `authorization: Bearer ${SDK_KEY}`,
      "-d",
      JSON.stringify({ model: "gpt-4", stream: true, messages: [{ role: "user", content: "hi" }] }),
      `${proxy.url}/v1/chat/completions`,
    ]);
    assert.match(head, /^HTTP\/1\.1 200/);
    assert.match(head, /content-type: text\/event-stream/i);
    assert.match(head, /cache-control: no-cache/i);
    assert.doesNotMatch(head, /content-encoding/i);
    const text = new TextDecoder().decode(body);
    assert.equal(text, STREAM_EVENTS.join(""), "exactly the backend's bytes");
    assert.ok(text.endsWith("data: [DONE]\n\n"));
    assert.equal(backend.seen[0].json?.model, MODELS.fast);
    assert.equal(backend.seen[0].headers.get("authorization"), `Bearer ${KEYS.fast}`);
  },
});

Deno.test({
  name: `curl: a non-streaming request${CURL_SKIP}`,
  ignore: !HAVE_CURL,
  async fn() {
    await using backend = fakeBackend(() => jsonResponse(completion("plain answer")));
    await using proxy = await startProxy(oneRoute(backend.baseUrl));
    const { head, body } = await curl([
      "-H",
      "content-type: application/json",
      "-d",
      JSON.stringify({ model: "smart", messages: [{ role: "user", content: "hi" }] }),
      `${proxy.url}/v1/chat/completions`,
    ]);
    assert.match(head, /^HTTP\/1\.1 200/);
    assert.match(head, /content-type: application\/json/i);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(body)), completion("plain answer"));
    assert.equal(backend.seen[0].json?.model, MODELS.fast);
  },
});
