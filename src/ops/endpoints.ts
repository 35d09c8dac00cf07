/**
 * The operations endpoints, as rows of the endpoint table: `GET /metrics`
 * (Prometheus), `GET /status.json` (the page's data) and `/` (the status
 * page for browsers, a small JSON answer for everyone else, 200 for HEAD).
 * The table says which need a proxy key (`/metrics` and `/status.json`
 * when PROXY_API_KEYS is set; `/` carries no data) and that none is counted.
 *
 * @module
 */

import { VERSION } from "../version.ts";
import { EXPOSITION_CONTENT_TYPE } from "./metrics.ts";
import { escapeControls } from "./request_log.ts";
import { type BreakerView, buildStatus } from "./status.ts";
import { STATUS_JSON_PATH, STATUS_PAGE_CSP, STATUS_PAGE_HTML } from "./status_page.ts";
import type { Telemetry } from "./telemetry.ts";

/** What the operations endpoints read of the proxy's state. */
export interface OpsSources {
  /** The instruments. */
  readonly telemetry: Telemetry;
  /** The parts of the configuration the status shows. */
  readonly config: { readonly demo: boolean; readonly fallback: boolean; readonly proxyApiKeys: readonly string[] };
  /** Each route's breaker. */
  readonly routes: Record<string, { readonly breaker: { snapshot(): BreakerView } }>;
  /** The relays open now. */
  readonly relays: { readonly size: number };
  /** Masks configured keys in text. */
  readonly masker: { text(text: string): string };
}

const NO_STORE = "no-store";

const INDEX = JSON.stringify({
  object: "modelpin",
  version: VERSION,
  endpoints: { api: "/v1", health: "/health", metrics: "/metrics", status: STATUS_JSON_PATH },
});

/** Whether an Accept header names text/html (as browsers send), not merely `*` wildcards. */
export function wantsHtml(accept: string | null): boolean {
  return accept !== null && /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept);
}

/**
 * `/`: browsers get the status page (it holds no data: it polls
 * /status.json), everyone else a short JSON index; agent CLIs probe with HEAD.
 */
export function statusPage(_state: OpsSources, ctx: { req: Request }): Response {
  if (wantsHtml(ctx.req.headers.get("accept"))) {
    return new Response(STATUS_PAGE_HTML, {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": STATUS_PAGE_CSP,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "cache-control": NO_STORE,
      },
    });
  }
  return new Response(INDEX, { headers: { "content-type": "application/json", "cache-control": NO_STORE } });
}

/** `/metrics`: Prometheus' text format. */
export function metrics(state: OpsSources): Response {
  return new Response(state.telemetry.registry.render(), {
    headers: { "content-type": EXPOSITION_CONTENT_TYPE, "cache-control": NO_STORE },
  });
}

/** `/status.json`: the status document; never a key. */
export function statusJson(state: OpsSources): Response {
  const status = buildStatus({
    telemetry: state.telemetry,
    breaker: (name) => state.routes[name].breaker.snapshot(),
    openStreams: () => state.relays.size,
    auth: state.config.proxyApiKeys.length > 0,
    demo: state.config.demo,
    fallback: state.config.fallback,
    mask: (text) => state.masker.text(text),
  });
  // Client-chosen text (a model name) may hold C1 controls a terminal would act on (`curl /status.json`).
  return new Response(escapeControls(JSON.stringify(status)), {
    headers: { "content-type": "application/json", "cache-control": NO_STORE },
  });
}
