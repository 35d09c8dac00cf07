/**
 * The proxy's instruments: the fixed metric families, per-route
 * figures for the status page, and the last requests. The handler calls the
 * hook methods; each is a few field increments on children created up front.
 *
 * @module
 */

import { VERSION } from "../version.ts";
import type { LogEntry } from "./request_log.ts";
import { Counter, CounterChild, Gauge, Histogram, HistogramChild, Registry } from "./metrics.ts";
import { RecentRequests } from "./recent.ts";
import { RouteStats } from "./route_stats.ts";
import type { Usage } from "../stream/usage.ts";
import type { FailureLabel } from "../upstream/failure.ts";

/** Why a request was served by the other route, as the metrics label it. */
export type FallbackLabel = FailureLabel | "cooling";

/** What the instruments need to know about a route. */
export interface RouteInfo {
  /** "fast" or "smart". */
  name: string;
  /** The backend's host (or "demo"). */
  host: string;
  /** The forced model. */
  model: string;
  /** Whether the route is cooling now (read at scrape time). */
  cooling: () => boolean;
}

interface RouteInstruments {
  info: RouteInfo;
  stats: RouteStats;
  byCode: Map<string, CounterChild>;
  duration: { json: HistogramChild; stream: HistogramChild };
  firstByte: HistogramChild;
  tokensIn: CounterChild;
  tokensOut: CounterChild;
}

/** Options of the instruments. */
export interface TelemetryOptions {
  /** The routes, in display order. */
  routes: RouteInfo[];
  /** Streams being relayed now (read at scrape time). */
  openStreams: () => number;
  /** The clock for timestamps (tests). */
  now?: () => number;
}

/** The proxy's metrics registry, per-route figures and recent requests. */
export class Telemetry {
  /** Rendered at `/metrics`. */
  readonly registry = new Registry();
  /** The last 20 requests. */
  readonly recent = new RecentRequests();
  /** When the process (this module) started, epoch ms. */
  readonly startedAt: number;
  readonly #routes = new Map<string, RouteInstruments>();
  readonly #none: RouteInstruments;
  readonly #requests: Counter;
  readonly #fallbacks: Counter;
  readonly #failures: Counter;
  readonly #retries: Counter;
  readonly #now: () => number;

