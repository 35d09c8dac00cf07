/**
 * Routing: which route a requested model name selects.
 *
 * @module
 */

import type { RouteName } from "../config/config.ts";

/**
 * `"smart"` (any case) picks the smart route; every other model name, or
 * none, picks fast, so clients hard-coded to `gpt-4` land on fast.
 */
export function pickRoute(model: unknown): RouteName {
  return typeof model === "string" && model.length === 5 && model.toLowerCase() === "smart" ? "smart" : "fast";
}

/** The other route, for fallback. */
export function otherRoute(route: RouteName): RouteName {
  return route === "fast" ? "smart" : "fast";
}
