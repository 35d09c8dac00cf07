/**
 * What lives as long as the proxy: configuration, routes and their
 * breakers, the open relays, the keys to mask, the attempts in flight, the
 * instruments and the log. And the context of one request, with the record
 * its log line is made of.
 *
 * @module
 */

import type { Config, RouteConfig, RouteName } from "../config/config.ts";
import { formatLogJson } from "../ops/log_json.ts";
import { formatLogLine, type LogEntry } from "../ops/request_log.ts";
import { Telemetry } from "../ops/telemetry.ts";
import { KeyMasker } from "../security/key_masker.ts";
import { clientKeyAccepted } from "../security/inbound_keys.ts";
import { RelayRegistry } from "../stream/relay_registry.ts";
import type { FetchLike } from "../upstream/attempt.ts";
import { InflightAttempts } from "../upstream/inflight.ts";
import type { Transports } from "../upstream/transport.ts";
import { type UpstreamTarget, upstreamTarget } from "../upstream/upstream_url.ts";
import { Breaker } from "./breaker.ts";

/** One route as the proxy uses it. */
export interface Route {
  /** Its configuration. */
  config: RouteConfig;
  /** Its base URL, pre-split for stitching; `undefined` for the demo backend. */
  target: UpstreamTarget | undefined;
  /** How its requests reach the backend. */
  transport: FetchLike;
  /** Its circuit breaker. */
  breaker: Breaker;
  /** Its backend's host, for messages (never a key). */
  host: string;
}

/** Everything that outlives a request. */
export interface ProxyState {
  /** The validated configuration. */
  readonly config: Config;
  /** Both routes. */
  readonly routes: Record<RouteName, Route>;
  /** Open relays (idle timeout and shutdown). */
  readonly relays: RelayRegistry;
  /** The configured keys, masked in everything that leaves the proxy. */
  readonly masker: KeyMasker;
  /** The attempts waiting on a first answer: their PROXY_TIMEOUT, and shutdown's abort of them. */
  readonly inflight: InflightAttempts;
  /** Set at the end of shutdown's grace: no new upstream attempt starts. */
  stopped: boolean;
  /** Receives one formatted line per request; `undefined` logs nothing. */
  readonly log: ((line: string) => void) | undefined;
  /** Metrics, per-route figures and recent requests. */
  readonly telemetry: Telemetry;
}

/** One request on its way through: what every step reads, and the record its log line is made of. */
export interface RequestContext {
  /** The client's request. */
  readonly req: Request;
  /** Its path, as sent. */
  readonly path: string;
  /** Its raw query, with `?`, or "". */
  readonly search: string;
  /** The facts its log line reports: filled in by the front door and `forward`, completed by the handler. */
  readonly record: LogEntry;
  /** `performance.now()` when it arrived. */
  readonly started: number;
}

/** Builds the state for `config`, with routes on `transports` and log lines going to `log`. */
export function buildState(
  config: Config,
  transports: Transports,
  log: ((line: string) => void) | undefined,
): ProxyState {
  const route = (rc: RouteConfig): Route => ({
    config: rc,
    target: rc.baseUrl ? upstreamTarget(rc.baseUrl) : undefined,
    transport: transports.for(rc),
    breaker: new Breaker(config.breakerFailures, config.breakerCooldownMs),
    host: rc.baseUrl ? rc.baseUrl.host : "demo",
  });
  const routes: Record<RouteName, Route> = { fast: route(config.fast), smart: route(config.smart) };
  const relays = new RelayRegistry(config.idleTimeoutMs);
  const telemetry = new Telemetry({
    routes: [routes.fast, routes.smart].map((r) => ({
      name: r.config.name,
      host: r.host,
      model: r.config.model,
      // With a single route there is no breaker state to show (it never cools).
      cooling: () => config.fallback && r.breaker.snapshot().state === "cooling",
    })),
    openStreams: () => relays.size,
  });
  return {
    config,
    routes,
    relays,
    masker: new KeyMasker([config.fast.apiKey, config.smart.apiKey, ...config.proxyApiKeys]),
    inflight: new InflightAttempts(config.timeoutMs),
    stopped: false,
    log: config.log === "off" ? undefined : log,
    telemetry,
  };
}

/** Whether `req` may use keyed endpoints: always without PROXY_API_KEYS, else with one of them. */
export function authorized(config: Config, req: Request): boolean {
  return config.proxyApiKeys.length === 0 || clientKeyAccepted(req.headers, config.proxyApiKeys);
}

/** Writes a finished request's log line, and counts it unless its endpoint is not counted. */
export function recordRequest(state: ProxyState, record: LogEntry, counted: boolean): void {
  if (state.log) {
    const line = state.config.log === "json" ? formatLogJson(record) : formatLogLine(record);
    // A client may put a key into what gets logged (its model name): logs often travel further than keys should.
    state.log(state.masker.text(line));
  }
  if (counted) state.telemetry.requestDone(record);
}
