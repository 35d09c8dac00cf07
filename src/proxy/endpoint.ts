/**
 * What an endpoint is, for the handler: the table itself is composed in
 * src/endpoints.ts, above every front door.
 *
 * @module
 */

import type { ApiLabel } from "../ops/request_log.ts";
import type { StreamEnd } from "../stream/relay.ts";
import type { Dialect } from "./dialect.ts";
import type { ProxyState, RequestContext } from "./state.ts";

/** A response whose body is relayed: `ended` resolves once, with how the body ended. */
export interface Relayed {
  /** The client's response. */
  response: Response;
  /** How its body ended (a stream's end goes into the log). */
  ended: Promise<StreamEnd>;
}

/** What an endpoint answers with: a plain response, or a relayed one. */
export type Reply = Response | Relayed;

/** One endpoint. */
export interface Endpoint {
  /** Whether it serves `path`. */
  matches: (path: string) => boolean;
  /** The methods it serves; others get a 405 naming these. */
  methods: readonly string[];
  /** Whether a proxy key is required (when PROXY_API_KEYS is set). */
  auth: boolean;
  /** Whether its requests count in the metrics and the status page (the operations endpoints do not). */
  counted: boolean;
  /** The API its clients speak: its errors are rendered in that API's shape. */
  dialect: Dialect;
  /** The label metrics and the log tell its requests apart by (forwarded endpoints only). */
  api?: ApiLabel;
  /** Answers the request; errors are thrown as ProxyError. */
  handle: (state: ProxyState, ctx: RequestContext) => Reply | Promise<Reply>;
}
