/**
 * The two routes from their variables: FAST_* (or the old REAL_* names) is
 * the default route; each SMART_* value falls back to its FAST_ value.
 *
 * @module
 */

import { checkKey, type Problems, readBaseUrl, textOf } from "./values.ts";
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
}

/** The model name used by the built-in demo backend. */
export const DEMO_MODEL = "modelpin-demo-echo";

/** True when no route variable is set at all: the built-in demo backend serves. */
export function isDemo(source: Partial<Record<string, string>>): boolean {
  return ROUTE_VARIABLES.every((v) => textOf(source, v.name) === undefined);
}

/** The demo's two routes. */
export function demoRoutes(): { fast: RouteConfig; smart: RouteConfig } {
  return {
    fast: { name: "fast", baseUrl: null, apiKey: "", model: DEMO_MODEL },
    smart: { name: "smart", baseUrl: null, apiKey: "", model: DEMO_MODEL },
  };
}

/** Reads both routes, recording every problem. */
export function readRoutes(
  source: Partial<Record<string, string>>,
  problems: Problems,
): { fast: RouteConfig; smart: RouteConfig } {
  const get = (name: string) => textOf(source, name);
  // Each FAST_ value may come from its old REAL_ name.
  const fastName = (what: string) => get(`FAST_${what}`) !== undefined ? `FAST_${what}` : `REAL_${what}`;
  const urlVar = fastName("BASE_URL");
  const modelVar = fastName("MODEL_NAME");
  const keyVar = fastName("API_KEY");
  const urlText = get(urlVar);
  const model = get(modelVar);
  const key = get(keyVar) ?? "";
  if (urlText === undefined) {
    problems.push({
      variable: "FAST_BASE_URL",
      message:
        "is required: set it to your backend's OpenAI-compatible base URL, e.g. https://api.fireworks.ai/inference/v1 (the old name REAL_BASE_URL works too)",
    });
  }
  if (model === undefined) {
    problems.push({
      variable: "FAST_MODEL_NAME",
      message:
        "is required: set it to the model every request is forced onto, e.g. accounts/fireworks/models/deepseek-v4-pro (the old name REAL_MODEL_NAME works too)",
    });
  }
  const fastUrl = urlText === undefined ? null : readBaseUrl(urlVar, urlText, problems);
  const smartUrlText = get("SMART_BASE_URL");
  const smartUrl = smartUrlText === undefined ? fastUrl : readBaseUrl("SMART_BASE_URL", smartUrlText, problems);
  for (const name of [keyVar, "SMART_API_KEY"]) checkKey(name, get(name), problems);
  const fast: RouteConfig = { name: "fast", baseUrl: fastUrl, apiKey: key, model: model ?? "" };
  const smart: RouteConfig = {
    name: "smart",
    baseUrl: smartUrl,
    apiKey: get("SMART_API_KEY") ?? key,
    model: get("SMART_MODEL_NAME") ?? fast.model,
  };
  return { fast, smart };
}

/** Whether two routes really differ (so one can fall back to the other). */
export function routesDiffer(a: RouteConfig, b: RouteConfig): boolean {
  // Compare where requests really go: `https://x/v1/` and `https://x/v1` are one backend.
  // (A base without a path means /v1, as in upstream_url.ts's stitching.)
  const where = (u: URL | null) => u ? `${u.origin}${u.pathname.replace(/\/+$/, "") || "/v1"}?${u.search}` : "";
  return where(a.baseUrl) !== where(b.baseUrl) || a.model !== b.model || a.apiKey !== b.apiKey;
}
