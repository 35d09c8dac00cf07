/**
 * The endpoint table: every path modelpin answers, its methods, whether it
 * needs a proxy key, and the function that answers it. A new front door or
 * endpoint is one line here and one file; server.ts hands the table to the handler.
 *
 * @module
 */

import { anthropicError, countTokens, messages } from "./anthropic/front_door.ts";
import { health, modelInfo, modelList } from "./proxy/local_endpoints.ts";
import { chatCompletions, otherApi } from "./proxy/openai_api.ts";
import type { Endpoint } from "./proxy/endpoint.ts";
import type { ProxyState, RequestContext } from "./proxy/state.ts";

const READ = ["GET", "HEAD"] as const;
/** The methods the OpenAI API uses; anything else (TRACE, PUT, ...) never goes upstream. */
const FORWARDED = ["GET", "POST", "DELETE", "HEAD"] as const;

const is = (...paths: string[]) => (path: string) => paths.includes(path);
const ops = (state: ProxyState, ctx: RequestContext) => state.ops(ctx.req, ctx.path)!;

/** Every endpoint, first match wins. */
export const ENDPOINTS: readonly Endpoint[] = [
  { matches: is("/health"), methods: READ, auth: false, handle: health },
  // The operations endpoints check the proxy key themselves: `/` holds no data, the others do.
  { matches: is("/", "/metrics", "/status.json"), methods: READ, auth: false, handle: ops },
  { matches: is("/v1/models"), methods: READ, auth: true, handle: modelList },
  { matches: is("/v1/models/fast", "/v1/models/smart"), methods: READ, auth: true, handle: modelInfo },
  {
    matches: is("/v1/chat/completions", "/v1/chat/completions/"),
    methods: ["POST"],
    auth: true,
    handle: chatCompletions,
  },
  { matches: is("/v1/messages"), methods: ["POST"], auth: true, handle: messages, shapeError: anthropicError },
  {
    matches: is("/v1/messages/count_tokens"),
    methods: ["POST"],
    auth: true,
    handle: countTokens,
    shapeError: anthropicError,
  },
  { matches: (p) => p === "/v1" || p.startsWith("/v1/"), methods: FORWARDED, auth: true, handle: otherApi },
];
