import assert from "node:assert/strict";
import { ProxyError } from "../../../src/errors/errors.ts";
import { formatLimit, parseJsonObject, readBody } from "../../../src/request/request_body.ts";

const enc = new TextEncoder();

const badBodies: { name: string; body: Uint8Array<ArrayBuffer>; code: string }[] = [
  { name: "empty", body: new Uint8Array(0), code: "empty_body" },
  { name: "invalid UTF-8", body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), code: "invalid_utf8" },
  { name: "truncated UTF-8 sequence", body: new Uint8Array([0x7b, 0x7d, 0xe2, 0x82]), code: "invalid_utf8" },
  { name: "invalid JSON", body: enc.encode('{"model":'), code: "invalid_json" },
  { name: "trailing garbage", body: enc.encode("{} x"), code: "invalid_json" },
  { name: "plain text", body: enc.encode("hello"), code: "invalid_json" },
  { name: "whitespace only", body: enc.encode("   \n"), code: "invalid_json" },
  { name: "array", body: enc.encode('[{"model":"x"}]'), code: "invalid_body" },
  { name: "null", body: enc.encode("null"), code: "invalid_body" },
  { name: "number", body: enc.encode("42"), code: "invalid_body" },
  { name: "string", body: enc.encode('"text"'), code: "invalid_body" },
  { name: "boolean", body: enc.encode("true"), code: "invalid_body" },
];

for (const c of badBodies) {
  Deno.test(`request body parseJsonObject: ${c.name} -> 400 ${c.code}`, () => {
    assert.throws(
      () => parseJsonObject(c.body),
      (err: unknown) => {
        assert.ok(err instanceof ProxyError, String(err));
        assert.equal(err.status, 400);
        assert.equal(err.type, "invalid_request_error");
        assert.equal(err.code, c.code);
        assert.ok(err.message.length > 0);
        return true;
      },
    );
  });
}

const goodBodies: { name: string; text: string }[] = [
  { name: "object", text: '{"model":"gpt-4","messages":[]}' },
  { name: "empty object", text: "{}" },
  { name: "whitespace around", text: ' \n{"a":1}\n ' },
  { name: "unicode", text: '{"content":"héllo 🌍"}' },
  { name: "big int kept in text", text: '{"seed":12345678901234567890}' },
];

for (const c of goodBodies) {
  Deno.test(`request body parseJsonObject: ${c.name} parses, text kept`, () => {
    const got = parseJsonObject(enc.encode(c.text));
    assert.equal(got.text, c.text);
    assert.deepEqual(got.value, JSON.parse(c.text));
  });
}

function streamOf(chunks: Uint8Array[], pulled: { n: number; cancelled: boolean }): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i >= chunks.length) {
        controller.close();
        return;
      }
      pulled.n++;
      controller.enqueue(chunks[i++]);
    },
    cancel() {
      pulled.cancelled = true;
    },
  }, { highWaterMark: 0 });
}

function streamingRequest(chunks: Uint8Array[], pulled: { n: number; cancelled: boolean }): Request {
  return new Request("http://127.0.0.1/v1/chat/completions", {
    method: "POST",
    body: streamOf(chunks, pulled),
    // @ts-ignore: `duplex` is needed by the fetch spec for stream bodies, not in every lib.d.ts
    duplex: "half",
  });
}

async function rejects413(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ProxyError, String(err));
    assert.equal(err.status, 413);
    assert.equal(err.code, "request_too_large");
    return true;
  });
}

Deno.test("request body readBody: 413 from content-length before reading anything", async () => {
  const pulled = { n: 0, cancelled: false };
  const req = new Request("http://127.0.0.1/v1/x", {
    method: "POST",
    headers: { "content-length": "1000" },
    body: streamOf([enc.encode("{}")], pulled),
    // @ts-ignore: see above
    duplex: "half",
  });
  await rejects413(readBody(req, 100));
  assert.equal(pulled.n, 0, "body not read");
  await req.body?.cancel();
});

Deno.test("request body readBody: 413 by streamed size, stops reading and cancels", async () => {
  const pulled = { n: 0, cancelled: false };
  const chunks = Array.from({ length: 50 }, () => new Uint8Array(4).fill(0x61));
  await rejects413(readBody(streamingRequest(chunks, pulled), 10));
  assert.ok(pulled.n <= 4, `read ${pulled.n} chunks, should stop right after passing 10 bytes`);
  assert.equal(pulled.cancelled, true, "upload stream cancelled");
});

Deno.test("request body readBody: 413 when content-length lies low", async () => {
  const req = new Request("http://127.0.0.1/v1/x", {
    method: "POST",
    headers: { "content-length": "5" },
    body: "x".repeat(50),
  });
  await rejects413(readBody(req, 10));
});

const okCases: { name: string; chunks: string[]; max: number }[] = [
  { name: "single chunk", chunks: ['{"model":"x"}'], max: 100 },
  { name: "many chunks reassembled in order", chunks: ['{"mo', 'del":', '"é🌍"', "}"], max: 100 },
  { name: "exactly the limit", chunks: ["12345", "67890"], max: 10 },
  { name: "empty stream", chunks: [], max: 10 },
];

for (const c of okCases) {
  Deno.test(`request body readBody: ${c.name}`, async () => {
    const pulled = { n: 0, cancelled: false };
    const bytes = await readBody(streamingRequest(c.chunks.map((s) => enc.encode(s)), pulled), c.max);
    assert.equal(new TextDecoder().decode(bytes), c.chunks.join(""));
  });
}

Deno.test("request body readBody: with a truthful content-length", async () => {
  const body = '{"model":"gpt-4"}';
  const req = new Request("http://127.0.0.1/v1/x", {
    method: "POST",
    headers: { "content-length": String(body.length) },
    body,
  });
  assert.equal(new TextDecoder().decode(await readBody(req, body.length)), body);
});

Deno.test("request body readBody: no body gives empty bytes", async () => {
  const bytes = await readBody(new Request("http://127.0.0.1/v1/models"), 10);
  assert.equal(bytes.length, 0);
});

Deno.test("request body readBody: 413 message names the limit, not the body", async () => {
  const secretBody = "SECRET-PROMPT-" + "x".repeat(100);
  const req = new Request("http://127.0.0.1/v1/x", { method: "POST", body: secretBody });
  await assert.rejects(readBody(req, 50), (err: unknown) => {
    assert.ok(err instanceof ProxyError);
    assert.equal(err.status, 413);
    assert.match(err.message, /PROXY_MAX_BODY_MB/);
    assert.ok(!err.message.includes("SECRET"));
    return true;
  });
});

Deno.test("request body: the 413 message states the real limit, in bytes when under 1 MB", () => {
  assert.equal(formatLimit(1048), "1048 bytes");
  assert.equal(formatLimit(Math.floor(0.001 * 1048576)), "1048 bytes");
  assert.equal(formatLimit(32 * 1048576), "32 MB");
  assert.equal(formatLimit(1.5 * 1048576), "1.5 MB");
});
