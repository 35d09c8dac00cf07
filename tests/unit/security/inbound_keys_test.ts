/** The keys clients present (PROXY_API_KEYS): where they are read from, and compared in constant time. */

import assert from "node:assert/strict";
import { clientKeyAccepted, constantTimeEqual } from "../../../src/security/inbound_keys.ts";

const K1 = "sk-fast-0123456789abcdef";

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
  Deno.test(`constantTimeEqual: ${JSON.stringify(c.a)} vs ${JSON.stringify(c.b)} -> ${c.equal}`, () => {
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
  {
    // Authorization, when it is Bearer, is the credential: a right key elsewhere does not rescue a wrong one.
    name: "a wrong Bearer wins over a right x-api-key",
    headers: { authorization: "Bearer nope", "x-api-key": "in-1" },
    accepted: ["in-1"],
    ok: false,
  },
  {
    name: "x-api-key is read before api-key",
    headers: { "x-api-key": "nope", "api-key": "in-1" },
    accepted: ["in-1"],
    ok: false,
  },
];

for (const c of authCases) {
  Deno.test(`clientKeyAccepted: ${c.name} -> ${c.ok}`, () => {
    assert.equal(clientKeyAccepted(new Headers(c.headers), c.accepted), c.ok);
  });
}
