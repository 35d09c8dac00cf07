/**
 * The request handler: routes a request, forces its model, forwards it with
 * fallback, and turns every error into an OpenAI-shaped response in one place.
 *
 * @module
 */

import type { Config, RouteConfig, RouteName } from "./config.ts";
import { Breaker, type BreakerState } from "./breaker.ts";
import { demoFetch } from "./demo_backend.ts";
import { errorResponse, ProxyError } from "./errors.ts";
import { routeFailure, shouldFallback } from "./fallback.ts";
import { type Attempt, attemptUpstream, type FetchLike } from "./forwarder.ts";
import { downstreamHeaders, setUpstreamKey, upstreamHeaders } from "./headers.ts";
import { rewriteModel } from "./model_rewrite.ts";
import { type JsonBody, parseJsonObject, readBody } from "./request_body.ts";
import type { Http1Client } from "./http1_client.ts";
import { formatLogLine, type LogEntry } from "./request_log.ts";
import { retryAfterMs } from "./retry_after.ts";
import { otherRoute, pickRoute } from "./router.ts";
import { clientKeyAccepted, maskableKeys, maskKeys, maskKeysInBytes, StreamKeyMasker, streamKeys } from "./secrets.ts";
import { RelayRegistry, StreamRelay } from "./stream_relay.ts";
import { stitchUrl, type UpstreamTarget, upstreamTarget } from "./upstream_url.ts";
import { VERSION } from "./version.ts";

/** What the handler depends on. */
export interface ProxyOptions {
  /** The validated configuration. */
  config: Config;
  /** The fetch used for real backends (tests inject one to watch what goes upstream). */
  fetch?: FetchLike;
  /** Connection pool for real backends reached with `fetch`. */
  client?: Deno.HttpClient;
  /** The fast HTTP/1.1 client for `http://` backends; without it every backend uses `fetch`. */
  http1?: Http1Client;
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
  /** Stops new upstream attempts and aborts the ones in flight (end of shutdown grace). */
  abortAll: () => void;
}

interface Route {
  config: RouteConfig;
  target: UpstreamTarget | undefined;
  fetch: FetchLike;
  /** The fetch for streaming requests (see below). */
  streamFetch: FetchLike;
  breaker: Breaker;
  host: string;
}

const EMPTY = new Uint8Array(0);
// Statuses whose responses cannot carry a body (a Response with one would throw).
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
const STREAM_HEADERS: [string, string][] = [
  ["cache-control", "no-cache"],
  ["x-accel-buffering", "no"],
];

/** Splits a request URL into path and raw query without a URL object per request. */
function splitUrl(url: string): { path: string; search: string } {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const q = url.indexOf("?", start);
  return q < 0 ? { path: url.slice(start), search: "" } : { path: url.slice(start, q), search: url.slice(q) };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function methodNotAllowed(allow: string): ProxyError {
  return new ProxyError(405, "invalid_request_error", "method_not_allowed", `method not allowed; use ${allow}`, {
    allow,
  });
}

/** An unlabelled or form-labelled body whose first non-blank byte is `{`. */
function looksLikeJson(raw: Uint8Array, contentType: string | null): boolean {
  if (contentType !== null && !contentType.startsWith("application/x-www-form-urlencoded")) return false;
  for (const byte of raw) {
    if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) continue;
    return byte === 0x7b;
  }
  return false;
}

