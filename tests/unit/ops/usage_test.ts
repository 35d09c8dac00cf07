/** Unit tests of usage extraction from JSON answers and SSE streams. */

import assert from "node:assert/strict";
import { StreamUsageScanner, tapUsage, usageFromJson } from "../../../src/ops/usage.ts";
import type { ChunkResult } from "../../../src/upstream/chunk_reader.ts";

const enc = (s: string) => new TextEncoder().encode(s);

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
});

const events = [
  'data: {"choices":[{"delta":{"content":"he"}}],"usage":null}\n\n',
  'data: {"choices":[{"delta":{"content":"llo"}}],"usage":null}\n\n',
  'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}\n\n',
  "data: [DONE]\n\n",
];

Deno.test("usage: the stream chunk that carries usage is found, at every split point of the stream", () => {
  const all = enc(events.join(""));
  for (let cut = 0; cut <= all.length; cut++) {
    const s = new StreamUsageScanner();
    s.push(all.subarray(0, cut));
    s.push(all.subarray(cut));
    assert.deepEqual(s.usage, { input: 7, output: 2 }, `cut at ${cut}`);
  }
});

Deno.test("usage: a stream split into single bytes still yields its usage", () => {
  const s = new StreamUsageScanner();
  for (const b of enc(events.join(""))) s.push(new Uint8Array([b]));
  assert.deepEqual(s.usage, { input: 7, output: 2 });
});

Deno.test("usage: with running totals in every chunk, the last one counts", () => {
  const s = new StreamUsageScanner();
  s.push(enc('data: {"usage":{"prompt_tokens":7,"completion_tokens":1}}\n\n'));
  s.push(enc('data: {"usage":{"prompt_tokens":7,"completion_tokens":5}}\n\ndata: [DONE]\n\n'));
  assert.deepEqual(s.usage, { input: 7, output: 5 });
});

Deno.test("usage: a stream without usage yields none, and a huge line is skipped without being kept", () => {
  const s = new StreamUsageScanner();
  s.push(enc('data: {"choices":[{"delta":{"content":"hi"}}]}\n\n'));
  s.push(enc("data: " + "x".repeat(100_000)));
  s.push(enc('"usage":{"prompt_tokens":1}}\n\n'));
  assert.equal(s.usage, undefined);
  s.push(enc('data: {"usage":{"prompt_tokens":2,"completion_tokens":3}}\n\n'));
  assert.deepEqual(s.usage, { input: 2, output: 3 });
});

Deno.test("usage: tapUsage passes every chunk on unchanged while scanning it", async () => {
  const chunks = events.map(enc);
  let i = 0;
  let cancelled = false;
  const source = {
    read: (): Promise<ChunkResult> =>
      Promise.resolve(i < chunks.length ? { done: false, value: chunks[i++] } : { done: true }),
    cancel: () => {
      cancelled = true;
      return Promise.resolve();
    },
  };
  const scanner = new StreamUsageScanner();
  const tapped = tapUsage(source, scanner);
  const seen: Uint8Array[] = [];
  for (let r = await tapped.read(); !r.done; r = await tapped.read()) seen.push(r.value);
  assert.deepEqual(seen, chunks);
  assert.equal(seen[0], chunks[0], "the very same chunk object, not a copy");
  assert.deepEqual(scanner.usage, { input: 7, output: 2 });
  await tapped.cancel();
  assert.ok(cancelled);
});
