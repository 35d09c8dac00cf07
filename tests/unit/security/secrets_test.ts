import assert from "node:assert/strict";
import { clientKeyAccepted, constantTimeEqual, maskKeys, maskKeysInBytes } from "../../../src/security/secrets.ts";

const K1 = "sk-fast-0123456789abcdef";
const K2 = "sk-smart-fedcba9876543210";

const maskCases: { name: string; text: string; keys: string[]; want: string }[] = [
  { name: "no keys", text: `hello ${K1}`, keys: [], want: `hello ${K1}` },
  { name: "key absent", text: "nothing secret", keys: [K1], want: "nothing secret" },
  { name: "one occurrence", text: `invalid key ${K1}`, keys: [K1], want: "invalid key ***" },
  { name: "many occurrences", text: `${K1}${K1} and "${K1}"`, keys: [K1], want: '****** and "***"' },
  { name: "two keys", text: `a=${K1} b=${K2}`, keys: [K1, K2], want: "a=*** b=***" },
  { name: "empty key ignored", text: "abc", keys: ["", K1], want: "abc" },
  {
    name: "in a JSON error body",
    text: JSON.stringify({ error: { message: `Incorrect API key provided: ${K1}.` } }),
    keys: [K1, K2],
    want: JSON.stringify({ error: { message: "Incorrect API key provided: ***." } }),
  },
  { name: "unicode around", text: `🌍${K2}é`, keys: [K2], want: "🌍***é" },
];

for (const c of maskCases) {
  Deno.test(`secrets maskKeys: ${c.name}`, () => {
    const got = maskKeys(c.text, c.keys);
    assert.equal(got, c.want);
    for (const k of c.keys) if (k) assert.ok(!got.includes(k));
  });
}

Deno.test("secrets maskKeys: a key that contains another key never survives", () => {
  const short = "sk-abc";
  const long = "sk-abcdef123";
  for (const keys of [[short, long], [long, short]]) {
    const got = maskKeys(`x ${long} y ${short} z`, keys);
    assert.ok(!got.includes(long), `${keys}: ${got}`);
    assert.ok(!got.includes(short), `${keys}: ${got}`);
  }
});

Deno.test("secrets maskKeysInBytes: same bytes when nothing to mask", () => {
  const body = new TextEncoder().encode('{"error":"nope"}');
  assert.equal(maskKeysInBytes(body, [K1]), body, "same object returned");
  assert.equal(maskKeysInBytes(body, []), body);
  const empty = new Uint8Array(0);
  assert.equal(maskKeysInBytes(empty, [K1]), empty);
});

Deno.test("secrets maskKeysInBytes: masks keys in bytes", () => {
  const body = new TextEncoder().encode(`{"error":{"message":"bad key ${K1} / ${K2} 🌍"}}`);
  const out = maskKeysInBytes(body, [K1, K2]);
  const text = new TextDecoder().decode(out);
  assert.equal(text, '{"error":{"message":"bad key *** / *** 🌍"}}');
});

const eqCases: { a: string; b: string; equal: boolean }[] = [
  { a: "", b: "", equal: true },
  { a: "abc", b: "abc", equal: true },
  { a: K1, b: K1, equal: true },
  { a: "héllo🌍", b: "héllo🌍", equal: true },
  { a: "abc", b: "abd", equal: false },
  { a: "abc", b: "ab", equal: false },
  { a: "ab", b: "abc", equal: false },
  { a: "", b: "a", equal: false },
  { a: "a", b: "", equal: false },
  { a: "abc\0", b: "abc", equal: false },
  { a: "é", b: "e\u0301", equal: false },
  { a: K1, b: K1.toUpperCase(), equal: false },
];

for (const c of eqCases) {
  Deno.test(`secrets constantTimeEqual: ${JSON.stringify(c.a)} vs ${JSON.stringify(c.b)} -> ${c.equal}`, () => {
    assert.equal(constantTimeEqual(c.a, c.b), c.equal);
    assert.equal(constantTimeEqual(c.b, c.a), c.equal);
  });
}

