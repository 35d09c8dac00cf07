/**
 * The last requests, for the status page: a fixed ring that keeps a
 * reference to each request's log entry (no copy, no string building on the
 * hot path). Bodies, query strings and keys are never in a log entry.
 *
 * @module
 */

import type { LogEntry } from "./request_log.ts";

/** One request as the status page shows it. */
export interface RecentRequest {
  /** When it ended, as an ISO date. */
  time: string;
  /** HTTP method. */
  method: string;
  /** Path without the query string. */
  path: string;
  /** The API it spoke (`chat`, `messages`, `responses`, `other`), or null for modelpin's own endpoints. */
  api: string | null;
  /** The model the client asked for (a string), or null. */
  requested_model: string | null;
  /** The route that served it, or null when none was tried. */
  route: string | null;
  /** The forced model, or null. */
  model: string | null;
  /** Status sent to the client. */
  status: number;
  /** Duration in ms (until the stream ended for streams). */
  ms: number;
  /** True for SSE answers. */
  stream: boolean;
  /** How a stream ended, or null. */
  end: string | null;
  /** Why the other route served it, or null. */
  fallback: string | null;
}

/** How many requests the status page shows. */
const RECENT_SIZE = 20;

/** Converts a finished log entry into its display form (`mask` hides configured keys). */
export function describeEntry(e: LogEntry, at: number, mask: (s: string) => string = (s) => s): RecentRequest {
  // The record keeps the requested model masked and cut already (see boundedRequested).
  const requested = typeof e.requested === "string" ? e.requested : null;
  return {
    time: new Date(at).toISOString(),
    method: e.method,
    path: mask(e.path), // kept masked and cut already by the handler
    api: e.api ?? null,
    requested_model: requested === null ? null : mask(requested),
    route: e.route ?? null,
    model: e.model && e.model !== "-" ? e.model : null,
    status: e.status,
    ms: Math.round(e.ms * 10) / 10,
    stream: e.stream,
    end: e.end ?? null,
    fallback: e.fallback ?? null,
  };
}

/** A ring of the last `size` finished requests. */
export class RecentRequests {
  readonly #entries: (LogEntry | undefined)[];
  readonly #times: Float64Array;
  #next = 0;
  #count = 0;

  /** Keeps the last `size` requests (default 20). */
  constructor(readonly size: number = RECENT_SIZE) {
    this.#entries = new Array(size);
    this.#times = new Float64Array(size);
  }

  /** Records a finished request; `at` is the epoch ms it ended. The entry must not change afterwards. */
  add(entry: LogEntry, at: number = Date.now()): void {
    this.#entries[this.#next] = entry;
    this.#times[this.#next] = at;
    this.#next = (this.#next + 1) % this.size;
    if (this.#count < this.size) this.#count++;
  }

  /** The recorded requests, newest first, in display form. */
  list(mask?: (s: string) => string): RecentRequest[] {
    const out: RecentRequest[] = [];
    for (let i = 1; i <= this.#count; i++) {
      const slot = (this.#next - i + this.size) % this.size;
      out.push(describeEntry(this.#entries[slot]!, this.#times[slot], mask));
    }
    return out;
  }
}
