/**
 * Just enough SSE parsing to judge a stream's first event and its end; the
 * bytes themselves are passed on untouched.
 *
 * @module
 */

/** What the first real event of a stream says. */
export interface FirstEvent {
  /** True for `event: error` or a `data:` JSON object with an `error` field. */
  isError: boolean;
  /** The error's message, when the event is an error and carries one. */
  message?: string;
}

/**
 * Splits SSE text into complete event blocks (each with its line endings and
 * the blank line that ends it) and the unfinished rest, so that
 * `events.join("") + rest` is always the input. Lines end with CRLF, LF or
 * CR; a CR at the very end is held back, since an LF may follow it.
 */
export function splitEvents(text: string): { events: string[]; rest: string } {
  const events: string[] = [];
  let eventStart = 0;
  let lineStart = 0;
  let i = 0;
  while (i < text.length) {
    const ch = text.charCodeAt(i);
    if (ch !== 10 && ch !== 13) {
      i++;
      continue;
    }
    let end = i + 1;
    if (ch === 13) {
      if (end === text.length) break;
      if (text.charCodeAt(end) === 10) end++;
    }
    if (i === lineStart) {
      events.push(text.slice(eventStart, end));
      eventStart = end;
    }
    lineStart = end;
    i = end;
  }
  return { events, rest: text.slice(eventStart) };
}

/** True when an event block holds only comments (`: keep-alive`) and blank lines. */
export function isCommentOnly(event: string): boolean {
  for (const line of event.split(/\r\n|\r|\n/)) {
    if (line !== "" && !line.startsWith(":")) return false;
  }
  return true;
}

/**
 * The `data:` payload of an event block (its lines joined with "\n", as the
 * SSE spec says; `undefined` when it has none) and its `event:` type.
 */
export function eventFields(event: string): { data: string | undefined; type: string } {
  let data: string | undefined;
  let type = "";
  for (const line of event.split(/\r\n|\r|\n/)) {
    if (line.startsWith("data:")) {
      const value = line.slice(line[5] === " " ? 6 : 5);
      data = data === undefined ? value : `${data}\n${value}`;
    } else if (line.startsWith("event:")) type = line.slice(6).trim();
  }
  return { data, type };
}

/** Judges one event block: is it an error event? */
export function judgeEvent(event: string): FirstEvent {
  const fields = eventFields(event);
  const data = fields.data ?? "";
  const type = fields.type;
  let message: string | undefined;
  let hasError = false;
  if (data.startsWith("{")) {
    try {
      const parsed = JSON.parse(data);
      if (parsed && typeof parsed === "object" && "error" in parsed && parsed.error) {
        hasError = true;
        const e = parsed.error;
        message = typeof e === "string" ? e : typeof e?.message === "string" ? e.message : undefined;
      } else if (type === "error" && typeof parsed?.message === "string") {
        message = parsed.message;
      }
    } catch { /* not JSON: judged by its event type alone */ }
  }
  if (type === "error" || hasError) return { isError: true, message: message ?? (data || undefined) };
  return { isError: false };
}

/**
 * Feeds a stream's first chunks until its first real event is complete,
 * skipping comment-only events such as keep-alives.
 */
export class FirstEventScanner {
  #decoder = new TextDecoder();
  #text = "";

  /** Adds a chunk; returns the verdict once the first real event is complete. */
  push(chunk: Uint8Array<ArrayBuffer>): FirstEvent | undefined {
    this.#text += this.#decoder.decode(chunk, { stream: true });
    const { events, rest } = splitEvents(this.#text);
    this.#text = rest;
    for (const event of events) {
      // Comments, and blocks with only `id:`/`retry:`, carry no event yet.
      if (!isCommentOnly(event) && /^(data|event):/m.test(event)) return judgeEvent(event);
    }
    return undefined;
  }
}