const authCases: { name: string; headers: Record<string, string>; accepted: string[]; ok: boolean }[] = [
  { name: "Bearer accepted", headers: { authorization: "Bearer in-1" }, accepted: ["in-1"], ok: true },
  { name: "bearer lower case", headers: { authorization: "bearer in-1" }, accepted: ["in-1"], ok: true },
  { name: "BEARER upper case", headers: { authorization: "BEARER in-1" }, accepted: ["in-1"], ok: true },
  { name: "second of several keys", headers: { authorization: "Bearer in-2" }, accepted: ["in-1", "in-2"], ok: true },
  { name: "x-api-key accepted", headers: { "x-api-key": "in-2" }, accepted: ["in-1", "in-2"], ok: true },
  { name: "Azure-style api-key accepted", headers: { "api-key": "in-2" }, accepted: ["in-1", "in-2"], ok: true },
  { name: "wrong api-key", headers: { "api-key": "in-3" }, accepted: ["in-1", "in-2"], ok: false },
  { name: "empty api-key", headers: { "api-key": "" }, accepted: ["in-1"], ok: false },
  { name: "Bearer with extra spaces", headers: { authorization: "Bearer   in-1  " }, accepted: ["in-1"], ok: true },
  { name: "wrong Bearer", headers: { authorization: "Bearer nope" }, accepted: ["in-1"], ok: false },
  { name: "wrong x-api-key", headers: { "x-api-key": "nope" }, accepted: ["in-1"], ok: false },
  { name: "prefix of a key", headers: { authorization: "Bearer in-" }, accepted: ["in-1"], ok: false },
  { name: "key plus suffix", headers: { authorization: "Bearer in-1x" }, accepted: ["in-1"], ok: false },
  { name: "no headers", headers: {}, accepted: ["in-1"], ok: false },
  { name: "empty Bearer", headers: { authorization: "Bearer " }, accepted: ["in-1"], ok: false },
  { name: "empty x-api-key", headers: { "x-api-key": "" }, accepted: ["in-1"], ok: false },
  { name: "Basic scheme", headers: { authorization: "Basic in-1" }, accepted: ["in-1"], ok: false },
  { name: "raw key without scheme", headers: { authorization: "in-1" }, accepted: ["in-1"], ok: false },
  { name: "nothing accepted", headers: { authorization: "Bearer in-1" }, accepted: [], ok: false },
  { name: "empty accepted key never matches", headers: { authorization: "Bearer " }, accepted: [""], ok: false },
  {
    // Azure SDK users present the proxy key as `api-key` (it is never forwarded upstream).
    name: "api-key header is an inbound credential (Azure style)",
    headers: { "api-key": "in-1" },
    accepted: ["in-1"],
    ok: true,
  },
];

for (const c of authCases) {
  Deno.test(`secrets clientKeyAccepted: ${c.name} -> ${c.ok}`, () => {
    assert.equal(clientKeyAccepted(new Headers(c.headers), c.accepted), c.ok);
  });
}

Deno.test("StreamKeyMasker: masks a key however the stream splits it, and never holds back a finished event", async (t) => {
  const { StreamKeyMasker, streamKeys } = await import("../../../src/security/secrets.ts");
  const key = "sk-stream-secret-123456";
  const text = `data: {"a":1}\n\ndata: {"error":{"message":"bad key ${key}!"}}\n\ndata: ${key}${key}\n\n`;
  const bytes = new TextEncoder().encode(text);
  const expected = text.split(key).join("***");
  for (const size of [1, 2, 3, 5, 7, 11, 64, bytes.length]) {
    await t.step(`chunks of ${size} bytes`, () => {
      const masker = new StreamKeyMasker(streamKeys([key, "short"]));
      let out = "";
      const decoder = new TextDecoder();
      for (let i = 0; i < bytes.length; i += size) {
        const chunk = bytes.slice(i, i + size);
        const passed = masker.push(chunk);
        out += decoder.decode(passed, { stream: true });
        const sent = new TextDecoder().decode(bytes.slice(0, i + size));
        // Everything up to the last line break is always passed on at once.
        if (sent.endsWith("\n")) assert.equal(out, sent.split(key).join("***"));
      }
      const rest = masker.flush();
      if (rest) out += decoder.decode(rest);
      assert.equal(out, expected);
      assert.ok(!out.includes(key));
    });
  }
  assert.equal(
    new StreamKeyMasker(streamKeys(["short"])).active,
    false,
    "keys under 8 characters are not masked in streams",
  );
});

Deno.test("maskableKeys: drops short keys (they would mangle text), dedupes, longest first", async () => {
  const { maskableKeys, maskKeys } = await import("../../../src/security/secrets.ts");
  assert.deepEqual(maskableKeys(["x", "EMPTY", "sk-abcdefgh", "sk-abcdefgh-longer", "sk-abcdefgh"]), [
    "sk-abcdefgh-longer",
    "sk-abcdefgh",
  ]);
  const keys = maskableKeys(["sk-abcdefgh", "sk-abcdefgh-longer"]);
  assert.equal(maskKeys("a sk-abcdefgh-longer b", keys), "a *** b", "a key containing another is masked whole");
});
