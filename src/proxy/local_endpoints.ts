/**
 * What the proxy answers itself, without a backend: `/health` and the model
 * list (`fast` and `smart`, so model pickers work).
 *
 * @module
 */

import { VERSION } from "../version.ts";
import type { BreakerState } from "./breaker.ts";
import type { ProxyState, RequestContext, Route } from "./state.ts";

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
}

/** `GET /health`: each route's host, model and breaker state; never a key. */
export function health(state: ProxyState): Response {
  const { config, routes } = state;
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
    open_streams: state.relays.size,
  });
}

const MODEL_IDS = ["fast", "smart"] as const;
const MODEL_LIST = JSON.stringify({
  object: "list",
  data: MODEL_IDS.map((id) => ({ id, object: "model", created: 0, owned_by: "modelpin" })),
});

/** `GET /v1/models`: `fast` and `smart` in OpenAI's list format. */
export function modelList(): Response {
  return new Response(MODEL_LIST, { headers: { "content-type": "application/json" } });
}

/** `GET /v1/models/fast` (or smart). */
export function modelInfo(_state: ProxyState, ctx: RequestContext): Response {
  return json({ id: ctx.path.slice("/v1/models/".length), object: "model", created: 0, owned_by: "modelpin" });
}
