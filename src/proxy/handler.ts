/**
 * The request handler: finds the endpoint, checks key and method, lets the
 * endpoint answer, and renders every error in the endpoint's API shape in
 * one place, keys masked. The log line is written once, when the response
 * (for a relayed body: its last byte) is done. It is wiring: the work is in
 * the functions the endpoint table names.
 *
 * @module
 */

import type { Config, RouteName } from "../config/config.ts";
import { asProxyError, ProxyError } from "../errors/errors.ts";
import type { LogEntry } from "../ops/request_log.ts";
import type { Telemetry } from "../ops/telemetry.ts";
import { requestTarget } from "../request/request_target.ts";
import type { RelayRegistry } from "../stream/relay_registry.ts";
import type { Transports } from "../upstream/transport.ts";
import type { Breaker } from "./breaker.ts";
import type { Dialect } from "./dialect.ts";
import type { Endpoint, Reply } from "./endpoint.ts";
import { authorized, buildState, type ProxyState, recordRequest, type RequestContext } from "./state.ts";

/** The endpoints, first match wins, and the dialect that answers a request no endpoint serves. */
export interface EndpointTable {
  /** Every endpoint. */
  endpoints: readonly Endpoint[];
  /** The API shape of a 404 or 401 for an unknown path. */
  unmatched: Dialect;
}

/** What the handler depends on. */
export interface ProxyOptions {
  /** The validated configuration. */
  config: Config;
  /** How each route reaches its backend (the pool's owner decides). */
  transports: Transports;
  /** The endpoints (src/endpoints.ts composes modelpin's). */
  table: EndpointTable;
  /** Receives one formatted line per request; omit to log nothing. */
  log?: (line: string) => void;
}

/** The handler and the state it keeps. */
export interface Proxy {
  /** Answers one request. */
  handler: (req: Request) => Promise<Response>;
  /** Open relays (idle timeout and shutdown). */
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
    handler: (req) => handle(state, options.table, req),
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
export async function handle(state: ProxyState, table: EndpointTable, req: Request): Promise<Response> {
  const started = performance.now();
  const record: LogEntry = { method: req.method, path: "-", status: 0, ms: 0, stream: false };
  let endpoint: Endpoint | undefined;
  let reply: Reply;
  try {
    const { path, search } = requestTarget(req);
    // The record outlives the request (the status page lists it): a bounded, masked copy.
    record.path = state.masker.cut(path, MAX_RECORDED_PATH);
    endpoint = table.endpoints.find((e) => e.matches(path));
    record.api = endpoint?.api;
    reply = await dispatch(state, endpoint, { req, path, search, record, started });
  } catch (err) {
    reply = renderError(state, endpoint?.dialect ?? table.unmatched, err, record);
  }
  const response = reply instanceof Response ? reply : reply.response;
  record.status = response.status;
  const counted = endpoint?.counted ?? true;
  const done = () => {
    record.ms = performance.now() - started;
    recordRequest(state, record, counted);
  };
  if (reply instanceof Response) done();
  else {
    reply.ended.then((end) => {
      record.end = end;
      done();
    });
  }
  return response;
}

/** Checks the endpoint's key and method, then lets it answer. */
function dispatch(state: ProxyState, endpoint: Endpoint | undefined, ctx: RequestContext): Reply | Promise<Reply> {
  // Without a key, an unknown path is a 401 like any other: nothing is revealed to a stranger.
  if ((endpoint === undefined || endpoint.auth) && !authorized(state.config, ctx.req)) throw ProxyError.unauthorized();
  // Codex's built-in provider tries a WebSocket first: a 426 makes it use HTTP at once (a 404 costs it 7 retries).
  if (ctx.path.startsWith("/v1") && /websocket/i.test(ctx.req.headers.get("upgrade") ?? "")) {
    throw ProxyError.upgradeRequired();
  }
  if (endpoint === undefined) throw ProxyError.notFound(ctx.req.method, ctx.path);
  if (!endpoint.methods.includes(ctx.req.method)) throw ProxyError.methodNotAllowed(endpoint.methods.join(", "));
  return endpoint.handle(state, ctx);
}

const encoder = new TextEncoder();

/** The longest path a request's record keeps. */
const MAX_RECORDED_PATH = 200;

/** The longest error message a client is shown. */
const MAX_ERROR_MESSAGE = 500;

/** Any error as the client gets it: in `dialect`'s shape, keys masked in its body and headers. */
function renderError(state: ProxyState, dialect: Dialect, err: unknown, record: LogEntry): Response {
  if (!(err instanceof ProxyError)) {
    console.error(`modelpin: internal error on ${record.method} ${record.path}: ${state.masker.text(String(err))}`);
  }
  // Masked before it is cut: a message (a backend's words, a client's path) can hold a key.
  const error = asProxyError(err).shown((message) => state.masker.cut(message, MAX_ERROR_MESSAGE));
  if (error.code === "client_gone") record.end = "client_gone";
  const reply = dialect.renderError(error);
  const body = typeof reply.body === "string" ? encoder.encode(reply.body) : reply.body;
  const headers = reply.headers.map(([name, value]): [string, string] => [name, state.masker.text(value)]);
  return new Response(state.masker.bytes(body), { status: reply.status, headers });
}
