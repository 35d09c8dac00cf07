/** Unit tests of the ring of recent requests. */

import assert from "node:assert/strict";
import { describeEntry, RecentRequests } from "../../../src/ops/recent.ts";
import { boundedRequested, type LogEntry } from "../../../src/ops/request_log.ts";
import { KeyMasker } from "../../../src/security/key_masker.ts";

function entry(i: number, extra: Partial<LogEntry> = {}): LogEntry {
  return { method: "POST", path: `/v1/chat/completions`, status: 200, ms: i, stream: false, ...extra };
}

Deno.test("recent: keeps the last 20 requests, newest first", () => {
  const ring = new RecentRequests();
  for (let i = 1; i <= 25; i++) ring.add(entry(i), i * 1000);
  const list = ring.list();
  assert.equal(list.length, 20);
  assert.deepEqual(list.map((r) => r.ms), Array.from({ length: 20 }, (_, k) => 25 - k));
  assert.equal(list[0].time, new Date(25_000).toISOString());
});

Deno.test("recent: fewer than 20 requests are listed as they are", () => {
  const ring = new RecentRequests();
  assert.deepEqual(ring.list(), []);
  ring.add(entry(1), 0);
  ring.add(entry(2), 0);
  assert.deepEqual(ring.list().map((r) => r.ms), [2, 1]);
});

Deno.test("recent: an entry shows route, forced model, stream end and fallback reason, typed", () => {
  const r = describeEntry(
    entry(12.345, {
      api: "responses",
      requested: "gpt-4",
      route: "smart",
      model: "m-smart",
      stream: true,
      end: "complete",
      fallback: "status_503",
      status: 200,
    }),
    0,
  );
  assert.deepEqual(r, {
    time: new Date(0).toISOString(),
    method: "POST",
    path: "/v1/chat/completions",
    api: "responses",
    requested_model: "gpt-4",
    route: "smart",
    model: "m-smart",
    status: 200,
    ms: 12.3,
    stream: true,
    end: "complete",
    fallback: "status_503",
  });
});

Deno.test("recent: a non-string model, no route and a '-' model become null; long names are cut", () => {
  const masker = new KeyMasker([]);
  const r = describeEntry(entry(1, { requested: boundedRequested(42, masker), model: "-" }), 0);
  assert.equal(r.requested_model, null);
  assert.equal(r.route, null);
  assert.equal(r.model, null);
  assert.equal(describeEntry(entry(1, { requested: null }), 0).requested_model, null);
  // The record keeps the requested model bounded (boundedRequested), so the ring never holds a large one.
  const long = describeEntry(entry(1, { requested: boundedRequested("m".repeat(500), masker) }), 0);
  assert.ok(long.requested_model!.length <= 201);
  // The handler records a path cut (and masked) the same way; the ring shows what the record keeps.
  const path = describeEntry(entry(1, { path: masker.cut(`/v1/${"p".repeat(500)}`, 200) }), 0).path;
  assert.equal(path, `/v1/${"p".repeat(196)}…`, "a long path is cut to 200 and marked");
});

Deno.test("recent: the mask hides keys in client-supplied text", () => {
  const key = "sk-proxy-0123456789";
  const r = describeEntry(entry(1, { requested: `x${key}`, path: `/v1/${key}` }), 0, (s) => s.replaceAll(key, "***"));
  assert.equal(r.requested_model, "x***");
  assert.equal(r.path, "/v1/***");
});

// BUG?: describeEntry cuts the path to 200 characters and masks after: a key the client put into
// the path across that cut is no longer a whole key, so its prefix reaches the status page (and
// the PROXY_LOG=json line, which masks the line only after describeEntry has cut it).
Deno.test("recent: a key across the path's cut leaves no prefix", () => {
  const key = "sk-proxy-0123456789abcdef";
  const masker = new KeyMasker([key]);
  const r = describeEntry(entry(1, { path: `/v1/${"a".repeat(190)}${key}` }), 0, (s) => masker.text(s));
  assert.ok(!r.path.includes(key.slice(0, 4)), r.path.slice(-30));
});
