/**
 * The one SSE framer: upstream bytes in, whole event blocks out. It looks at
 * every byte once (a chunk is scanned from where the last one ended, never
 * from the start of the event), keeps the bytes of the event in progress as
 * the chunks they came in, and refuses to grow an event past a bound.
 *
 * A block is everything up to and including the blank line that ends it, so
 * the blocks joined are the input, byte for byte: relaying blocks is relaying
 * the stream. Fields are read once per block, as the SSE spec says: `data:`
 * lines joined with "\n", the last `event:`; comments (`: keep-alive`),
 * `id:` and `retry:` carry no data.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";

/** One SSE event block as it arrived, and its fields. */
export interface SseEvent {
  /** The block's bytes, including the blank line that ended it (a final block may have none). */
  readonly raw: Uint8Array<ArrayBuffer>;
  /** The `event:` field, "" when there is none. */
  readonly type: string;
  /** The `data:` lines joined with "\n"; `undefined` for a block without data (comments, keep-alives). */
  readonly data: string | undefined;
}

/**
 * The largest event the framer holds: an answer is held whole up to the same
 * bound (16 MiB), and no real event comes close. A larger one ends the stream.
 */
export const MAX_EVENT_BYTES = 16 * 1024 * 1024;

/** Thrown by a stage of a relayed stream that would grow past one of its bounds: the stream ends. */
export class StreamLimitError extends Error {}

/** Thrown when an event grows past the framer's bound before its blank line. */
export class EventTooLargeError extends StreamLimitError {
  /** Names the bound. */
  constructor(limit: number) {
    super(`the backend sent an SSE event larger than ${Math.round(limit / 1048576)} MiB`);
    this.name = "EventTooLargeError";
  }
}

const LF = 10;
const CR = 13;
const decoder = new TextDecoder();

/** Reads the fields of one block's text. */
function fieldsOf(text: string): { type: string; data: string | undefined } {
  let data: string | undefined;
  let type = "";
  let at = 0;
  while (at < text.length) {
    let end = at;
    while (end < text.length) {
      const c = text.charCodeAt(end);
      if (c === LF || c === CR) break;
      end++;
    }
    const line = text.slice(at, end);
    if (line.startsWith("data")) {
      const value = line.length === 4 ? "" : line[4] === ":" ? line.slice(line[5] === " " ? 6 : 5) : undefined;
      if (value !== undefined) data = data === undefined ? value : `${data}\n${value}`;
    } else if (line.startsWith("event:")) {
      type = line.slice(line[6] === " " ? 7 : 6);
    }
    at = end + (text.charCodeAt(end) === CR && text.charCodeAt(end + 1) === LF ? 2 : 1);
  }
  return { type, data };
}

/** Makes an event of a block's bytes. */
export function sseEvent(raw: Uint8Array<ArrayBuffer>): SseEvent {
  const { type, data } = fieldsOf(decoder.decode(raw));
  return { raw, type, data };
}

/** Frames one stream. Not reusable: one framer per upstream body. */
export class SseFramer {
  readonly #max: number;
  /** The pieces of the event in progress, and their size. */
  #parts: Uint8Array<ArrayBuffer>[] = [];
  #size = 0;
  /** Bytes of the line in progress (0 right after a line break). */
  #lineLength = 0;
  /** The last byte was a CR: an LF now is the rest of that line break, not a new one. */
  #afterCr = false;
  /**
   * The event in progress ended with the CR of a blank line at the end of the
   * last chunk: it is handed over with the next byte, the LF of a CRLF if that
   * is what comes, so a block never depends on where the chunks were cut.
   */
  #endedAtCr = false;
  /** Set once an event outgrew the bound: the stream can go no further. */
  #overflow: EventTooLargeError | undefined;

  /** `maxEventBytes` bounds one event (see {@linkcode MAX_EVENT_BYTES}). */
  constructor(maxEventBytes: number = MAX_EVENT_BYTES) {
    this.#max = maxEventBytes;
  }

  /**
   * Set once an event outgrew the bound. The events completed before it were
   * returned; every later `push` and `end` throws it.
   */
  get overflow(): EventTooLargeError | undefined {
    return this.#overflow;
  }

  /** The events that `chunk` completes, in order. */
  push(chunk: Uint8Array<ArrayBuffer>): SseEvent[] {
    if (this.#overflow) throw this.#overflow;
    if (chunk.length === 0) return [];
    const events: SseEvent[] = [];
    let start = 0; // where the event in progress starts within this chunk
    if (this.#endedAtCr) {
      this.#endedAtCr = false;
      this.#afterCr = false;
      if (chunk[0] === LF) start = 1;
      const event = this.#finish(chunk.subarray(0, start));
      if (event === undefined) return events;
      events.push(event);
    }
    let lineLength = this.#lineLength;
    let afterCr = this.#afterCr;
    for (let i = start; i < chunk.length; i++) {
      const b = chunk[i];
      if (b !== LF && b !== CR) {
        lineLength++;
        afterCr = false;
        continue;
      }
      if (b === LF && afterCr) {
        afterCr = false; // CRLF: the line ended at the CR
        continue;
      }
      afterCr = b === CR;
      if (lineLength > 0) {
        lineLength = 0;
        continue;
      }
      // A blank line: the event ends here, with the LF of a CRLF (which may be in the next chunk).
      if (b === CR && i + 1 === chunk.length) {
        this.#endedAtCr = true;
        break;
      }
      if (b === CR && chunk[i + 1] === LF) i++;
      afterCr = false;
      const event = this.#finish(chunk.subarray(start, i + 1));
      if (event === undefined) return events;
      events.push(event);
      start = i + 1;
    }
    this.#lineLength = lineLength;
    this.#afterCr = afterCr;
    if (start < chunk.length) this.#hold(chunk.subarray(start));
    return events;
  }

  /** What is left at the end of the stream: an event without its blank line, if any bytes remain. */
  end(): SseEvent | undefined {
    if (this.#overflow) throw this.#overflow;
    this.#endedAtCr = false;
    if (this.#size === 0) return undefined;
    const raw = concatBytes(this.#parts);
    this.#parts = [];
    this.#size = 0;
    return sseEvent(raw);
  }

  /** Bytes of the event in progress. */
  get pending(): number {
    return this.#size;
  }

  #hold(part: Uint8Array<ArrayBuffer>): void {
    if (this.#size + part.length > this.#max) {
      this.#overflow = new EventTooLargeError(this.#max);
      return;
    }
    this.#parts.push(part);
    this.#size += part.length;
  }

  /** The event whose last bytes are `tail`; `undefined` (and the overflow set) when it is too large. */
  #finish(tail: Uint8Array<ArrayBuffer>): SseEvent | undefined {
    if (this.#size + tail.length > this.#max) {
      this.#overflow = new EventTooLargeError(this.#max);
      return undefined;
    }
    let raw = tail;
    if (this.#size > 0) {
      this.#parts.push(tail);
      raw = concatBytes(this.#parts);
      this.#parts = [];
      this.#size = 0;
    }
    return sseEvent(raw);
  }
}
