/**
 * The forward pipeline, whatever API a request came in by: plan the routes,
 * try the first, fall back once on a route failure, and answer with the
 * success or the first failure. Each step is a named function.
 *
 * @module
 */

import type { RouteConfig, RouteName } from "../config/config.ts";
import { describeFailure } from "../ops/telemetry.ts";
import { maskKeys } from "../security/secrets.ts";
import { type Attempt, attemptUpstream } from "../upstream/attempt.ts";
import { setUpstreamKey } from "../upstream/headers.ts";
import { checkedUpstreamUrl } from "../upstream/upstream_url.ts";
import { ProxyError } from "../errors/errors.ts";
import { routeFailure } from "./fallback.ts";
import { fallbackTo, type RoutePlan, startPlan } from "./fallback_plan.ts";
import { retryAfterMs } from "./retry_after.ts";
import { otherRoute } from "./route_choice.ts";
import { type AnswerShape, failureResponse, respond } from "./respond.ts";
import type { ProxyState, RequestContext, Route } from "./state.ts";

/** A request ready to go upstream, as a front door prepared it. */
export interface UpstreamPlan {
  /** The route its model name picks. */
  primary: RouteName;
  /** The client-style `/v1/...` path to stitch onto the route's base URL. */
  path: string;
  /** The raw query (with `?`, or ""). */
  search: string;
  /** The HTTP method. */
  method: string;
  /** Hygienic headers; the route's key is set per attempt. */
  headers: Headers;
  /** The body for a route (its model forced). */
  body: (route: RouteConfig) => BodyInit | null;
  /** True when the client asked for an SSE stream. */
  wantStream: boolean;
  /** True when the model was forced (the log names the route's model). */
  forced: boolean;
  /** Whether a well-formed stream ends with `data: [DONE]`. */
  expectDone: boolean;
  /** How successful answers are shaped for the client. */
  shape?: AnswerShape;
}

/** Sends `plan` upstream with fallback and returns the client's response. */
export async function forward(state: ProxyState, ctx: RequestContext, plan: UpstreamPlan): Promise<Response> {
  const routes = planRoutes(state, plan.primary);
  let reason = routes.skipped;
  let first: { attempt: Attempt; route: Route } | undefined;
  let name: RouteName | undefined = routes.first;
  for (let attempts = 1; name !== undefined; attempts++) {
    const route = state.routes[name];
    const attemptStarted = performance.now();
    const attempt = await attemptOn(state, ctx, plan, route);
    const failure = routeFailure(attempt.outcome);
    // With a single route (no fallback) there is nothing to route around, so no breaker state.
    if (state.config.fallback) recordVerdict(route, attempt, failure);
    noteAttempt(state, ctx, plan, route, attempt, failure, attemptStarted);
    if (attempt.outcome.kind === "client_gone") {
      ctx.entry.fallback = reason;
      ctx.entry.end = "client_gone";
      throw ProxyError.clientGone();
    }
    if (state.stopped && attempt.outcome.kind !== "response") throw ProxyError.shuttingDown();
    if (failure === undefined && attempt.kind !== "failed") {
      ctx.entry.fallback = reason;
      if (reason) state.telemetry.fallback(otherRoute(name), name, reason);
      return respond(state, ctx, attempt, route, plan.shape, plan.expectDone);
    }
    // A failed attempt holds no open upstream body (see Attempt), so nothing needs releasing.
    first ??= { attempt, route };
    name = nextRoute(state, routes, attempt, attempts);
    if (name !== undefined) reason = failure;
  }
  ctx.entry.route = first!.route.config.name;
  ctx.entry.model = plan.forced ? first!.route.config.model : "-";
  ctx.entry.fallback = reason ? `${reason}_failed_too` : undefined;
  return failureResponse(state, first!.attempt, first!.route);
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
function nextRoute(state: ProxyState, plan: RoutePlan, attempt: Attempt, attempts: number): RouteName | undefined {
  const next = fallbackTo(plan, attempt.outcome, attempts);
  if (next === undefined || state.routes[next].breaker.admit() === "cooling") return undefined;
  return next;
}

/** One attempt on `route`; an attempt that could not be made releases the route's probe slot. */
async function attemptOn(state: ProxyState, ctx: RequestContext, plan: UpstreamPlan, route: Route): Promise<Attempt> {
  try {
    if (state.stopped) throw ProxyError.shuttingDown();
    setUpstreamKey(plan.headers, route.config.apiKey);
    return await attemptUpstream(
      {
        url: route.target ? checkedUpstreamUrl(route.target, plan.path, plan.search) : `http://demo${plan.path}`,
        method: plan.method,
        headers: plan.headers,
        body: plan.body(route.config),
        wantStream: plan.wantStream,
      },
      {
        fetch: route.transport,
        clientSignal: ctx.req.signal,
        inflight: state.inflight,
      },
    );
  } catch (err) {
    route.breaker.release(); // no verdict: never leave the route's probe slot claimed
    throw err;
  }
}

/** Tells the route's breaker how an attempt went. */
function recordVerdict(route: Route, attempt: Attempt, failure: string | undefined): void {
  const outcome = attempt.outcome;
  if (outcome.kind === "client_gone" || outcome.kind === "redirect") {
    route.breaker.release(); // says nothing about the route's health
  } else if (failure === undefined) {
    route.breaker.success();
  } else {
    const is429 = outcome.kind === "response" && outcome.status === 429 && attempt.kind === "buffered";
    route.breaker.failure(is429 ? retryAfterMs(attempt.response.headers) : undefined);
  }
}

/** The log entry and the instruments learn where the request went and how the attempt went. */
function noteAttempt(
  state: ProxyState,
  ctx: RequestContext,
  plan: UpstreamPlan,
  route: Route,
  attempt: Attempt,
  failure: string | undefined,
  attemptStarted: number,
): void {
  ctx.entry.route = route.config.name;
  ctx.entry.model = plan.forced ? route.config.model : "-";
  const name = route.config.name;
  if (attempt.outcome.kind === "response") {
    // The time to first token: until the first SSE event, or the whole JSON answer (read whole).
    state.telemetry.firstByte(name, (performance.now() - attemptStarted) / 1000);
  }
  if (failure !== undefined) {
    const said = describeFailure(failure, attempt, (text) => maskKeys(text, state.secrets));
    state.telemetry.attemptFailed(name, failure, said);
  }
}
