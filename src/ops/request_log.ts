/**
 * The one log line per request: what came in, where it went, how it ended.
 * Never a body, never a key.
 *
 * @module
 */

/** The facts of one request that its log line reports. */
export interface LogEntry {
  /** HTTP method. */
  method: string;
  /** Request path, without the query (which may carry secrets). */
  path: string;
  /** The model the client asked for, if any. */
  requested?: unknown;
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
  /** How a stream ended. */
  end?: string;
  /** True once a stream relay owns the entry: it writes the line when the stream ends. */
  relayed?: boolean;
}

function clean(value: unknown): string {
  if (typeof value !== "string") {
    if (value === undefined) return "-";
    if (value === null) return "null";
    return `<${Array.isArray(value) ? "array" : typeof value}>`;
  }
  // A client-chosen string must not forge log lines or flood them.
  const s = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  // deno-lint-ignore no-control-regex -- control characters are exactly what must be escaped
  if (!/[\s"\\\x00-\x1f\x7f\u2028\u2029]/.test(s) && s !== "") return s;
  // JSON.stringify leaves DEL and the Unicode line separators raw; log viewers may break lines on them.
  return JSON.stringify(s).replace(/[\x7f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
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
