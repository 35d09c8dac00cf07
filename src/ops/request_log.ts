/**
 * The one log line per request: what came in, where it went, how it ended.
 * Never a body, never a key.
 *
 * @module
 */

/**
 * The requested model as a record keeps it: a string masked and cut to 200
 * characters, or the type of what was sent instead. A record outlives its
 * request (the status page lists it), so it never holds what the client sent
 * at full size.
 */
export type Requested = string | null | undefined | { type: string };

/** The longest requested model a record keeps. */
export const MAX_REQUESTED = 200;

/** `value` as a record keeps it (see {@linkcode Requested}). */
export function boundedRequested(value: unknown, masker: { cut(text: string, max: number): string }): Requested {
  if (typeof value === "string") return masker.cut(value, MAX_REQUESTED);
  if (value === null || value === undefined) return value;
  return { type: Array.isArray(value) ? "array" : typeof value };
}

/** The APIs that metrics and logs tell apart. */
export type ApiLabel = "chat" | "messages" | "responses" | "other";

/** The facts of one request that its log line reports. */
export interface LogEntry {
  /** HTTP method. */
  method: string;
  /** Request path, without the query (which may carry secrets). */
  path: string;
  /** The API it spoke (`chat`, `messages`, `responses`, `other`), for the forwarded ones. */
  api?: ApiLabel;
  /** The model the client asked for, if any (bounded). */
  requested?: Requested;
  /** The route that served it (after any fallback), and the model forced there. */
  route?: string;
  /** The forced model. */
  model?: string;
  /** Status sent to the client. */
  status: number;
  /** Milliseconds until the response (for streams: until the stream ended). */
  ms: number;
  /** True when the client asked for a stream (SSE). */
  stream: boolean;
  /** Why the other route served the request, if it did. */
  fallback?: string;
  /** How a relayed body ended (or `client_gone` when the client left before it began). */
  end?: string;
}

function clean(value: Requested): string {
  if (typeof value !== "string") {
    if (value === undefined) return "-";
    if (value === null) return "null";
    return `<${value.type}>`;
  }
  // A client-chosen string must not forge log lines or flood them.
  const s = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  if (!NEEDS_QUOTING.test(s) && s !== "") return s;
  return escapeControls(JSON.stringify(s));
}

/**
 * What a log viewer or terminal could read as a line break or a control
 * sequence: C0 controls, DEL, the C1 controls U+0080-U+009F (NEL breaks
 * lines, CSI and OSC start terminal sequences) and the Unicode line separators.
 */
const CONTROLS = /[\x7f-\x9f\u2028\u2029]/g;
// deno-lint-ignore no-control-regex -- control characters are exactly what must be escaped
const NEEDS_QUOTING = /[\s"\\\x00-\x1f\x7f-\x9f\u2028\u2029]/;

/**
 * `json` (a JSON.stringify result, which escapes C0 controls itself) with DEL,
 * C1 controls and the line separators escaped too: the same text, read back.
 */
export function escapeControls(json: string): string {
  return json.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Formats an entry as one line. */
export function formatLogLine(e: LogEntry, now: Date = new Date()): string {
  let line = `${now.toISOString()} ${e.method} ${e.path} model=${clean(e.requested)}`;
  if (e.route) line += ` -> ${e.route}:${e.model}`;
  line += ` ${e.status} ${e.ms.toFixed(1)}ms ${e.stream ? "stream" : "json"}`;
  if (e.end) line += ` end=${e.end}`;
  line += ` fallback=${e.fallback ?? "no"}`;
  return line;
}

/** Where log text goes. */
export type LineSink = (text: string) => void;

/**
 * Batches lines and writes them once per event-loop turn: one write for many
 * requests under load instead of a blocking write each.
 */
export class BatchedLog {
  readonly #sink: LineSink;
  #pending: string[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Writes batches to `sink`. */
  constructor(sink: LineSink) {
    this.#sink = sink;
  }

  /** Queues one line. */
  line(text: string): void {
    this.#pending.push(text);
    if (this.#timer === undefined) this.#timer = setTimeout(() => this.flush(), 0);
  }

  /** Writes everything queued now. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0) return;
    const text = this.#pending.join("\n") + "\n";
    this.#pending = [];
    try {
      this.#sink(text);
    } catch {
      // A failing log sink must not take the proxy down; the lines are lost.
    }
  }
}
