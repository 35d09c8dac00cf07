/**
 * The hostile suites' SSE backend over raw TCP: a chunked event-stream head,
 * then whatever the case writes (chunks, a break, silence, a backend that
 * goes on generating); and the check that the proxy stayed responsive while
 * a hostile request was in flight.
 */

import assert from "node:assert/strict";
import { fetchWithin, hostileBackend, type HostileConn } from "./hostile_tcp.ts";
import type { TestProxy } from "./proxy.ts";

const encoder = new TextEncoder();

/** The head of a chunked SSE answer that closes its connection at the end. */
export const CHUNKED_SSE_HEAD =
  "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
/** The last chunk of a chunked body. */
export const LAST_CHUNK = "0\r\n\r\n";

/** `s` as one chunk of a chunked HTTP/1.1 body. */
export function chunked(s: string): string {
  return `${encoder.encode(s).length.toString(16)}\r\n${s}\r\n`;
}

/** A cancellable timer: only ever a backend's pace, or raced against an event as its bound. */
export function timer(ms: number): { promise: Promise<void>; cancel: () => void } {
  let id: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<void>((r) => id = setTimeout(r, ms));
  return { promise, cancel: () => clearTimeout(id) };
}

/**
 * A raw TCP backend that answers each request with a chunked SSE head, then
 * runs `script` on the connection (it writes chunks, breaks, or waits).
 */
export function rawSseBackend(script: (conn: HostileConn, body: string) => Promise<void>) {
  return hostileBackend(async (conn) => {
    const req = await conn.readRequest();
    if (!req) return;
    await conn.write(CHUNKED_SSE_HEAD);
    await script(conn, req.text);
  });
}

/** Writes `event` every 100 ms, as a backend that goes on generating, until the proxy closes the connection. */
export async function keepGenerating(conn: HostileConn, event: string): Promise<void> {
  let gone = false;
  const peer = conn.peerClosed().then(() => void (gone = true));
  while (!gone) {
    const pace = timer(100);
    await Promise.race([peer, pace.promise]);
    pace.cancel();
    if (gone) break;
    try {
      await conn.write(chunked(event));
    } catch {
      break; // the proxy reset the connection
    }
  }
}

/**
 * Runs `work` while asking `/health` again and again (each as soon as the
 * last answered): the slowest answer says whether the proxy stayed responsive
 * while it did the work. The proxy runs in this process, so a blocked event
 * loop shows up in every answer that waited on it.
 */
export async function probedWhile<T>(
  proxy: TestProxy,
  work: Promise<T>,
): Promise<{ result: T; worstMs: number; probes: number }> {
  let settled = false;
  const outcome = work.then(
    (value) => ({ value, error: undefined }),
    (error: unknown) => ({ value: undefined, error }),
  ).finally(() => settled = true);
  let worstMs = 0;
  let probes = 0;
  do {
    const started = performance.now();
    const health = await fetchWithin(`${proxy.url}/health`, {}, 60_000, "/health");
    assert.equal(health.status, 200);
    worstMs = Math.max(worstMs, performance.now() - started);
    probes++;
  } while (!settled);
  const { value, error } = await outcome;
  if (error !== undefined) throw error;
  return { result: value as T, worstMs, probes };
}
