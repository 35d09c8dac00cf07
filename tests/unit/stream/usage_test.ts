/**
 * Token usage as the backend reports it: `usageOf` reads a parsed `usage`
 * value (chat's prompt/completion, the Responses API's input/output), and
 * `usageFromJson` finds it in a JSON answer's bytes, searching a bounded
 * stretch from the end without parsing the body. (A stream's usage comes from
 * its events, through the grammar: see event_grammar_test and relay_test.)
 */

import assert from "node:assert/strict";
import { usageFromJson, usageOf } from "../../../src/stream/usage.ts";

const enc = (s: string) => new TextEncoder().encode(s);

// ---------------------------------------------------------------- usageOf

const values: [name: string, value: unknown, usage: ReturnType<typeof usageOf>][] = [
  ["chat's prompt/completion tokens", { prompt_tokens: 12, completion_tokens: 34, total_tokens: 46 }, {
    input: 12,
    output: 34,
  }],
  ["the Responses API's input/output tokens", { input_tokens: 3, output_tokens: 4 }, { input: 3, output: 4 }],
  ["only the prompt", { prompt_tokens: 5 }, { input: 5, output: 0 }],
  ["only the output", { output_tokens: 6 }, { input: 0, output: 6 }],
  ["chat's names before the Responses API's", { prompt_tokens: 1, input_tokens: 9 }, { input: 1, output: 0 }],
  ["a null chat name falls back to the other", { prompt_tokens: null, input_tokens: 2 }, { input: 2, output: 0 }],
  ["a negative or infinite count is 0", { prompt_tokens: -1, completion_tokens: Infinity }, { input: 0, output: 0 }],
  ["a NaN count is 0", { prompt_tokens: NaN, completion_tokens: 3 }, { input: 0, output: 3 }],
  ["a count that is not a number is 0", { prompt_tokens: "5", completion_tokens: 2 }, { input: 0, output: 2 }],
  ["no count at all", { foo: 1 }, undefined],
  ["counts only as strings", { prompt_tokens: "5" }, undefined],
  ["null", null, undefined],
  ["undefined", undefined, undefined],
  ["a number", 7, undefined],
  ["a string", "usage", undefined],
  ["an array", [1, 2], undefined],
];

for (const [name, value, usage] of values) {
  Deno.test(`usageOf: ${name}`, () => {
    assert.deepEqual(usageOf(value), usage);
  });
}

// ---------------------------------------------------------------- usageFromJson

Deno.test("usage: a chat completion's usage is found in its bytes", () => {
  const body = enc(JSON.stringify({
    choices: [{ message: { content: "hi" } }],
    usage: { prompt_tokens: 12, completion_tokens: 34, total_tokens: 46 },
  }));
  assert.deepEqual(usageFromJson(body), { input: 12, output: 34 });
});

Deno.test("usage: the Responses API's input_tokens/output_tokens are understood", () => {
  assert.deepEqual(usageFromJson(enc('{"usage": {"input_tokens": 3, "output_tokens": 4}}')), { input: 3, output: 4 });
});

Deno.test("usage: nested details and whitespace inside usage do not confuse the scan", () => {
  const body = enc(
    '{"usage" :\n {"prompt_tokens": 5, "prompt_tokens_details": {"cached_tokens": 1}, ' +
      '"completion_tokens": 6, "note": "a } brace"}, "id": "x"}',
  );
  assert.deepEqual(usageFromJson(body), { input: 5, output: 6 });
});

Deno.test("usage: a model's text that mentions usage is not taken for it", () => {
  const content = 'here is "usage": {"prompt_tokens": 999, "completion_tokens": 999}';
  const body = enc(JSON.stringify({ choices: [{ message: { content } }] }));
  assert.equal(usageFromJson(body), undefined);
  const withReal = enc(JSON.stringify({ choices: [{ message: { content } }], usage: { prompt_tokens: 1 } }));
  assert.deepEqual(usageFromJson(withReal), { input: 1, output: 0 });
});

Deno.test("usage: an answer without usage, with usage null, or broken JSON gives none", () => {
  assert.equal(usageFromJson(enc('{"id": "x"}')), undefined);
  assert.equal(usageFromJson(enc('{"usage": null}')), undefined);
  assert.equal(usageFromJson(enc('{"usage": {"prompt_tokens": 1')), undefined);
  assert.equal(usageFromJson(enc('{"usage": {"foo": 1}}')), undefined);
  assert.equal(usageFromJson(enc("")), undefined);
  assert.equal(usageFromJson(enc('"usage"')), undefined);
});

Deno.test("usage: of several usage objects, the one nearest the end counts", () => {
  const body = enc('{"a":{"usage":{"prompt_tokens":1,"completion_tokens":1}},"usage":{"prompt_tokens":2}}');
  assert.deepEqual(usageFromJson(body), { input: 2, output: 0 });
});

Deno.test("usage: at most four usage keys are tried, from the end", () => {
  const real = '"usage":{"prompt_tokens":5,"completion_tokens":6}';
  const decoy = (n: number) => Array.from({ length: n }, (_, i) => `,"d${i}":{"usage":null}`).join("");
  assert.deepEqual(usageFromJson(enc(`{${real}${decoy(3)}}`)), { input: 5, output: 6 }, "the fourth try finds it");
  assert.equal(usageFromJson(enc(`{${real}${decoy(4)}}`)), undefined, "a fifth is never made");
});

Deno.test("usage: a usage object longer than 4 KiB is not read", () => {
  const usage = (pad: number) => `{"usage":{"prompt_tokens":5,"pad":"${"x".repeat(pad)}","completion_tokens":6}}`;
  assert.deepEqual(usageFromJson(enc(usage(3_900))), { input: 5, output: 6 });
  assert.equal(usageFromJson(enc(usage(5_000))), undefined);
});

/**
 * A hostile 15 MB answer of nothing but `"usage":{`. The two tests above show
 * the bound by structure: at most four keys are tried, each read over at most
 * 4 KiB, so the work does not grow with the body. This one shows it on the
 * clock without a wall-clock bound: the same body at 1.5 MB and at 15 MB,
 * each timed as the fastest of five batches of calls (a GC pause or a busy
 * machine spoils a batch, not the minimum). A bounded scan takes about as long
 * on both (ratio ~1), a linear one would take 10x, one that tried every key
 * from every key 100x; the assertion allows 20.
 */
Deno.test('usage: a 15 MB answer of repeated `"usage":{` is scanned in bounded time', () => {
  const hostile = (bytes: number) => enc('"usage":{'.repeat(Math.ceil(bytes / 9)));
  const fastest = (body: Uint8Array) => {
    let best = Infinity;
    for (let batch = 0; batch < 5; batch++) {
      const started = performance.now();
      for (let i = 0; i < 20; i++) assert.equal(usageFromJson(body), undefined);
      best = Math.min(best, performance.now() - started);
    }
    return Math.max(best, 0.01); // below the clock's resolution both are "instant"
  };
  const small = hostile(1_500_000);
  const large = hostile(15_000_000);
  fastest(small); // warm-up for the JIT
  const ratio = fastest(large) / fastest(small);
  assert.ok(ratio < 20, `15 MB took ${ratio.toFixed(1)}x as long as 1.5 MB`);
});
