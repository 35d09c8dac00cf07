/** Unit tests of the ring of recent requests. */

import assert from "node:assert/strict";
import { describeEntry, RecentRequests } from "../../../src/ops/recent.ts";
import type { LogEntry } from "../../../src/ops/request_log.ts";

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
  const r = describeEntry(entry(1, { requested: 42, model: "-" }), 0);
  assert.equal(r.requested_model, null);
  assert.equal(r.route, null);
  assert.equal(r.model, null);
  const long = describeEntry(entry(1, { requested: "m".repeat(500) }), 0);
  assert.ok(long.requested_model!.length <= 201);
});

Deno.test("recent: the mask hides keys in client-supplied text", () => {
  const key = "sk-proxy-0123456789";
  const r = describeEntry(entry(1, { requested: `x${key}`, path: `/v1/${key}` }), 0, (s) => s.replaceAll(key, "***"));
  assert.equal(r.requested_model, "x***");
  assert.equal(r.path, "/v1/***");
});
