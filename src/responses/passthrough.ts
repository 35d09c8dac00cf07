/**
 * A native Responses stream (the backend has `/v1/responses`) passes as it
 * came, event by event. Only when it breaks does modelpin speak: with the
 * API's own failure, an `error` event and `response.failed` (the response
 * the backend announced in `response.created`, failed), numbered after the
 * backend's last `sequence_number`, so every SDK reads it as the end.
 *
 * @module
 */

import type { EventInfo } from "../stream/event_grammar.ts";
import type { StreamTranslator } from "../stream/event_stages.ts";
import type { SseEvent } from "../stream/sse_framer.ts";
import { isObject, type Json } from "./json.ts";

/** Passes a native stream through, and ends a broken one with `response.failed`. */
export class NativeResponsesStream implements StreamTranslator {
  #response: Json = {};
  #seq = 0;
  readonly finished = false; // the grammar's terminal events end the stream

  event(event: SseEvent, info: EventInfo): Uint8Array<ArrayBuffer> {
    const json = info.json;
    if (json !== undefined) {
      if (typeof json.sequence_number === "number") this.#seq = Math.max(this.#seq, json.sequence_number + 1);
      if (json.type === "response.created" && isObject(json.response)) this.#response = json.response;
    }
    return event.raw;
  }

  complete(): undefined {
    return undefined;
  }

  fail(message: string, code: string): string {
    const error = { type: "server_error", code, message, param: null };
    const failed = { ...this.#response, status: "failed", error: { code: "server_error", message } };
    return sse("error", { type: "error", sequence_number: this.#seq++, error }) +
      sse("response.failed", { type: "response.failed", sequence_number: this.#seq++, response: failed });
  }
}

function sse(type: string, data: Json): string {
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}
