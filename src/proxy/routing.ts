/**
 * Routing, in one pure module: which route a model name picks, where a
 * request starts given the breakers, and where a failed attempt falls back
 * to. The caller asks the breakers and makes the attempts; everything here
 * is table-tested.
 *
 * @module
 */

import type { RouteName } from "../config/config.ts";
import { type Failure, isRouteFailure } from "../upstream/failure.ts";
import type { Admission } from "./breaker.ts";

/**
 * The OpenAI-side rule (chat completions, Responses): `"smart"` (any case)
 * picks smart; every other model name, or none, picks fast, so clients
 * hard-coded to `gpt-4` land on fast.
 */
export function pickRoute(model: unknown): RouteName {
  return typeof model === "string" && model.length === 5 && model.toLowerCase() === "smart" ? "smart" : "fast";
}

/**
 * The Anthropic-side rule: `fast` and `smart` as above; any other name goes
 * to fast when it contains one of `fastPatterns` (lower-case substrings,
 * ANTHROPIC_FAST_MODELS, default `haiku`: Claude Code's small background
 * model) and to smart otherwise (Sonnet, Opus, anything new).
 */
export function pickClaudeRoute(model: unknown, fastPatterns: readonly string[]): RouteName {
  if (typeof model !== "string") return "smart";
  const name = model.toLowerCase();
  if (name === "fast" || name === "smart") return name;
  return fastPatterns.some((p) => name.includes(p)) ? "fast" : "smart";
}

/** The other route, for fallback. */
export function otherRoute(route: RouteName): RouteName {
  return route === "fast" ? "smart" : "fast";
}

/** The routes a request tries, in order, and why the first is not its primary. */
export interface RoutePlan {
  /** The route tried first. */
  first: RouteName;
  /** The route a route failure of the first attempt falls back to, if any. */
  then: RouteName | undefined;
  /** Set when the primary was skipped because it is cooling (`fast_cooling`). */
  skipped: string | undefined;
}

/**
 * Where a request starts. `primaryAdmission` is the primary's breaker answer
 * (ask it only with fallback on); `otherAdmission` the other route's, asked
 * only when the primary is cooling, since asking may claim a probe.
 */
export function startPlan(
  primary: RouteName,
  fallback: boolean,
  primaryAdmission: Admission,
  otherAdmission?: Admission,
): RoutePlan {
  const other = otherRoute(primary);
  // One route, or two that are the same: nothing to route around.
  if (!fallback) return { first: primary, then: undefined, skipped: undefined };
  if (primaryAdmission !== "cooling") return { first: primary, then: other, skipped: undefined };
  // Skip a cooling route entirely rather than wait on a backend known to be down.
  if (otherAdmission !== "cooling") return { first: other, then: undefined, skipped: `${primary}_cooling` };
  // Both cooling: the primary is tried anyway, once.
  return { first: primary, then: undefined, skipped: undefined };
}

/**
 * The route to fall back to after the first attempt failed with `failure`,
 * or `undefined`: only once, only for route failures, only to a route the
 * plan has. The caller still asks that route's breaker.
 */
export function fallbackTo(plan: RoutePlan, failure: Failure, attemptsMade: number): RouteName | undefined {
  return plan.then !== undefined && attemptsMade === 1 && isRouteFailure(failure) ? plan.then : undefined;
}
