/** Unit tests of the metrics registry and its Prometheus text exposition. */

import assert from "node:assert/strict";
import {
  Counter,
  escapeLabelValue,
  Gauge,
  Histogram,
  LLM_BUCKETS,
  MetricError,
  Registry,
} from "../../../src/ops/metrics.ts";

Deno.test("metrics: a counter renders HELP, TYPE and one sample per label set", () => {
  const r = new Registry();
  const c = r.register(new Counter("x_total", "Things.", ["route", "code"]));
  c.labels("fast", "200").inc();
  c.labels("fast", "200").inc(2);
  c.labels("smart", "502").inc();
  assert.equal(
    r.render(),
    '# HELP x_total Things.\n# TYPE x_total counter\nx_total{route="fast",code="200"} 3\nx_total{route="smart",code="502"} 1\n',
  );
});

Deno.test("metrics: labels() returns the same child for the same values, so callers can keep it", () => {
  const c = new Counter("y_total", "Y.", ["a"]);
  assert.equal(c.labels("v"), c.labels("v"));
  assert.notEqual(c.labels("v"), c.labels("w"));
});

Deno.test("metrics: counters never go down", () => {
  const c = new Counter("z_total", "Z.");
  const child = c.labels();
  child.inc(5);
  child.inc(-3);
  assert.equal(child.value, 5);
});

Deno.test("metrics: label values escape backslash, double quote and newline", () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const r = new Registry();
  r.register(new Counter("m_total", "M.", ["model"])).labels('<img src=x onerror="1">\n\\').inc();
  assert.match(r.render(), /m_total\{model="<img src=x onerror=\\"1\\">\\n\\\\"\} 1/);
});

Deno.test("metrics: a histogram renders cumulative buckets with le, +Inf, _sum and _count", () => {
  const r = new Registry();
  const h = r.register(new Histogram("d_seconds", "D.", ["route"], [0.1, 1]));
  const child = h.labels("fast");
  child.observe(0.05);
  child.observe(0.1); // a bound is inclusive: le means "less than or equal"
  child.observe(0.5);
  child.observe(7);
  const text = r.render();
  assert.ok(text.includes('d_seconds_bucket{route="fast",le="0.1"} 2\n'), text);
  assert.ok(text.includes('d_seconds_bucket{route="fast",le="1"} 3\n'), text);
  assert.ok(text.includes('d_seconds_bucket{route="fast",le="+Inf"} 4\n'), text);
  assert.ok(text.includes('d_seconds_sum{route="fast"} 7.65\n'), text);
  assert.ok(text.includes('d_seconds_count{route="fast"} 4\n'), text);
});

Deno.test("metrics: the LLM buckets reach from 5 ms or less up to at least 120 s, ascending", () => {
  assert.ok(LLM_BUCKETS[0] <= 0.005);
  assert.ok(LLM_BUCKETS[LLM_BUCKETS.length - 1] >= 120);
  for (let i = 1; i < LLM_BUCKETS.length; i++) assert.ok(LLM_BUCKETS[i] > LLM_BUCKETS[i - 1]);
});

Deno.test("metrics: a gauge is read by its callback at scrape time", () => {
  let open = 0;
  const r = new Registry();
  r.register(new Gauge("open_streams", "Open.", [], () => [[[], open]]));
  assert.match(r.render(), /^open_streams 0$/m);
  open = 3;
  assert.match(r.render(), /^open_streams 3$/m);
});

Deno.test("metrics: bad names, reserved labels, duplicate metrics and wrong label counts are refused", () => {
  assert.throws(() => new Counter("1bad", "x"), MetricError);
  assert.throws(() => new Counter("ok_total", "x", ["le"]), MetricError);
  assert.throws(() => new Counter("ok_total", "x", ["__x"]), MetricError);
  assert.throws(() => new Histogram("h", "x", [], [1, 1]), MetricError);
  const r = new Registry();
  r.register(new Counter("dup_total", "x"));
  assert.throws(() => r.register(new Counter("dup_total", "x")), MetricError);
  assert.throws(() => new Counter("l_total", "x", ["a"]).labels(), MetricError);
});

Deno.test("metrics: HELP text escapes backslash and newline", () => {
  const r = new Registry();
  r.register(new Counter("h_total", "line one\nback\\slash"));
  assert.ok(r.render().startsWith("# HELP h_total line one\\nback\\\\slash\n"));
});
