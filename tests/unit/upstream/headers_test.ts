import assert from "node:assert/strict";
import { downstreamHeaders, headerPairs, setUpstreamKey, upstreamHeaders } from "../../../src/upstream/headers.ts";

Deno.test("headers upstream: hostile and hop-by-hop client headers are dropped", () => {
  const client = new Headers([
    ["authorization", "Bearer client-key"],
    ["api-key", "client-azure-key"],
    ["x-api-key", "client-anthropic-key"],
    ["cookie", "session=1"],
    ["host", "proxy.local:8086"],
    ["connection", "keep-alive, X-Secret-Hop, Authorization"],
    ["x-secret-hop", "1"],
    ["keep-alive", "timeout=5"],
    ["transfer-encoding", "chunked"],
    ["te", "trailers"],
    ["trailer", "x-foo"],
    ["upgrade", "h2c"],
    ["proxy-authorization", "Basic abc"],
    ["proxy-connection", "keep-alive"],
    ["proxy-anything", "x"],
    ["x-forwarded-host", "evil.example"],
    ["x-original-host", "evil.example"],
    ["x-target-host", "evil.example"],
    ["content-length", "1234"],
    ["accept-encoding", "gzip, br"],
    // kept
    ["content-type", "application/json"],
    ["accept", "text/event-stream"],
    ["user-agent", "OpenAI/JS 6.0.0"],
    ["openai-beta", "assistants=v2"],
    ["x-stainless-lang", "js"],
    ["x-request-id", "abc"],
    ["x-host-header-note", "kept: does not end in -host"],
  ]);
  const up = upstreamHeaders(client);
  const names = [...up.keys()].sort();
  assert.deepEqual(names, [
    "accept",
    "accept-encoding",
    "content-type",
    "openai-beta",
    "user-agent",
    "x-host-header-note",
    "x-request-id",
    "x-stainless-lang",
  ]);
  assert.equal(up.get("accept-encoding"), "identity");
  assert.equal(up.get("content-type"), "application/json");
  assert.equal(up.get("accept"), "text/event-stream");
  // No client credential value survives anywhere.
  for (const [, v] of up) assert.ok(!/client-|session|evil/.test(v), v);
});

const dropCases = [
  "authorization",
  "Authorization",
  "api-key",
  "x-api-key",
  "X-Api-Key",
  "cookie",
  "host",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "upgrade",
  "proxy-authorization",
  "proxy-authenticate",
  "Proxy-Foo",
  "x-forwarded-host",
  "X-Real-Host",
  "x-upstream-host",
];

for (const name of dropCases) {
  Deno.test(`headers upstream: ${name} is not forwarded`, () => {
    const up = upstreamHeaders(new Headers([[name, "v"], ["content-type", "application/json"]]));
    assert.equal(up.has(name), false);
    assert.equal(up.get("content-type"), "application/json");
  });
}

Deno.test("headers upstream: names listed in Connection are dropped (any case, any spacing)", () => {
  const up = upstreamHeaders(
    new Headers([["connection", " X-One ,x-two,,  "], ["x-one", "1"], ["x-two", "2"], ["x-three", "3"]]),
  );
  assert.equal(up.has("x-one"), false);
  assert.equal(up.has("x-two"), false);
  assert.equal(up.get("x-three"), "3");
});

Deno.test("headers upstream: accept-encoding identity even when the client sent none", () => {
  assert.equal(upstreamHeaders(new Headers()).get("accept-encoding"), "identity");
});

Deno.test("headers upstream: the client's Headers object is not modified", () => {
  const client = new Headers({ authorization: "Bearer c", "x-a": "1" });
  const up = upstreamHeaders(client);
  setUpstreamKey(up, "route-key");
  assert.equal(client.get("authorization"), "Bearer c");
  assert.equal(up.get("authorization"), "Bearer route-key");
});

const keyCases: { name: string; before?: string; key: string; want: string | null }[] = [
  { name: "sets Bearer", key: "sk-route", want: "Bearer sk-route" },
  { name: "replaces an existing value", before: "Bearer other", key: "sk-route", want: "Bearer sk-route" },
  { name: "empty key: no Authorization", key: "", want: null },
  { name: "empty key removes an existing value", before: "Bearer stale", key: "", want: null },
];

for (const c of keyCases) {
  Deno.test(`headers setUpstreamKey: ${c.name}`, () => {
    const h = new Headers({ "content-type": "application/json" });
    if (c.before) h.set("authorization", c.before);
    setUpstreamKey(h, c.key);
    assert.equal(h.get("authorization"), c.want);
    assert.equal(h.get("content-type"), "application/json");
  });
}

function upstreamResponseHeaders(extra: [string, string][] = []): Headers {
  const h = new Headers([
    ["content-type", "application/json"],
    ["content-length", "42"],
    ["set-cookie", "a=1"],
    ["connection", "keep-alive, X-Hop"],
    ["x-hop", "1"],
    ["keep-alive", "timeout=5"],
    ["transfer-encoding", "chunked"],
    ["upgrade", "h2"],
    ["proxy-authenticate", "Basic"],
    ["retry-after", "7"],
    ["x-request-id", "req-1"],
    ["openai-processing-ms", "12"],
    ...extra,
  ]);
  h.append("set-cookie", "b=2");
  return h;
}

Deno.test("headers downstream: verbatim body keeps content-length, drops hop-by-hop and set-cookie", () => {
  const out = downstreamHeaders(upstreamResponseHeaders(), true);
  assert.deepEqual([...out.keys()].sort(), [
    "content-length",
    "content-type",
    "openai-processing-ms",
    "retry-after",
    "x-request-id",
  ]);
  assert.equal(out.get("content-length"), "42");
  assert.equal(out.get("retry-after"), "7");
  assert.equal(out.getSetCookie().length, 0);
});

Deno.test("headers downstream: non-verbatim body drops content-length and content-encoding", () => {
  const out = downstreamHeaders(upstreamResponseHeaders([["content-encoding", "gzip"]]), false);
  assert.equal(out.has("content-length"), false);
  assert.equal(out.has("content-encoding"), false);
  assert.equal(out.get("content-type"), "application/json");
  assert.equal(out.has("set-cookie"), false);
});

Deno.test("headers downstream: encoded upstream body (fetch decompressed it) drops length and encoding", () => {
  const out = downstreamHeaders(upstreamResponseHeaders([["content-encoding", "br"]]), true);
  assert.equal(out.has("content-length"), false);
  assert.equal(out.has("content-encoding"), false);
  assert.equal(out.get("x-request-id"), "req-1");
});

Deno.test("headers downstream: SSE headers pass", () => {
  const up = new Headers({ "content-type": "text/event-stream", "cache-control": "no-cache" });
  const out = downstreamHeaders(up, true);
  assert.equal(out.get("content-type"), "text/event-stream");
  assert.equal(out.get("cache-control"), "no-cache");
});

Deno.test("headers headerPairs: the same pairs, in the same order, as iterating the Headers", () => {
  const headers = new Headers([["x-b", "2"], ["content-type", "application/json"], ["x-a", "1"], ["x-a", "3"]]);
  assert.deepEqual(headerPairs(headers), [...headers]);
  assert.deepEqual([...new Headers(headerPairs(headers))], [...headers]);
});
