/**
 * The request handler: finds the endpoint, checks method and key, lets the
 * endpoint answer, and turns every error into a response in one place. It is
 * wiring: the work is in the functions the endpoint table names.
 *
 * @module
 */

import type { Config, RouteName } from "../config/config.ts";
import type { Telemetry } from "../ops/telemetry.ts";
import { requestTarget } from "../request/request_target.ts";
import { maskKeys } from "../security/secrets.ts";
import type { RelayRegistry } from "../stream/stream_relay.ts";
import type { Transports } from "../upstream/transport.ts";
import type { Breaker } from "./breaker.ts";
import type { Endpoint } from "./endpoint.ts";
import { errorResponse, ProxyError } from "../errors/errors.ts";
import type { LogEntry } from "../ops/request_log.ts";
import { authorized, buildState, type ProxyState, recordRequest, type RequestContext } from "./state.ts";

/** What the handler depends on. */
export interface ProxyOptions {
  /** The validated configuration. */
  config: Config;
  /** How each route reaches its backend (the pool's owner decides). */
  transports: Transports;
  /** The endpoints, first match wins (src/endpoints.ts composes modelpin's). */
  endpoints: readonly Endpoint[];
  /** Receives one formatted line per request; omit to log nothing. */
  log?: (line: string) => void;
}

/** The handler and the state it keeps. */
export interface Proxy {
  /** Answers one request. */
  handler: (req: Request) => Promise<Response>;
  /** Open streams (idle timeout and shutdown). */
  relays: RelayRegistry;
  /** Each route's circuit breaker. */
  breakers: Record<RouteName, Breaker>;
  /** Metrics, per-route figures and recent requests. */
  telemetry: Telemetry;
  /** Stops new upstream attempts and aborts the ones in flight (end of shutdown grace). */
  abortAll: () => void;
}

/** Builds the proxy for a configuration. */
export function createProxy(options: ProxyOptions): Proxy {
  const state = buildState(options.config, options.transports, options.log);
  return {
    handler: (req) => handle(state, options.endpoints, req),
    relays: state.relays,
    breakers: { fast: state.routes.fast.breaker, smart: state.routes.smart.breaker },
    telemetry: state.telemetry,
    abortAll: () => {
      state.stopped = true;
      state.inflight.abortAll();
    },
  };
}

/** Answers one request; whatever goes wrong becomes an error response here. */
export async function handle(state: ProxyState, endpoints: readonly Endpoint[], req: Request): Promise<Response> {
  const started = performance.now();
  const entry: LogEntry = { method: req.method, path: "-", status: 0, ms: 0, stream: false };
  let endpoint: Endpoint | undefined;
  let res: Response;
  try {
    const { path, search } = requestTarget(req);
    entry.path = path;
    endpoint = endpoints.find((e) => e.matches(path));
    res = await dispatch(state, endpoint, { req, path, search, entry, started });
  } catch (err) {
    if (!(err instanceof ProxyError)) {
      console.error(`modelpin: internal error on ${req.method} ${entry.path}: ${maskKeys(String(err), state.secrets)}`);
    }
    res = errorResponse(err);
  }
  if (res.status >= 400 && endpoint?.shapeError) res = await endpoint.shapeError(res);
  entry.status = res.status;
  // A relayed stream writes its own line when it ends.
  if (!entry.relayed) {
    entry.ms = performance.now() - started;
    recordRequest(state, entry);
  }
  return res;
}

/** Checks the endpoint's key and method, then lets it answer. */
function dispatch(
  state: ProxyState,
  endpoint: Endpoint | undefined,
  ctx: RequestContext,
): Response | Promise<Response> {
  // Without a key, an unknown path is a 401 like any other: nothing is revealed to a stranger.
  if ((endpoint === undefined || endpoint.auth) && !authorized(state.config, ctx.req)) throw ProxyError.unauthorized();
  if (endpoint === undefined) throw ProxyError.notFound(ctx.req.method, ctx.path);
  if (!endpoint.methods.includes(ctx.req.method)) throw ProxyError.methodNotAllowed(endpoint.methods.join(", "));
  return endpoint.handle(state, ctx);
}
