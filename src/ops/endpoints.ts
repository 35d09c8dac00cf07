/**
 * The operations endpoints: `GET /metrics` (Prometheus), `GET /status.json`
 * (the page's data), and `/` (the status page for browsers, a small JSON
 * answer for everyone else, 200 for HEAD). `/metrics` and `/status.json`
 * require a proxy key when PROXY_API_KEYS is set; `/` carries no data.
 *
 * @module
 */

import { ProxyError } from "../errors/errors.ts";
import { VERSION } from "../version.ts";
import { EXPOSITION_CONTENT_TYPE } from "./metrics.ts";
import { type Status } from "./status.ts";
import { STATUS_JSON_PATH, STATUS_PAGE_CSP, STATUS_PAGE_HTML } from "./status_page.ts";
import type { Telemetry } from "./telemetry.ts";

/** What the endpoints need. */
export interface OpsEndpointOptions {
  /** The instruments. */
  telemetry: Telemetry;
  /** Builds the status document. */
  status: () => Status;
  /** Whether the request carries an accepted proxy key (always true without PROXY_API_KEYS). */
  authorized: (req: Request) => boolean;
}

const NO_STORE = "no-store";

/** Whether `path` is an operations endpoint (not counted as a request in the metrics or the recent list). */
export function isOpsPath(path: string): boolean {
  return path === "/" || path === "/metrics" || path === STATUS_JSON_PATH || path === "/health";
}

/** Whether an Accept header names text/html (as browsers send), not merely `*` wildcards. */
export function wantsHtml(accept: string | null): boolean {
  return accept !== null && /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept);
}

/**
 * Answers `path` if it is an operations endpoint, or returns undefined so the
 * handler routes the request as before. Errors are thrown as ProxyError.
 */
export function opsEndpoints(options: OpsEndpointOptions): (req: Request, path: string) => Response | undefined {
  const { telemetry } = options;
  const index = JSON.stringify({
    object: "modelpin",
    version: VERSION,
    endpoints: { api: "/v1", health: "/health", metrics: "/metrics", status: STATUS_JSON_PATH },
  });
  return (req, path) => {
    if (path !== "/" && path !== "/metrics" && path !== STATUS_JSON_PATH) return undefined;
    if (req.method !== "GET" && req.method !== "HEAD") throw ProxyError.methodNotAllowed("GET, HEAD");
    if (path === "/") {
      // Agent CLIs probe with HEAD; browsers get the page, everyone else a short JSON answer. Neither holds data.
      if (wantsHtml(req.headers.get("accept"))) {
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
      return new Response(index, { headers: { "content-type": "application/json", "cache-control": NO_STORE } });
    }
    if (!options.authorized(req)) throw ProxyError.unauthorized();
    if (path === "/metrics") {
      return new Response(telemetry.registry.render(), {
        headers: { "content-type": EXPOSITION_CONTENT_TYPE, "cache-control": NO_STORE },
      });
    }
    return new Response(JSON.stringify(options.status()), {
      headers: { "content-type": "application/json", "cache-control": NO_STORE },
    });
  };
}
