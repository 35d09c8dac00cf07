/**
 * The fallback policy in one pure function pair: which route a request tries
 * first, and where a failed attempt falls back to. Table-tested like
 * `routeFailure`; the caller asks the breakers and performs the attempts.
 *
 * @module
 */

import type { RouteName } from "../config/config.ts";
import type { Admission } from "./breaker.ts";
import { type Outcome, shouldFallback } from "./fallback.ts";
import { otherRoute } from "./route_choice.ts";

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
 * The route to fall back to after attempt number `attemptsMade` ended with
 * `outcome`, or `undefined`: only once, only for route failures, only to a
 * route the plan has. The caller still asks that route's breaker.
 */
export function fallbackTo(plan: RoutePlan, outcome: Outcome, attemptsMade: number): RouteName | undefined {
  return plan.then !== undefined && shouldFallback(outcome, true, attemptsMade) ? plan.then : undefined;
}
