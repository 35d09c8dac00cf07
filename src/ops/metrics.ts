/**
 * A tiny metrics registry and its Prometheus text exposition (format 0.0.4).
 * Counting is a field increment on a child created once per label set; all
 * string building happens at scrape time.
 *
 * @module
 */

/** Thrown when a metric is defined or used against Prometheus' rules. */
export class MetricError extends Error {
  /** Names the offending metric or label. */
  constructor(message: string) {
    super(message);
    this.name = "MetricError";
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Escapes a label value as the exposition format requires: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}

/** Escapes HELP text: backslash and newline. */
function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => c === "\n" ? "\\n" : "\\\\");
}

/** Prometheus' spelling of a sample value. */
function formatValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

function labelText(names: readonly string[], values: readonly string[], extra = ""): string {
  const parts = names.map((n, i) => `${n}="${escapeLabelValue(values[i])}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(",")}}` : "";
}

/** What every metric has in common. */
interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge" | "histogram";
  /** The sample lines, without HELP and TYPE. */
  samples(): string[];
}

/** Children keyed by their label values; the key is built once per label set, not per count. */
abstract class Family<C> {
  readonly #children = new Map<string, { values: string[]; child: C }>();
  /** The metric's label names. */
  readonly labelNames: readonly string[];

  constructor(name: string, labelNames: readonly string[]) {
    if (!NAME.test(name)) throw new MetricError(`invalid metric name "${name}"`);
    for (const l of labelNames) {
      if (!LABEL.test(l) || l.startsWith("__") || l === "le") throw new MetricError(`invalid label "${l}" on ${name}`);
    }
    this.labelNames = labelNames;
  }

  protected abstract create(): C;

  /** The child for these label values (in label order); keep it and count on it. */
  labels(...values: string[]): C {
    if (values.length !== this.labelNames.length) {
      throw new MetricError(`expected ${this.labelNames.length} label values, got ${values.length}`);
    }
    const key = values.join("\u0000");
    let entry = this.#children.get(key);
    if (!entry) {
      entry = { values, child: this.create() };
      this.#children.set(key, entry);
    }
    return entry.child;
  }

  protected entries(): { values: string[]; child: C }[] {
    return [...this.#children.values()];
  }
}

/** One counter value. */
export class CounterChild {
  /** The current total. */
  value = 0;
  /** Adds `n` (default 1); negative amounts are ignored, counters only go up. */
  inc(n = 1): void {
    if (n > 0) this.value += n;
  }
}

/** A monotonically increasing counter with labels. */
export class Counter extends Family<CounterChild> implements Metric {
  /** Always "counter". */
  readonly type = "counter";
  /** Defines `name` (which should end in `_total`). */
  constructor(readonly name: string, readonly help: string, labelNames: readonly string[] = []) {
    super(name, labelNames);
  }
  protected create(): CounterChild {
    return new CounterChild();
  }
  /** Sample lines. */
  samples(): string[] {
    return this.entries().map(({ values, child }) =>
      `${this.name}${labelText(this.labelNames, values)} ${formatValue(child.value)}`
    );
  }
}

/** One histogram's buckets, sum and count. */
export class HistogramChild {
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  readonly counts: Float64Array;
  /** Sum of observed values. */
  sum = 0;
  /** Number of observations. */
  count = 0;
  readonly #bounds: readonly number[];

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Records one value (seconds for durations). */
  observe(v: number): void {
    const b = this.#bounds;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }
}

/**
 * Bucket bounds in seconds for LLM latencies: 5 ms for a cached or local
 * answer up to 300 s for a long stream.
 */
export const LLM_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2,
  4,
  8,
  15,
  30,
  60,
  120,
  300,
];

/** A histogram with labels. */
export class Histogram extends Family<HistogramChild> implements Metric {
  /** Always "histogram". */
  readonly type = "histogram";
  readonly #bounds: readonly number[];
  /** Defines `name` with bucket upper bounds `buckets` (ascending). */
  constructor(
    readonly name: string,
    readonly help: string,
    labelNames: readonly string[] = [],
    buckets: readonly number[] = LLM_BUCKETS,
  ) {
    super(name, labelNames);
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i] > buckets[i - 1])) throw new MetricError(`buckets of ${name} must ascend`);
    }
    this.#bounds = buckets;
  }
  protected create(): HistogramChild {
    return new HistogramChild(this.#bounds);
  }
  /** Sample lines: cumulative `_bucket`s with `le`, then `_sum` and `_count`. */
  samples(): string[] {
    const out: string[] = [];
    for (const { values, child } of this.entries()) {
      let cumulative = 0;
      for (let i = 0; i <= this.#bounds.length; i++) {
        cumulative += child.counts[i];
        const le = i < this.#bounds.length ? formatValue(this.#bounds[i]) : "+Inf";
        out.push(`${this.name}_bucket${labelText(this.labelNames, values, `le="${le}"`)} ${cumulative}`);
      }
      out.push(`${this.name}_sum${labelText(this.labelNames, values)} ${formatValue(child.sum)}`);
      out.push(`${this.name}_count${labelText(this.labelNames, values)} ${child.count}`);
    }
    return out;
  }
}

/** A gauge whose values are read by a callback at scrape time, so nothing is kept up to date per request. */
export class Gauge implements Metric {
  /** Always "gauge". */
  readonly type = "gauge";
  readonly #labelNames: readonly string[];
  readonly #read: () => Iterable<[string[], number]>;
  /** `read` yields `[label values, value]` pairs when scraped. */
  constructor(
    readonly name: string,
    readonly help: string,
    labelNames: readonly string[],
    read: () => Iterable<[string[], number]>,
  ) {
    if (!NAME.test(name)) throw new MetricError(`invalid metric name "${name}"`);
    this.#labelNames = labelNames;
    this.#read = read;
  }
  /** Sample lines. */
  samples(): string[] {
    const out: string[] = [];
    for (const [values, v] of this.#read()) {
      out.push(`${this.name}${labelText(this.#labelNames, values)} ${formatValue(v)}`);
    }
    return out;
  }
}

/** The metrics of one process, rendered in registration order. */
export class Registry {
  readonly #metrics: Metric[] = [];

  /** Adds a metric; names must be unique. */
  register<M extends Metric>(metric: M): M {
    if (this.#metrics.some((m) => m.name === metric.name)) {
      throw new MetricError(`metric ${metric.name} is registered twice`);
    }
    this.#metrics.push(metric);
    return metric;
  }

  /** The Prometheus text exposition: HELP and TYPE lines, then samples; ends with a newline. */
  render(): string {
    const lines: string[] = [];
    for (const m of this.#metrics) {
      lines.push(`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} ${m.type}`, ...m.samples());
    }
    return lines.join("\n") + "\n";
  }
}

/** The content type of the text exposition format. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
