/**
 * The proxy's state, built once and passed to the functions that answer
 * requests: configuration, routes, open streams, keys to mask, attempts in
 * flight, the request log and the instruments. And the context of one request.
 *
 * @module
 */

import type { Config, RouteConfig, RouteName } from "../config/config.ts";
import { isOpsPath, opsEndpoints } from "../ops/endpoints.ts";
import { buildStatus } from "../ops/status.ts";
import { formatLogJson } from "../ops/log_json.ts";
import { Telemetry } from "../ops/telemetry.ts";
import { clientKeyAccepted, maskableKeys, maskKeys, streamKeys } from "../security/secrets.ts";
import { RelayRegistry } from "../stream/stream_relay.ts";
import type { FetchLike } from "../upstream/attempt.ts";
import { InflightAttempts } from "../upstream/inflight.ts";
import type { Transports } from "../upstream/transport.ts";
import { type UpstreamTarget, upstreamTarget } from "../upstream/upstream_url.ts";
import { Breaker } from "./breaker.ts";
import { formatLogLine, type LogEntry } from "../ops/request_log.ts";

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

/** Everything the request functions share. */
export interface ProxyState {
  /** The validated configuration. */
  readonly config: Config;
  /** Both routes. */
  readonly routes: Record<RouteName, Route>;
  /** Open streams (idle timeout and shutdown). */
  readonly relays: RelayRegistry;
  /** Keys masked in what leaves the proxy, as text, longest first. */
  readonly secrets: readonly string[];
  /** The same keys as bytes, for masking streams. */
  readonly streamKeys: readonly Uint8Array[];
  /** The attempts waiting on a first answer: their PROXY_TIMEOUT, and shutdown's abort of them. */
  readonly inflight: InflightAttempts;
  /** Set at the end of shutdown's grace: no new upstream attempt starts. */
  stopped: boolean;
  /** Receives one formatted line per request; `undefined` logs nothing. */
  readonly log: ((line: string) => void) | undefined;
  /** Metrics, per-route figures and recent requests. */
  readonly telemetry: Telemetry;
  /** Answers `/`, `/metrics` and `/status.json` (each checks the proxy key itself where it needs one). */
  readonly ops: (req: Request, path: string) => Response | undefined;
}

/** One request on its way through: what every step reads and the log entry it fills in. */
export interface RequestContext {
  /** The client's request. */
  readonly req: Request;
  /** Its path, as sent. */
  readonly path: string;
  /** Its raw query, with `?`, or "". */
  readonly search: string;
  /** The facts its log line reports. */
  readonly entry: LogEntry;
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
  const secrets = maskableKeys([config.fast.apiKey, config.smart.apiKey, ...config.proxyApiKeys]);
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
  const ops = opsEndpoints({
    telemetry,
    authorized: (req) => authorized(config, req),
    status: () =>
      buildStatus({
        telemetry,
        breaker: (name) => routes[name as RouteName].breaker.snapshot(),
        openStreams: () => relays.size,
        auth: config.proxyApiKeys.length > 0,
        demo: config.demo,
        fallback: config.fallback,
        mask: (text) => maskKeys(text, secrets),
      }),
  });
  return {
    config,
    routes,
    relays,
    secrets,
    streamKeys: streamKeys(secrets),
    inflight: new InflightAttempts(config.timeoutMs),
    stopped: false,
    log: config.log ? log : undefined,
    telemetry,
    ops,
  };
}

/** Whether `req` may use keyed endpoints: always without PROXY_API_KEYS, else with one of them. */
export function authorized(config: Config, req: Request): boolean {
  return config.proxyApiKeys.length === 0 || clientKeyAccepted(req.headers, config.proxyApiKeys);
}

/** Writes a finished request's log line and counts it (operations endpoints are not counted). */
export function recordRequest(state: ProxyState, entry: LogEntry): void {
  if (state.log) {
    const line = state.config.logJson ? formatLogJson(entry) : formatLogLine(entry);
    // A client may put a key into what gets logged (its model name): logs often travel further than keys should.
    state.log(state.secrets.length > 0 ? maskKeys(line, state.secrets) : line);
  }
  if (!isOpsPath(entry.path)) state.telemetry.requestDone(entry);
}
