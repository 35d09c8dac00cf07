import assert from "node:assert/strict";
import { retryAfterMs } from "../../../src/upstream/retry_after.ts";

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0); // Wed, 01 Jan 2025 12:00:00 GMT

const cases: { name: string; headers: Record<string, string>; want: number | undefined }[] = [
  { name: "no header", headers: {}, want: undefined },
  { name: "seconds", headers: { "retry-after": "120" }, want: 120_000 },
  { name: "zero seconds", headers: { "retry-after": "0" }, want: 0 },
  { name: "one second", headers: { "retry-after": "1" }, want: 1000 },
  { name: "decimal seconds", headers: { "retry-after": "1.5" }, want: 1500 },
  { name: "decimal seconds rounding", headers: { "retry-after": "0.0004" }, want: 0 },
  { name: "seconds with whitespace", headers: { "retry-after": "  30  " }, want: 30_000 },
  {
    name: "huge seconds are reported (capping is the breaker's job)",
    headers: { "retry-after": "86400" },
    want: 86_400_000,
  },
  { name: "HTTP-date 30 s ahead", headers: { "retry-after": "Wed, 01 Jan 2025 12:00:30 GMT" }, want: 30_000 },
  { name: "HTTP-date 1 h ahead", headers: { "retry-after": "Wed, 01 Jan 2025 13:00:00 GMT" }, want: 3_600_000 },
  { name: "HTTP-date now", headers: { "retry-after": "Wed, 01 Jan 2025 12:00:00 GMT" }, want: 0 },
  { name: "HTTP-date in the past = 0", headers: { "retry-after": "Tue, 31 Dec 2024 23:00:00 GMT" }, want: 0 },
  { name: "HTTP-date long past = 0", headers: { "retry-after": "Thu, 01 Jan 1970 00:00:00 GMT" }, want: 0 },
  { name: "RFC 850 date", headers: { "retry-after": "Wednesday, 01-Jan-25 12:01:00 GMT" }, want: 60_000 },
  { name: "retry-after-ms", headers: { "retry-after-ms": "1500" }, want: 1500 },
  { name: "retry-after-ms decimal", headers: { "retry-after-ms": "250.4" }, want: 250 },
  { name: "retry-after-ms wins over retry-after", headers: { "retry-after-ms": "200", "retry-after": "9" }, want: 200 },
  {
    name: "garbage retry-after-ms falls back to retry-after",
    headers: { "retry-after-ms": "x", "retry-after": "2" },
    want: 2000,
  },
  { name: "garbage retry-after-ms alone", headers: { "retry-after-ms": "soon" }, want: undefined },
  { name: "negative retry-after-ms", headers: { "retry-after-ms": "-5" }, want: undefined },
  { name: "garbage word", headers: { "retry-after": "soon" }, want: undefined },
  { name: "garbage phrase", headers: { "retry-after": "in a while" }, want: undefined },
  { name: "negative seconds", headers: { "retry-after": "-5" }, want: undefined },
  { name: "seconds with unit", headers: { "retry-after": "10s" }, want: undefined },
  { name: "hex", headers: { "retry-after": "0x10" }, want: undefined },
  { name: "exponent", headers: { "retry-after": "1e3" }, want: undefined },
  { name: "Infinity", headers: { "retry-after": "Infinity" }, want: undefined },
  { name: "NaN", headers: { "retry-after": "NaN" }, want: undefined },
  { name: "bare number list", headers: { "retry-after": "1, 2" }, want: undefined },
  { name: "empty", headers: { "retry-after": "" }, want: undefined },
  { name: "broken date", headers: { "retry-after": "Wed, 99 Foo 2025 99:99:99 GMT" }, want: undefined },
];

for (const c of cases) {
  Deno.test(`retry-after: ${c.name}`, () => {
    const got = retryAfterMs(new Headers(c.headers), NOW);
    assert.equal(got, c.want);
    if (got !== undefined) assert.ok(got >= 0 && Number.isFinite(got));
  });
}

Deno.test("retry-after: an HTTP-date is measured from the injected now", () => {
  const h = new Headers({ "retry-after": "Wed, 01 Jan 2025 12:00:30 GMT" });
  assert.equal(retryAfterMs(h, NOW + 10_000), 20_000);
  assert.equal(retryAfterMs(h, NOW + 60_000), 0);
});
