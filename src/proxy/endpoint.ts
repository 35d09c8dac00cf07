/**
 * What an endpoint is, for the handler: the table itself is composed in
 * src/endpoints.ts, above every front door.
 *
 * @module
 */

import type { ProxyState, RequestContext } from "./state.ts";

/** One endpoint. */
export interface Endpoint {
  /** Whether it serves `path`. */
  matches: (path: string) => boolean;
  /** The methods it serves; others get a 405 naming these. */
  methods: readonly string[];
  /** Whether a proxy key is required (when PROXY_API_KEYS is set). */
  auth: boolean;
  /** Answers the request; errors are thrown as ProxyError. */
  handle: (state: ProxyState, ctx: RequestContext) => Response | Promise<Response>;
  /** Re-shapes an error answer for this API's clients (Anthropic's error shape); OpenAI's by default. */
  shapeError?: (res: Response) => Promise<Response>;
}
