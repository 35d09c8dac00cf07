/**
 * The nesting bound on JSON from outside: counted in one pass before any
 * parse, brackets inside strings ignored, the same for text and bytes.
 */

import assert from "node:assert/strict";
import { MAX_JSON_DEPTH, nestsDeeperThan, parseJson } from "../../src/json_depth.ts";

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("json depth: exactly the bound is accepted, one level more is refused, as text and as bytes", () => {
  assert.equal(nestsDeeperThan(nested(MAX_JSON_DEPTH)), false);
  assert.equal(nestsDeeperThan(nested(MAX_JSON_DEPTH + 1)), true);
  assert.equal(nestsDeeperThan(bytes(nested(MAX_JSON_DEPTH))), false);
  assert.equal(nestsDeeperThan(bytes(nested(MAX_JSON_DEPTH + 1))), true);
  assert.equal(nestsDeeperThan(`{"a":${nested(3)}}`, 3), true);
  assert.equal(nestsDeeperThan(`{"a":${nested(2)}}`, 3), false);
});

Deno.test("json depth: brackets inside strings, escaped quotes included, do not count", () => {
  const inString = JSON.stringify({ text: "[".repeat(1000) + '\\"' + "{".repeat(1000) });
  assert.equal(nestsDeeperThan(inString), false);
  assert.equal(nestsDeeperThan(bytes(inString)), false);
  // After the string ends, brackets count again.
  assert.equal(nestsDeeperThan(`["\\"[[[[", ${nested(5)}]`, 5), true);
});

Deno.test("json depth: depth that closes and opens again is not added up", () => {
  const wide = Array.from({ length: 1000 }, () => nested(10)).join(",");
  assert.equal(nestsDeeperThan(`[${wide}]`, 11), false);
  assert.equal(nestsDeeperThan(`[${wide}]`, 10), true);
});

Deno.test("json depth: parseJson refuses too deep JSON as a SyntaxError before parsing, and parses the rest", () => {
  assert.throws(() => parseJson(nested(100_000)), SyntaxError);
  assert.deepEqual(parseJson('{"a":[1,{"b":2}]}'), { a: [1, { b: 2 }] });
  assert.throws(() => parseJson("{"), SyntaxError);
});
