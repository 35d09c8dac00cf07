/**
 * The per-request log line as one JSON object (`PROXY_LOG=json`), for
 * journald, Loki or jq. Same facts as the text line, typed; never a body, a
 * query string or a key.
 *
 * @module
 */

import type { LogEntry } from "./request_log.ts";

/** A client-chosen model name is cut to this length, as in the text line's spirit. */
const MAX_MODEL = 200;

/** Formats an entry as one JSON line (no trailing newline). */
export function formatLogJson(e: LogEntry, now: Date = new Date()): string {
  const requested = typeof e.requested === "string"
    ? (e.requested.length > MAX_MODEL ? e.requested.slice(0, MAX_MODEL) + "…" : e.requested)
    : null;
  // JSON.stringify escapes quotes and control characters, so a client string cannot forge a line; the
  // Unicode line separators are escaped too, for viewers that break lines on them.
  return JSON.stringify({
    time: now.toISOString(),
    method: e.method,
    path: e.path,
    requested_model: requested,
    route: e.route ?? null,
    model: e.model && e.model !== "-" ? e.model : null,
    status: e.status,
    ms: Math.round(e.ms * 10) / 10,
    stream: e.stream,
    end: e.end ?? null,
    fallback: e.fallback ?? null,
  }).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}
