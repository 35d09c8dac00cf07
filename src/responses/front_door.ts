/**
 * The Responses API front door: `POST /v1/responses` for Codex CLI, the
 * Agents SDK, the Vercel AI SDK and `client.responses.*`. The model name
 * picks the route (`smart` the smart route, anything else fast), the route's
 * model is forced, and each route is reached its own way:
 *
 * - **native**: the backend has `/v1/responses`; the body goes byte-faithful
 *   but for `model`, and the events come back as they are;
 * - **translated**: the backend has only `/v1/chat/completions`; the request
 *   becomes a chat completion, the answer and the stream become Responses
 *   objects and events (request.ts, response.ts, stream.ts).
 *
 * `FAST_RESPONSES_API` / `SMART_RESPONSES_API` choose; `auto` (the default)
 * asks the backend once (upstream/responses_probe.ts) and remembers.
 *
 * @module
 */

import type { RouteConfig, RouteName } from "../config/config.ts";
import { boundedRequested } from "../ops/request_log.ts";
import type { RouteRequest } from "../proxy/dialect.ts";
import type { Reply } from "../proxy/endpoint.ts";
import { forward } from "../proxy/forward.ts";
import { pickRoute } from "../proxy/routing.ts";
import type { ProxyState, RequestContext } from "../proxy/state.ts";
import { rewriteModel } from "../request/model_rewrite.ts";
import { type JsonBody, parseJsonObject, readClientBody } from "../request/request_body.ts";
import { CHAT_GRAMMAR, RESPONSES_GRAMMAR } from "../stream/event_grammar.ts";
import { upstreamHeaders } from "../upstream/headers.ts";
import { probeResponsesApi } from "../upstream/responses_probe.ts";
import { checkedUpstreamUrl } from "../upstream/upstream_url.ts";
import { ItemStore } from "./item_store.ts";
import { NativeResponsesStream } from "./passthrough.ts";
import { type TranslatedResponses, translateResponsesRequest } from "./request.ts";
import { translateAnswer } from "./response.ts";
import { ResponsesStreamTranslator } from "./stream.ts";

/** How a route is reached for this API. */
export type Way = "native" | "translate";

/** What this door keeps per proxy: the ways `auto` found, and the items of translated answers. */
interface DoorState {
  ways: Map<RouteName, Promise<Way>>;
  items: ItemStore;
}

const doors = new WeakMap<ProxyState, DoorState>();

function doorOf(state: ProxyState): DoorState {
  let door = doors.get(state);
  if (door === undefined) doors.set(state, door = { ways: new Map(), items: new ItemStore() });
  return door;
}

/** How long a probe that decided nothing keeps the route translated before the backend is asked again. */
const UNDECIDED_MS = 60_000;

/**
 * The way `route` is reached: its setting, or for `auto` what the backend
 * said when first asked. A probe that decided nothing (no answer within
 * PROXY_TIMEOUT, at most five seconds) keeps the route translated, as every
 * backend has chat, for a minute before the backend is asked again: a
 * backend whose `/responses` hangs never makes every request wait.
 */
function wayOf(state: ProxyState, route: RouteConfig): Promise<Way> {
  if (route.responses !== "auto") return Promise.resolve(route.responses);
  const target = state.routes[route.name].target;
  if (target === undefined) return Promise.resolve("translate"); // the demo backend: chat only
  const door = doorOf(state);
  let way = door.ways.get(route.name);
  if (way === undefined) {
    const url = checkedUpstreamUrl(target, "/v1/responses", "");
    const transport = state.routes[route.name].transport;
    way = probeResponsesApi(transport, url, route.apiKey, state.config.timeoutMs).then((found) => {
      if (found.way === undefined) {
        const timer = setTimeout(() => door.ways.delete(route.name), UNDECIDED_MS);
        Deno.unrefTimer(timer);
      }
      return found.way ?? "translate";
    });
    door.ways.set(route.name, way);
  }
  return way;
}

/** `POST /v1/responses`: native or translated per route, fast or smart by model name. */
export async function responses(state: ProxyState, ctx: RequestContext): Promise<Reply> {
  const body = parseJsonObject(await readClientBody(ctx.req, state.config.maxBodyBytes));
  ctx.record.requested = boundedRequested(body.value.model, state.masker);
  const wantStream = body.value.stream === true;
  ctx.record.stream = wantStream;
  const headers = upstreamHeaders(ctx.req.headers);
  headers.set("content-type", "application/json");
  const door = doorOf(state);
  let translated: TranslatedResponses | undefined; // made once, for whichever route translates first
  return await forward(state, ctx, {
    primary: pickRoute(body.value.model),
    search: ctx.search,
    method: "POST",
    headers,
    route: async (route) => {
      if (await wayOf(state, route) === "native") return native(body, route);
      translated ??= translateResponsesRequest(body.value, door.items);
      return translatedRoute(translated, route, door.items);
    },
    wantStream,
    forced: true,
  });
}

/** The backend has the Responses API: the same body, its model forced, its events as they come. */
function native(body: JsonBody, route: RouteConfig): RouteRequest {
  return {
    path: "/v1/responses",
    body: rewriteModel(body.text, route.model),
    grammar: RESPONSES_GRAMMAR,
    stream: () => new NativeResponsesStream(),
  };
}

/** The backend has only chat completions: a chat request, and its answer translated back. */
function translatedRoute(t: TranslatedResponses, route: RouteConfig, items: ItemStore): RouteRequest {
  return {
    path: "/v1/chat/completions",
    body: JSON.stringify({ model: route.model, ...t.chat }),
    grammar: CHAT_GRAMMAR,
    json: (answer) => translateAnswer(answer, t, items),
    stream: () => new ResponsesStreamTranslator(t, items),
  };
}
