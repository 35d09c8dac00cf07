/** The local count_tokens estimate. (The route choice for Anthropic model names is in proxy/routing_test.ts.) */

import assert from "node:assert/strict";
import { estimateInputTokens, TOKENS_PER_IMAGE } from "../../../src/anthropic/count_tokens.ts";
import { AnthropicRequestError } from "../../../src/anthropic/errors.ts";

Deno.test("count_tokens: characters / 4 over system, messages and tools, rounded up", () => {
  const body = {
    model: "m",
    system: "12345678", // 8
    messages: [
      { role: "user", content: "abcd" }, // 4
      { role: "assistant", content: [{ type: "tool_use", id: "t", name: "ab", input: { a: 1 } }] }, // 2 + 7
      { role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: [{ type: "text", text: "xyz" }] }] }, // 3
    ],
    tools: [{ name: "ab", description: "d", input_schema: { type: "object" } }], // 2 + 1 + 17
  };
  assert.equal(estimateInputTokens(body), Math.ceil((8 + 4 + 9 + 3 + 20) / 4));
});

Deno.test("count_tokens: each image counts a flat amount", () => {
  const image = { type: "image", source: { type: "base64", media_type: "image/png", data: "A".repeat(10000) } };
  assert.equal(estimateInputTokens({ messages: [{ role: "user", content: [image, image] }] }), 2 * TOKENS_PER_IMAGE);
});

Deno.test("count_tokens: missing messages is a 400 naming the field", () => {
  assert.throws(
    () => estimateInputTokens({ model: "m" }),
    (e: unknown) => e instanceof AnthropicRequestError && e.field === "messages",
  );
});

Deno.test("count_tokens: deeply nested content is a 400-style request error, not a stack overflow", () => {
  let content: unknown = "x";
  for (let i = 0; i < 20_000; i++) content = [content];
  assert.throws(
    () => estimateInputTokens({ model: "m", messages: [{ role: "user", content }] }),
    AnthropicRequestError,
  );
});
