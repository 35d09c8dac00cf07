/** Anthropic error shapes and the status to type table. */

import assert from "node:assert/strict";
import {
  anthropicErrorEvent,
  anthropicErrorType,
  errorMessageOf,
  toAnthropicError,
} from "../../../src/anthropic/errors.ts";

const table: [number, string][] = [
  [400, "invalid_request_error"],
  [401, "authentication_error"],
  [403, "permission_error"],
  [404, "not_found_error"],
  [413, "request_too_large"],
  [429, "rate_limit_error"],
  [500, "api_error"],
  [502, "api_error"],
  [503, "overloaded_error"],
  [529, "overloaded_error"],
  [504, "timeout_error"],
  [422, "invalid_request_error"],
];
for (const [status, type] of table) {
  Deno.test(`anthropic errors: status ${status} is ${type}`, () => assert.equal(anthropicErrorType(status), type));
}

Deno.test("anthropic errors: modelpin's OpenAI-shaped error body becomes the Anthropic shape", () => {
  const openai = JSON.stringify({
    error: {
      message: "missing or wrong proxy key",
      type: "authentication_error",
      code: "invalid_api_key",
      param: null,
    },
  });
  assert.deepEqual(JSON.parse(toAnthropicError(401, openai)), {
    type: "error",
    error: { type: "authentication_error", message: "missing or wrong proxy key" },
  });
});

Deno.test("anthropic errors: plain-text and empty bodies still give a message", () => {
  assert.equal(errorMessageOf("upstream exploded"), "upstream exploded");
  assert.equal(JSON.parse(toAnthropicError(502, "")).error.message, "the backend answered HTTP 502");
  assert.equal(errorMessageOf(new TextEncoder().encode('{"error":"flat"}')), "flat");
});

Deno.test("anthropic errors: the stream error event has its event line and api_error type", () => {
  const ev = anthropicErrorEvent("the backend broke off the stream");
  assert.match(ev, /^event: error\ndata: /);
  assert.ok(ev.endsWith("\n\n"));
  assert.deepEqual(JSON.parse(ev.split("\n")[1].slice(6)), {
    type: "error",
    error: { type: "api_error", message: "the backend broke off the stream" },
  });
});
