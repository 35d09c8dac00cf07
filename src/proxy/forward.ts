/**
 * The forward pipeline, whatever API a request came in by, read top to
 * bottom: plan the routes; for each route, make the attempt, let the judge's
 * verdict tell the breaker and the instruments, and either answer or fall
 * back; when every route failed, the first failure is the client's error.
 *
 * @module
 */

import type { RouteConfig, RouteName } from "../config/config.ts";
import { ProxyError } from "../errors/errors.ts";
import { describeFailure } from "../ops/failure_text.ts";
import type { Judged } from "../upstream/answer.ts";
import { attemptUpstream, type HeadWatch } from "../upstream/attempt.ts";
import { type Failure, type FailureLabel, failureLabel, failureReason, isRouteFailure } from "../upstream/failure.ts";
import { setUpstreamKey } from "../upstream/headers.ts";
import { checkedUpstreamUrl } from "../upstream/upstream_url.ts";
import type { RouteRequest } from "./dialect.ts";
import type { Reply } from "./endpoint.ts";
import { failureError } from "./failure_error.ts";
import { headWatch } from "./liveness.ts";
import { pause, retryWait } from "./retry.ts";
import { respond } from "./respond.ts";
import { fallbackTo, otherRoute, type RoutePlan, startPlan } from "./routing.ts";
import type { ProxyState, RequestContext, Route } from "./state.ts";

/** A request ready to go upstream, as a front door prepared it. */
export interface UpstreamPlan {
  /** The route its model name picks. */
  primary: RouteName;
  /** The HTTP method. */
  method: string;
  /** The raw query (with `?`, or ""). */
  search: string;
  /** Hygienic headers; the route's key is set per attempt. */
  headers: Headers;
  /**
   * What goes to a route (its model forced), and how its answer comes back.
   * May be async (a door that first asks how to reach the route); may throw a
   * ProxyError (a request this route cannot take).
   */
  route: (route: RouteConfig) => RouteRequest | Promise<RouteRequest>;
  /** True when the client asked for an SSE stream. */
  wantStream: boolean;
  /** True when the model was forced (the log names the route's model). */
  forced: boolean;
}

/** Sends `plan` upstream with fallback and returns the client's response; a failure is thrown as a ProxyError. */
export async function forward(state: ProxyState, ctx: RequestContext, plan: UpstreamPlan): Promise<Reply> {
  const routes = planRoutes(state, plan.primary);
  // Why the route that answers is not the primary: its log reason and its metric label.
  let why: { reason: string; label: FailureLabel | "cooling" } | undefined = routes.skipped
    ? { reason: routes.skipped, label: "cooling" }
    : undefined;
  let first: { failure: Failure; route: Route } | undefined;
  let name: RouteName | undefined = routes.first;
  for (let attempts = 1; name !== undefined; attempts++) {
    const route = state.routes[name];
    // A stream whose backend accepts and never answers can still fall back in seconds: it is watched.
    const watch = plan.wantStream && attempts === 1 && routes.then !== undefined
      ? headWatch(route, state.config.headTimeoutMs)
      : undefined;
    const { request, judged } = await tryRoute(state, ctx, plan, route, watch);
    if (judged.answer) {
      ctx.record.fallback = why?.reason;
      if (why) state.telemetry.fallback(otherRoute(name), name, why.label);
      return respond(state, route, request, judged.answer);
    }
    const failure = judged.failure;
    if (failure.kind === "client_gone") {
      ctx.record.fallback = why?.reason;
      throw ProxyError.clientGone();
    }
    if (state.stopped) throw ProxyError.shuttingDown();
    first ??= { failure, route };
    name = nextRoute(state, routes, failure, attempts);
    if (name !== undefined) why = { reason: failureReason(failure), label: failureLabel(failure) };
  }
  ctx.record.route = first!.route.config.name;
  ctx.record.model = plan.forced ? first!.route.config.model : "-";
  ctx.record.fallback = why ? `${why.reason}_failed_too` : undefined;
  throw failureError(state, first!.route, first!.failure);
}

/** Which routes to try: the breakers are asked here, the decision is the pure `startPlan`. */
function planRoutes(state: ProxyState, primary: RouteName): RoutePlan {
  const { fallback } = state.config;
  const primaryAdmission = fallback ? state.routes[primary].breaker.admit() : "use";
  const otherAdmission = fallback && primaryAdmission === "cooling"
    ? state.routes[otherRoute(primary)].breaker.admit()
    : undefined;
  return startPlan(primary, fallback, primaryAdmission, otherAdmission);
}

