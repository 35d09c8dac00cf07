/**
 * The two routes from their variables: FAST_* (or the old REAL_* names) is
 * the default route; each SMART_* value falls back to its FAST_ value.
 *
 * @module
 */

import { checkKey, type Problems, readBaseUrl, readSetting, textOf } from "./values.ts";
import { ROUTE_VARIABLES } from "./variables.ts";

/** The two routes a request can take. */
export type RouteName = "fast" | "smart";

/** One backend: where requests go, with which key, forcing which model. */
export interface RouteConfig {
  /** "fast" or "smart". */
  name: RouteName;
  /** Backend base URL, as the OpenAI SDK's baseURL; `null` for the demo backend. */
  baseUrl: URL | null;
  /** The real key sent upstream; empty means no Authorization header. */
  apiKey: string;
  /** The model forced on every request of this route. */
  model: string;
  /**
   * How `/v1/responses` reaches this backend: `native` (it has the Responses
   * API), `translate` (only chat completions), or `auto` (ask it once).
   */
  responses: ResponsesApi;
}

/** How a route serves `/v1/responses`. */
export type ResponsesApi = "auto" | "native" | "translate";

/** The model name used by the built-in demo backend. */
export const DEMO_MODEL = "modelpin-demo-echo";

/** True when no route variable is set at all: the built-in demo backend serves. */
export function isDemo(source: Partial<Record<string, string>>): boolean {
  return ROUTE_VARIABLES.every((v) => textOf(source, v.name) === undefined);
}

/** The demo's two routes. */
export function demoRoutes(): { fast: RouteConfig; smart: RouteConfig } {
  return {
    // The demo backend answers chat completions only.
    fast: { name: "fast", baseUrl: null, apiKey: "", model: DEMO_MODEL, responses: "translate" },
    smart: { name: "smart", baseUrl: null, apiKey: "", model: DEMO_MODEL, responses: "translate" },
  };
}

/**
 * Reads both routes from the route variables of the table, recording every
 * problem: each value is its variable's, or (when unset) that of the
 * variable it falls back to, followed as far as it goes (SMART_ to FAST_ to REAL_).
 */
export function readRoutes(
  source: Partial<Record<string, string>>,
  problems: Problems,
): { fast: RouteConfig; smart: RouteConfig } {
  const byName = new Map(ROUTE_VARIABLES.map((v) => [v.name, v]));
  // The variable that really holds a value for `name`, and its text.
  const resolve = (name: string): { name: string; text: string | undefined } => {
    for (let v = byName.get(name); v !== undefined; v = v.fallsBackTo ? byName.get(v.fallsBackTo) : undefined) {
      const text = textOf(source, v.name);
      if (text !== undefined) return { name: v.name, text };
    }
    return { name, text: undefined };
  };
  const routes = {
    fast: { name: "fast", baseUrl: null, apiKey: "", model: "", responses: "auto" } as RouteConfig,
    smart: { name: "smart", baseUrl: null, apiKey: "", model: "", responses: "auto" } as RouteConfig,
  };
  const urls = new Map<string, URL | null>(); // each URL variable is read (and reported) once
  const checked = new Set<string>(); // keys and choices read (and reported) once
  for (const v of ROUTE_VARIABLES) {
    if (v.route === undefined) continue; // an old name: read through the variable that falls back to it
    const { name, text } = resolve(v.name);
    if (text === undefined && v.required) problems.push({ variable: v.name, message: v.required });
    const route = routes[v.route.name];
    if (v.kind === "url") {
      if (text !== undefined && !urls.has(name)) urls.set(name, readBaseUrl(name, text, problems));
      route.baseUrl = urls.get(name) ?? null;
    } else if (v.kind === "choice") {
      const value = text === undefined
        ? undefined
        : readSetting(byName.get(name)!, text, checked.has(name) ? [] : problems);
      checked.add(name);
      route.responses = (value ?? v.default ?? "auto") as ResponsesApi;
    } else if (v.kind === "key") {
      if (!checked.has(name)) checkKey(name, text, problems);
      checked.add(name);
      route.apiKey = text ?? "";
    } else route.model = text ?? "";
  }
  return routes;
}

/** Whether two routes really differ (so one can fall back to the other). */
export function routesDiffer(a: RouteConfig, b: RouteConfig): boolean {
  // Compare where requests really go: `https://x/v1/` and `https://x/v1` are one backend.
  // (A base without a path means /v1, as in upstream_url.ts's stitching.)
  const where = (u: URL | null) => u ? `${u.origin}${u.pathname.replace(/\/+$/, "") || "/v1"}?${u.search}` : "";
  return where(a.baseUrl) !== where(b.baseUrl) || a.model !== b.model || a.apiKey !== b.apiKey;
}
