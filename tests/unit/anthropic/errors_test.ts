/** Anthropic error shapes and the status to type table. */

import assert from "node:assert/strict";
import { ANTHROPIC } from "../../../src/anthropic/dialect.ts";
import { anthropicErrorEvent, anthropicErrorType } from "../../../src/anthropic/errors.ts";
import { errorMessageOf, ProxyError } from "../../../src/errors/errors.ts";

/** The Anthropic body the dialect renders for a backend's error answer. */
function rendered(status: number, body: string, headers: Record<string, string> = {}) {
  const reply = ANTHROPIC.renderError(
    ProxyError.fromBackend({ status, headers: new Headers(headers), body: new TextEncoder().encode(body) }),
  );
  return { ...reply, json: JSON.parse(String(reply.body)) };
}

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

Deno.test("anthropic errors: a backend's OpenAI-shaped error body is rendered in the Anthropic shape, status kept", () => {
  const openai = JSON.stringify({
    error: { message: "model overloaded", type: "server_error", code: "overloaded", param: null },
  });
  const reply = rendered(503, openai, { "retry-after": "7", "content-length": "99", "content-type": "text/plain" });
  assert.equal(reply.status, 503);
  assert.deepEqual(reply.json, { type: "error", error: { type: "overloaded_error", message: "model overloaded" } });
  const headers = new Headers(reply.headers);
  assert.equal(headers.get("retry-after"), "7", "the backend's Retry-After is kept");
  assert.equal(headers.get("content-type"), "application/json");
  assert.equal(headers.get("content-length"), null, "the backend's length describes another body");
});

Deno.test("anthropic errors: modelpin's own errors are rendered in the Anthropic shape, with their headers", () => {
  const reply = ANTHROPIC.renderError(ProxyError.unauthorized());
  assert.equal(reply.status, 401);
  assert.equal(JSON.parse(String(reply.body)).error.type, "authentication_error");
  const allow = ANTHROPIC.renderError(ProxyError.methodNotAllowed("POST"));
  assert.equal(new Headers(allow.headers).get("allow"), "POST");
});

Deno.test("anthropic errors: plain-text and empty bodies still give a message", () => {
  assert.equal(errorMessageOf("upstream exploded"), "upstream exploded");
  assert.equal(rendered(502, "").json.error.message, "the backend answered HTTP 502");
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