/** The route to fall back to after a failed attempt, if the plan has one and its breaker admits it. */
function nextRoute(state: ProxyState, plan: RoutePlan, failure: Failure, attempts: number): RouteName | undefined {
  const next = fallbackTo(plan, failure, attempts);
  if (next === undefined || state.routes[next].breaker.admit() === "cooling") return undefined;
  return next;
}

/**
 * An attempt on `route`, and up to PROXY_RETRIES more on the same route after
 * a transient failure, so a blip does not change the model the user chose:
 * a 5xx or a reset while the route's breaker stays closed, or a 429 asking
 * for at most {@linkcode MAX_RETRY_WAIT_MS} (waited first). Never a timeout.
 * The retries share the first try's PROXY_TIMEOUT budget.
 */
async function tryRoute(
  state: ProxyState,
  ctx: RequestContext,
  plan: UpstreamPlan,
  route: Route,
  watch: HeadWatch | undefined,
): Promise<{ request: RouteRequest; judged: Judged }> {
  const started = performance.now();
  const budget = state.config.timeoutMs > 0 ? started + state.config.timeoutMs : undefined;
  for (let retries = 0;; retries++) {
    let request: RouteRequest;
    try {
      request = await plan.route(route.config);
    } catch (err) {
      route.breaker.release(); // no attempt, no verdict: never leave the route's probe slot claimed
      throw err;
    }
    const attemptStarted = performance.now();
    const judged = await attemptOn(state, ctx, route, {
      plan,
      request,
      deadline: retries > 0 ? budget : undefined,
      watch,
    });
    tellBreaker(state, route, judged);
    noteAttempt(state, ctx, plan, route, judged, attemptStarted);
    const failure = judged.failure;
    if (failure === undefined || retries >= state.config.retries || state.stopped) return { request, judged };
    const wait = retryWait(route, failure);
    if (wait === undefined || (budget !== undefined && performance.now() + wait >= budget)) return { request, judged };
    state.telemetry.retry(route.config.name, failureLabel(failure));
    if (!await pause(wait, ctx.req.signal)) return { request, judged: { failure: { kind: "client_gone" } } };
  }
}

/** What one attempt sends, and the limits it keeps. */
interface AttemptPlan {
  plan: UpstreamPlan;
  request: RouteRequest;
  /** A retry's remaining budget. */
  deadline: number | undefined;
  /** The late-head watch of a stream that can fall back. */
  watch: HeadWatch | undefined;
}

/** One attempt on `route`; an attempt that could not be made releases the route's probe slot. */
async function attemptOn(state: ProxyState, ctx: RequestContext, route: Route, a: AttemptPlan): Promise<Judged> {
  const { plan, request } = a;
  try {
    if (state.stopped) throw ProxyError.shuttingDown();
    setUpstreamKey(plan.headers, route.config.apiKey);
    const url = route.target
      ? checkedUpstreamUrl(route.target, request.path, plan.search)
      : `http://demo${request.path}`;
    return await attemptUpstream(
      {
        url,
        method: plan.method,
        headers: plan.headers,
        body: request.body,
        expect: { stream: plan.wantStream, whole: request.json !== undefined, grammar: request.grammar },
      },
      {
        fetch: route.transport,
        clientSignal: ctx.req.signal,
        inflight: state.inflight,
        deadline: a.deadline,
        headWatch: a.watch,
      },
    );
  } catch (err) {
    route.breaker.release(); // no verdict: never leave the route's probe slot claimed
    throw err;
  }
}

/** Tells the route's breaker how the attempt went (with a single route there is no breaker state). */
function tellBreaker(state: ProxyState, route: Route, judged: Judged): void {
  if (!state.config.fallback) return;
  const failure = judged.failure;
  if (failure === undefined) route.breaker.success();
  else if (!isRouteFailure(failure)) route.breaker.release(); // says nothing about the route's health
  else route.breaker.failure(failure.kind === "status" && failure.code === 429 ? failure.retryAfterMs : undefined);
}

/** The log record and the instruments learn where the request went and how the attempt went. */
function noteAttempt(
  state: ProxyState,
  ctx: RequestContext,
  plan: UpstreamPlan,
  route: Route,
  judged: Judged,
  started: number,
): void {
  const name = route.config.name;
  ctx.record.route = name;
  ctx.record.model = plan.forced ? route.config.model : "-";
  const failure = judged.failure;
  if (failure === undefined || failure.kind === "status") {
    // The time to first token: until the first SSE event with content, or the whole JSON answer.
    state.telemetry.firstByte(name, (performance.now() - started) / 1000);
  }
  if (failure !== undefined && isRouteFailure(failure)) {
    state.telemetry.attemptFailed(name, failureLabel(failure), describeFailure(failure, state.masker));
  }
}
