/** Unit tests of the doctor's pure helpers (the verdicts are tested against real backends in e2e). */

import assert from "node:assert/strict";
import { parseConfig } from "../../../src/config/config.ts";
import { distinctBackends } from "../../../src/ops/doctor.ts";
import { connectProblem, errorSnippet, listedModels } from "../../../src/ops/doctor_probe.ts";

Deno.test("doctor: routes on the same base URL and key are one backend", () => {
  const same = parseConfig({ FAST_BASE_URL: "http://a:1/v1", FAST_MODEL_NAME: "m1", SMART_MODEL_NAME: "m2" });
  const backends = distinctBackends(same);
  assert.equal(backends.length, 1);
  assert.equal(backends[0].subject, "fast+smart");
  const two = parseConfig({
    FAST_BASE_URL: "http://a:1/v1",
    FAST_MODEL_NAME: "m1",
    SMART_BASE_URL: "http://b:2/v1",
  });
  assert.deepEqual(distinctBackends(two).map((b) => b.subject), ["fast", "smart"]);
});

Deno.test("doctor: connection errors are named DNS, refused, TLS or timeout", () => {
  const base = new URL("https://api.example.com/v1");
  assert.match(connectProblem(new TypeError("dns error: failed to lookup address"), false, base, 1000), /^DNS/);
  assert.match(connectProblem(new TypeError("Connection refused (os error 111)"), false, base, 1000), /refused/);
  assert.match(connectProblem(new TypeError("invalid peer certificate: UnknownIssuer"), false, base, 1000), /^TLS/);
  assert.match(connectProblem(new Error("aborted"), true, base, 2000), /within 2 s/);
  assert.match(connectProblem(new Error("aborted"), true, base, 2000), /api\.example\.com:443/);
});

Deno.test("doctor: model lists in OpenAI's and Ollama's shapes are read; anything else is not a list", () => {
  assert.deepEqual(listedModels('{"object":"list","data":[{"id":"a"},{"id":"b"}]}'), ["a", "b"]);
  assert.deepEqual(listedModels('{"models":[{"name":"llama3"}]}'), ["llama3"]);
  assert.equal(listedModels("<html>"), undefined);
  assert.equal(listedModels('{"data": 3}'), undefined);
});

Deno.test("doctor: an error body is cut to the backend's own message", () => {
  assert.equal(errorSnippet('{"error":{"message":"Invalid API key"}}'), "Invalid API key");
  assert.equal(errorSnippet("plain\n  text"), "plain text");
  assert.ok(errorSnippet("x".repeat(500)).length <= 161);
});
