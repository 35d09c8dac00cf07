/**
 * The per-request log line as one JSON object (`PROXY_LOG=json`), for
 * journald, Loki or jq. Same facts as the text line, typed; never a body, a
 * query string or a key.
 *
 * @module
 */

import { describeEntry } from "./recent.ts";
import { escapeControls, type LogEntry } from "./request_log.ts";

/** Formats an entry as one JSON line (no trailing newline): the same record the status page lists. */
export function formatLogJson(e: LogEntry, now: Date = new Date()): string {
  // JSON.stringify escapes quotes and C0 controls, so a client string cannot forge a line; C1 controls
  // and the Unicode line separators are escaped too, for terminals and viewers that act on them.
  return escapeControls(JSON.stringify(describeEntry(e, now.getTime())));
}