/** Builds the proxy for a configuration. */
export function createProxy(options: ProxyOptions): Proxy {
  const { config } = options;
  const realFetch = options.fetch ?? fetch;
  // Plain-http backends (local model servers) take the lighter client unless a fetch was injected.
  const fetchFor = (url: URL): FetchLike =>
    url.protocol === "http:" && options.http1 && !options.fetch ? options.http1.fetch : realFetch;
  const route = (rc: RouteConfig): Route => ({
    config: rc,
    target: rc.baseUrl ? upstreamTarget(rc.baseUrl) : undefined,
    fetch: rc.baseUrl ? fetchFor(rc.baseUrl) : demoFetch(rc.name),
    // Streams stay on fetch even for http:// backends: its native body reads measured lower
    // per-event delay and memory than the HTTP/1.1 client's JS stream (bench/analysis.md).
    streamFetch: rc.baseUrl ? realFetch : demoFetch(rc.name),
    breaker: new Breaker(config.breakerFailures, config.breakerCooldownMs),
    host: rc.baseUrl ? rc.baseUrl.host : "demo",
  });
  const routes: Record<RouteName, Route> = { fast: route(config.fast), smart: route(config.smart) };
  const relays = new RelayRegistry(config.idleTimeoutMs);
  const secrets = maskableKeys([config.fast.apiKey, config.smart.apiKey, ...config.proxyApiKeys]);
  const keysInStreams = streamKeys(secrets);
  const inflight = new Set<() => void>();
  let stopped = false;
  const log = options.log;

  const modelList = JSON.stringify({
    object: "list",
    data: (["fast", "smart"] as const).map((id) => ({ id, object: "model", created: 0, owned_by: "modelpin" })),
  });

  function health(): Response {
    const describe = (r: Route): { host: string; model: string; breaker: BreakerState } => ({
      host: r.host,
      model: r.config.model,
      breaker: r.breaker.snapshot(),
    });
    return json({
      status: "ok",
      version: VERSION,
      demo: config.demo,
      fallback: config.fallback,
      auth: config.proxyApiKeys.length > 0,
      routes: { fast: describe(routes.fast), smart: describe(routes.smart) },
      open_streams: relays.size,
    });
  }

  async function handler(req: Request): Promise<Response> {
    const started = performance.now();
    const { path, search } = splitUrl(req.url);
    const entry: LogEntry = { method: req.method, path, status: 0, ms: 0, stream: false };
    let res: Response;
    try {
      res = await dispatch(req, path, search, entry, started);
    } catch (err) {
      if (!(err instanceof ProxyError)) {
        console.error(`modelpin: internal error on ${req.method} ${path}: ${maskKeys(String(err), secrets)}`);
      }
      res = errorResponse(err);
    }
    entry.status = res.status;
    if (!entry.stream && log) {
      entry.ms = performance.now() - started;
      log(formatLogLine(entry));
    }
    return res;
  }

  function dispatch(
    req: Request,
    path: string,
    search: string,
    entry: LogEntry,
    started: number,
  ): Promise<Response> | Response {
    if (path === "/health") {
      if (req.method !== "GET" && req.method !== "HEAD") throw methodNotAllowed("GET");
      return health();
    }
    if (config.proxyApiKeys.length > 0 && !clientKeyAccepted(req.headers, config.proxyApiKeys)) {
      throw new ProxyError(
        401,
        "authentication_error",
        "invalid_api_key",
        "missing or wrong proxy key: send one of PROXY_API_KEYS as 'Authorization: Bearer <key>'",
      );
    }
    if (path === "/v1/models") {
      if (req.method !== "GET" && req.method !== "HEAD") throw methodNotAllowed("GET");
      return new Response(modelList, { headers: { "content-type": "application/json" } });
    }
    if (path === "/v1/models/fast" || path === "/v1/models/smart") {
      if (req.method !== "GET" && req.method !== "HEAD") throw methodNotAllowed("GET");
      return json({ id: path.slice(11), object: "model", created: 0, owned_by: "modelpin" });
    }
    if (path.startsWith("/v1/") || path === "/v1") {
      // Dot segments, backslashes (URL parsers read them as "/") and encoded separators could
      // climb out of the backend's base path, carrying the key with them.
      if (/\/\.\.?([/\\]|$)|\\|%2e|%2f|%5c/i.test(path)) {
        throw new ProxyError(
          400,
          "invalid_request_error",
          "invalid_path",
          "path must not contain '.' or '..' segments, backslashes or encoded slashes",
        );
      }
      return forward(req, path, search, entry, started);
    }
    throw new ProxyError(
      404,
      "not_found_error",
      "not_found",
      `no route for ${req.method} ${path}: modelpin serves /v1/... (OpenAI API) and /health`,
    );
  }

  async function forward(
    req: Request,
    path: string,
    search: string,
    entry: LogEntry,
    started: number,
  ): Promise<Response> {
    const isChat = path === "/v1/chat/completions" || path === "/v1/chat/completions/";
    if (isChat && req.method !== "POST") throw methodNotAllowed("POST");
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const raw = hasBody ? await readClientBody(req) : null;
    const contentType = req.headers.get("content-type");
    let body: JsonBody | undefined;
    // An empty body is refused on chat only: bodiless POSTs and DELETEs elsewhere may carry a JSON label.
    if (isChat || (raw !== null && raw.length > 0 && contentType !== null && contentType.includes("json"))) {
      body = parseJsonObject(raw ?? EMPTY);
    } else if (raw !== null && looksLikeJson(raw, contentType)) {
      // `curl -d '{...}'` labels JSON as a form: force its model too, but forward it as it is if it is not JSON.
      try {
        body = parseJsonObject(raw);
      } catch { /* not JSON after all */ }
    }
    const requested = body?.value.model;
    entry.requested = requested;
    const wantStream = body?.value.stream === true;
    const force = body !== undefined && (isChat || "model" in body.value);
    const primaryName = isChat ? pickRoute(requested) : "fast";

    const headers = upstreamHeaders(req.headers);
    if (force && contentType === null) headers.set("content-type", "application/json");
    const bodyFor = (r: Route): BodyInit | null => force ? rewriteModel(body!.text, r.config.model) : raw;

    let primary = routes[primaryName];
    let secondary: Route | undefined = config.fallback ? routes[otherRoute(primaryName)] : undefined;
    let fallbackReason: string | undefined;
    if (secondary && primary.breaker.admit() === "cooling") {
      if (secondary.breaker.admit() !== "cooling") {
        // Skip a cooling route entirely rather than wait on a backend known to be down.
        fallbackReason = `${primary.config.name}_cooling`;
        [primary, secondary] = [secondary, undefined];
      } else {
        secondary = undefined; // both cooling: the primary is tried anyway.
      }
    }

    const attemptOn = async (route: Route): Promise<Attempt> => {
      let attempt: Attempt;
      try {
        if (stopped) throw shuttingDown();
        setUpstreamKey(headers, route.config.apiKey);
        attempt = await attemptUpstream(
          {
            url: route.target ? stitchUrl(route.target, path, search) : `http://demo${path}`,
            method: req.method,
            headers,
            body: bodyFor(route),
            wantStream,
          },
          {
            fetch: wantStream ? route.streamFetch : route.fetch,
            timeoutMs: config.timeoutMs,
            clientSignal: req.signal,
            client: options.client,
            inflight,
          },
        );
      } catch (err) {
        route.breaker.release(); // no verdict: never leave the route's probe slot claimed
        throw err;
      }
      // With a single route (no fallback) there is nothing to route around, so no breaker state.
      if (config.fallback) recordVerdict(route.breaker, attempt);
      return attempt;
    };

    let first: Attempt | undefined;
    let firstRoute = primary;
    let current: Route | undefined = primary;
    for (let attempts = 1; current; attempts++) {
      const attempt = await attemptOn(current);
      const outcome = attempt.outcome;
      const failure = routeFailure(outcome);

      entry.route = current.config.name;
      entry.model = force ? current.config.model : "-";
      if (outcome.kind === "client_gone") {
        entry.fallback = fallbackReason;
        entry.end = "client_gone";
        throw new ProxyError(499, "invalid_request_error", "client_gone", "the client disconnected");
      }
      if (stopped && outcome.kind !== "response") throw shuttingDown();
      if (failure === undefined && outcome.kind !== "redirect") {
        entry.fallback = fallbackReason;
        return respond(attempt, path, entry, started);
      }
      // A failed attempt holds no open upstream body (see Attempt), so nothing needs releasing.
      if (first === undefined) {
        first = attempt;
        firstRoute = current;
      }
      if (!secondary || !shouldFallback(outcome, config.fallback, attempts)) break;
      if (secondary.breaker.admit() === "cooling") break;
      fallbackReason = failure;
      current = secondary;
      secondary = undefined;
    }
    entry.route = firstRoute.config.name;
    entry.model = force ? firstRoute.config.model : "-";
    entry.fallback = fallbackReason ? `${fallbackReason}_failed_too` : undefined;
    return failureResponse(first!, firstRoute);
  }

  /** Tells the route's breaker how an attempt went. */
  function recordVerdict(breaker: Breaker, attempt: Attempt): void {
    const outcome = attempt.outcome;
    if (outcome.kind === "client_gone" || outcome.kind === "redirect") {
      breaker.release(); // says nothing about the route's health
    } else if (routeFailure(outcome) === undefined) {
      breaker.success();
    } else {
      const is429 = outcome.kind === "response" && outcome.status === 429;
      breaker.failure(is429 ? retryAfterMs(attempt.response!.headers) : undefined);
    }
  }

  /** The request body, within PROXY_MAX_BODY_MB; a client that leaves mid-upload is `client_gone`. */
  async function readClientBody(req: Request): Promise<Uint8Array<ArrayBuffer>> {
    try {
      return await readBody(req, config.maxBodyBytes);
    } catch (err) {
      if (err instanceof ProxyError || !req.signal.aborted) throw err;
      throw new ProxyError(499, "invalid_request_error", "client_gone", "the client disconnected");
    }
  }

  function shuttingDown(): ProxyError {
    return new ProxyError(503, "server_error", "proxy_shutdown", "modelpin is shutting down; retry shortly", {
      "retry-after": "1",
    });
  }

  function respond(attempt: Attempt, path: string, entry: LogEntry, started: number): Response {
    const upstream = attempt.response!;
    if (attempt.reader) {
      entry.stream = true;
      const headers = downstreamHeaders(upstream.headers, false, secrets);
      for (const [k, v] of STREAM_HEADERS) headers.set(k, v);
      const relay: StreamRelay = new StreamRelay({
        prefetched: attempt.prefetched!,
        reader: attempt.reader,
        abortUpstream: attempt.abort,
        expectDone: path.endsWith("/completions"),
        masker: keysInStreams.length > 0 ? new StreamKeyMasker(keysInStreams) : undefined,
        onEnd: (end) => {
          relays.delete(relay);
          if (log) {
            entry.end = end;
            entry.ms = performance.now() - started;
            log(formatLogLine(entry));
          }
        },
      });
      relays.add(relay);
      return new Response(relay.stream, { status: upstream.status, headers });
    }
    if (NULL_BODY_STATUS.has(upstream.status)) {
      return new Response(null, {
        status: upstream.status,
        headers: downstreamHeaders(upstream.headers, false, secrets),
      });
    }
    if (attempt.body) {
      const body = upstream.status >= 400 ? maskKeysInBytes(attempt.body, secrets) : attempt.body;
      return new Response(body, {
        status: upstream.status,
        headers: downstreamHeaders(upstream.headers, false, secrets),
      });
    }
    return new Response(upstream.body, {
      status: upstream.status,
      headers: downstreamHeaders(upstream.headers, true, secrets),
    });
  }

  function failureResponse(attempt: Attempt, route: Route): Response {
    const outcome = attempt.outcome;
    const name = route.config.name.toUpperCase();
    switch (outcome.kind) {
      case "timeout":
        throw new ProxyError(
          504,
          "timeout_error",
          "upstream_timeout",
          `backend ${route.host} did not answer within PROXY_TIMEOUT (${config.timeoutMs / 1000} s)`,
        );
      case "connect_error":
        throw new ProxyError(
          502,
          "upstream_error",
          "upstream_unreachable",
          `could not connect to backend ${route.host}`,
        );
      case "bad_stream":
        throw new ProxyError(
          502,
          "upstream_error",
          "upstream_bad_stream",
          `backend ${route.host} failed the stream: ${maskKeys(attempt.streamError ?? "error event", secrets)}`,
        );
      case "redirect":
        throw new ProxyError(
          502,
          "upstream_error",
          "upstream_redirect",
          `backend ${route.host} answered with redirect ${outcome.status}; modelpin never follows redirects (so the key stays on that host): check ${name}_BASE_URL`,
        );
      default: {
        const upstream = attempt.response!;
        const headers = downstreamHeaders(upstream.headers, false, secrets);
        if (upstream.status === 429) saneRetryAfter(headers);
        return new Response(maskKeysInBytes(attempt.body ?? EMPTY, secrets), { status: upstream.status, headers });
      }
    }
  }

  function saneRetryAfter(headers: Headers): void {
    // The client gets one well-formed Retry-After, in seconds, capped like the breaker's cooldown.
    const routeDelays = [routes.fast.breaker.snapshot(), routes.smart.breaker.snapshot()]
      .filter((s) => s.until !== undefined)
      .map((s) => Date.parse(s.until!) - Date.now());
    const own = retryAfterMs(headers);
    const candidates = own !== undefined ? [own] : routeDelays;
    const ms = candidates.length > 0 ? Math.min(...candidates) : config.breakerCooldownMs;
    headers.delete("retry-after-ms");
    headers.set("retry-after", String(Math.min(300, Math.max(1, Math.ceil(ms / 1000)))));
  }

  return {
    handler,
    relays,
    breakers: { fast: routes.fast.breaker, smart: routes.smart.breaker },
    abortAll: () => {
      stopped = true;
      for (const abort of inflight) abort();
    },
  };
}
