/** Unit tests of the JSON request log line (PROXY_LOG=json). */

import assert from "node:assert/strict";
import { formatLogJson } from "../../../src/ops/log_json.ts";
import { boundedRequested } from "../../../src/ops/request_log.ts";
import { KeyMasker } from "../../../src/security/key_masker.ts";

const NOW = new Date("2026-11-26T10:00:00.000Z");

Deno.test("log json: one object with typed fields", () => {
  const line = formatLogJson({
    method: "POST",
    path: "/v1/chat/completions",
    api: "chat",
    requested: "gpt-4",
    route: "smart",
    model: "m-smart",
    status: 200,
    ms: 613.24,
    stream: true,
    end: "complete",
    fallback: "status_503",
  }, NOW);
  assert.deepEqual(JSON.parse(line), {
    time: "2026-11-26T10:00:00.000Z",
    method: "POST",
    path: "/v1/chat/completions",
    api: "chat",
    requested_model: "gpt-4",
    route: "smart",
    model: "m-smart",
    status: 200,
    ms: 613.2,
    stream: true,
    end: "complete",
    fallback: "status_503",
  });
});

Deno.test("log json: missing facts are null, never absent or '-'", () => {
  const o = JSON.parse(formatLogJson({ method: "GET", path: "/nope", status: 404, ms: 0.2, stream: false }, NOW));
  assert.equal(o.requested_model, null);
  assert.equal(o.route, null);
  assert.equal(o.model, null);
  assert.equal(o.end, null);
  assert.equal(o.fallback, null);
  assert.equal(typeof o.status, "number");
  assert.equal(typeof o.ms, "number");
  assert.equal(o.stream, false);
});

Deno.test("log json: a hostile model name stays inside one line and one string", () => {
  const evil = 'x"}\n{"status":200\u2028\u0000';
  const line = formatLogJson(
    { method: "POST", path: "/v1/x", requested: evil, status: 400, ms: 1, stream: false },
    NOW,
  );
  assert.ok(!/[\n\r\u2028\u2029]/.test(line), line);
  assert.equal(JSON.parse(line).requested_model, evil);
  assert.equal(JSON.parse(line).status, 400);
});

Deno.test("log json: a non-string model is null and a long one is cut (the record keeps it cut)", () => {
  const masker = new KeyMasker([]);
  const o = JSON.parse(
    formatLogJson({
      method: "POST",
      path: "/",
      requested: boundedRequested({ a: 1 }, masker),
      status: 1,
      ms: 1,
      stream: false,
    }),
  );
  assert.equal(o.requested_model, null);
  const requested = boundedRequested("m".repeat(999), masker);
  const long = JSON.parse(formatLogJson({ method: "P", path: "/", requested, status: 1, ms: 1, stream: false }));
  assert.ok(long.requested_model.length <= 201);
  assert.equal(long.requested_model, `${"m".repeat(200)}…`);
});

Deno.test("log json: a key the client put in the model name is masked in the record", () => {
  const key = "sk-proxy-client-0123456789";
  const requested = boundedRequested(`${"m".repeat(190)}${key}`, new KeyMasker([key]));
  const o = JSON.parse(formatLogJson({ method: "POST", path: "/v1/x", requested, status: 200, ms: 1, stream: false }));
  assert.equal(o.requested_model, `${"m".repeat(190)}***`);
});
