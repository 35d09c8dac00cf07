/**
 * What a front door supplies to the pipeline: a dialect. The pipeline
 * (forward, respond, the handler) is the same for every API; a dialect says
 * what goes to each route, how a successful answer becomes its client's, and
 * how its errors look. A new API is a folder that implements these and a row
 * in the endpoint table; nothing in `proxy/` changes.
 *
 * @module
 */

import type { ProxyError } from "../errors/errors.ts";
import type { EventGrammar } from "../stream/event_grammar.ts";
import type { StreamTranslator } from "../stream/event_stages.ts";

/** An error answer in a dialect's shape (keys are masked after, by the handler). */
export interface ErrorReply {
  /** The HTTP status. */
  status: number;
  /** Its headers. */
  headers: [string, string][];
  /** Its body. */
  body: string | Uint8Array<ArrayBuffer>;
}

/** A front door's API, as far as the pipeline needs to know it. */
export interface Dialect {
  /** Its name (`openai`, `anthropic`, `responses`). */
  readonly name: string;
  /** An error in this API's shape: modelpin's own, or a backend's error answer (`err.backend`). */
  renderError(err: ProxyError): ErrorReply;
}

/** What goes to one route, and how its answer comes back. */
export interface RouteRequest {
  /** The client-style `/v1/...` path, stitched onto the route's base URL. */
  path: string;
  /** The body, its model forced for this route. */
  body: BodyInit | null;
  /** How the backend's stream events are read (first-event judge, end, usage). */
  grammar: EventGrammar;
  /**
   * The client's body for a successful (2xx) answer, which is then read whole;
   * absent, the answer passes as it came. May throw a ProxyError (502).
   */
  json?: (body: Uint8Array<ArrayBuffer>) => string | Uint8Array<ArrayBuffer>;
  /** A translator for one stream (a pass-through one passes events as they came). */
  stream: () => StreamTranslator;
}