  /** Defines every metric family and pre-creates the children the hot path uses. */
  constructor(options: TelemetryOptions) {
    this.#now = options.now ?? Date.now;
    this.startedAt = PROCESS_START;
    const r = this.registry;
    this.#requests = r.register(
      new Counter(
        "modelpin_requests_total",
        "Requests answered, by the route that served them, status, and API (chat, messages, responses, other).",
        ["route", "code", "api"],
      ),
    );
    this.#fallbacks = r.register(
      new Counter("modelpin_fallbacks_total", "Requests served by the other route.", ["from", "to", "reason"]),
    );
    this.#failures = r.register(
      new Counter("modelpin_upstream_failures_total", "Failed upstream attempts, saved by a fallback or not.", [
        "route",
        "reason",
      ]),
    );
    this.#retries = r.register(
      new Counter("modelpin_retries_total", "Retries on the same route after a transient failure.", [
        "route",
        "reason",
      ]),
    );
    const tokens = r.register(
      new Counter("modelpin_tokens_total", "Tokens the backends reported in usage.", ["route", "model", "type"]),
    );
    const duration = r.register(
      new Histogram("modelpin_request_duration_seconds", "Time until the last byte went to the client.", [
        "route",
        "stream",
      ]),
    );
    const firstByte = r.register(
      new Histogram(
        "modelpin_upstream_first_byte_seconds",
        "Time until the backend's first answer (its first SSE event for streams).",
        ["route"],
      ),
    );
    const instruments = (info: RouteInfo, real = true): RouteInstruments => ({
      info,
      stats: new RouteStats(),
      byCode: new Map(),
      duration: { json: duration.labels(info.name, "false"), stream: duration.labels(info.name, "true") },
      // No route means no backend: no first byte and no tokens, so no empty series for them.
      firstByte: real ? firstByte.labels(info.name) : new HistogramChild([]),
      tokensIn: real ? tokens.labels(info.name, info.model, "input") : new CounterChild(),
      tokensOut: real ? tokens.labels(info.name, info.model, "output") : new CounterChild(),
    });
    for (const info of options.routes) this.#routes.set(info.name, instruments(info));
    this.#none = instruments({ name: "none", host: "", model: "", cooling: () => false }, false);
    this.#registerGauges(options);
  }

  #registerGauges(options: TelemetryOptions): void {
    const r = this.registry;
    const routes = [...this.#routes.values()].map((i) => i.info);
    r.register(
      new Gauge("modelpin_breaker_open", "1 while the route is cooling (skipped).", ["route"], function* () {
        for (const info of routes) yield [[info.name], info.cooling() ? 1 : 0];
      }),
    );
    r.register(
      new Gauge("modelpin_open_streams", "Streams being relayed now.", [], () => [[[], options.openStreams()]]),
    );
    r.register(
      new Gauge("modelpin_build_info", "modelpin's version and the Deno it runs on.", ["version", "deno"], () => [
        [[VERSION, Deno.version.deno], 1],
      ]),
    );
    r.register(
      new Gauge("process_resident_memory_bytes", "Resident memory size in bytes.", [], () => [[
        [],
        Deno.memoryUsage().rss,
      ]]),
    );
    r.register(
      new Gauge("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.", [], () => [
        [[], Math.floor(this.startedAt / 1000)],
      ]),
    );
  }

  #route(name: string | undefined): RouteInstruments {
    return (name !== undefined && this.#routes.get(name)) || this.#none;
  }

  /** A request was answered (for streams: its stream ended). Counts it and keeps it for the status page. */
  requestDone(entry: LogEntry): void {
    const r = this.#route(entry.route);
    // Children by status and API, made once each: the hot path is a map lookup and an increment.
    const key = `${entry.status} ${entry.api ?? "none"}`;
    let child = r.byCode.get(key);
    if (child === undefined) {
      child = this.#requests.labels(r.info.name, String(entry.status), entry.api ?? "none");
      r.byCode.set(key, child);
    }
    child.value++;
    r.stats.requests++;
    (entry.stream ? r.duration.stream : r.duration.json).observe(entry.ms / 1000);
    this.recent.add(entry, this.#now());
  }

  /** An attempt on `route` failed, for `label`'s reason (`message` already masked). */
  attemptFailed(route: string, label: FailureLabel, message: string): void {
    const r = this.#route(route);
    this.#failures.labels(r.info.name, label).inc();
    r.stats.failures++;
    r.stats.lastError = { time: new Date(this.#now()).toISOString(), reason: label, message };
  }

  /** A transient failure on `route` is retried on the same route. */
  retry(route: string, label: FailureLabel): void {
    const r = this.#route(route);
    this.#retries.labels(r.info.name, label).inc();
    r.stats.retries++;
  }

  /** The request was served by `to` instead of `from`. */
  fallback(from: string, to: string, label: FallbackLabel): void {
    this.#fallbacks.labels(from, to, label).inc();
    this.#route(from).stats.fallbacks++;
  }

  /** The backend of `route` gave its first answer after `seconds`. */
  firstByte(route: string, seconds: number): void {
    const r = this.#route(route);
    r.firstByte.observe(seconds);
    r.stats.firstByte(seconds);
  }

  /** The backend of `route` reported `usage`. */
  tokens(route: string, usage: Usage): void {
    const r = this.#route(route);
    r.tokensIn.inc(usage.input);
    r.tokensOut.inc(usage.output);
    r.stats.tokensIn += usage.input;
    r.stats.tokensOut += usage.output;
  }

  /** Each route's description and figures, in display order. */
  routes(): { info: RouteInfo; stats: RouteStats }[] {
    return [...this.#routes.values()].map(({ info, stats }) => ({ info, stats }));
  }
}

/** When this process loaded modelpin; close enough to its start for `process_start_time_seconds`. */
const PROCESS_START = Date.now() - Math.round(performance.now());
