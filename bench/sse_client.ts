/**
 * A raw TCP client for SSE: it writes one HTTP/1.1 request, timestamps every
 * read as it returns, and decodes the chunked body itself, so what it records
 * is when each event's bytes reached this process (no fetch or stream
 * machinery in between).
 *
 * @module
 */

import { wallMs } from "./fixtures.ts";

/** What one stream looked like from the client. */
export interface StreamSample {
  /** HTTP status (0 if none arrived). */
  status: number;
  /** Data events received (not counting `[DONE]`). */
  events: number;
  /** True when `data: [DONE]` arrived. */
  done: boolean;
  /** ms from writing the request to the first event's arrival (NaN if none). */
  ttfeMs: number;
  /** For events 1..n-1: arrival minus the backend's send time, ms. */
  oneWayMs: number[];
  /** The same for the first event (NaN if none): the response-path share of the time to first event. */
  firstOneWayMs: number;
  /** Events that arrived in the same read as an earlier event (0 when nothing was coalesced). */
  coalesced: number;
  /** Largest gap between two consecutive events, ms. */
  maxGapMs: number;
  /** Set when the connection failed or the deadline passed. */
  error?: string;
}

const latin1 = new TextDecoder("latin1");
const encoder = new TextEncoder();
const EVENT = /"i":(\d+),"t":([\d.]+)/;

/** Options of one streamed request. */
export interface StreamRequest {
  /** Proxy or backend port on 127.0.0.1. */
  port: number;
  /** Path and query, e.g. `/v1/chat/completions?n=64&ms=20`. */
  path: string;
  /** JSON request body. */
  body: string;
  /** Give up (and close) after this many ms. */
  deadlineMs: number;
  /** Called when the first event arrives. */
  onFirstEvent?: () => void;
}

/** Sends one streaming request and records how its events arrived. */
export async function streamOnce(req: StreamRequest): Promise<StreamSample> {
  const sample: StreamSample = {
    status: 0,
    events: 0,
    done: false,
    ttfeMs: NaN,
    oneWayMs: [],
    firstOneWayMs: NaN,
    coalesced: 0,
    maxGapMs: 0,
  };
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port: req.port });
  } catch (err) {
    sample.error = `connect: ${(err as Error).message}`;
    return sample;
  }
  conn.setNoDelay(true);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch { /* closed */ }
  }, req.deadlineMs);
  const body = encoder.encode(req.body);
  const head = `POST ${req.path} HTTP/1.1\r\nHost: 127.0.0.1:${req.port}\r\nContent-Type: application/json\r\n` +
    `Accept: text/event-stream\r\nAuthorization: Bearer client-key\r\nContent-Length: ${body.length}\r\n` +
    `Connection: close\r\n\r\n`;
  const request = new Uint8Array(head.length + body.length);
  request.set(encoder.encode(head));
  request.set(body, head.length);

  const buf = new Uint8Array(65536);
  let raw = ""; // undecoded bytes (head, then chunked framing)
  let sse = ""; // decoded body not yet split into events
  let inBody = false;
  let chunked = false;
  let lastArrival = NaN;
  const sent = wallMs();
  try {
    await conn.write(request);
    outer: for (;;) {
      const n = await conn.read(buf);
      const arrival = wallMs();
      if (n === null) break;
      raw += latin1.decode(buf.subarray(0, n));
      if (!inBody) {
        const end = raw.indexOf("\r\n\r\n");
        if (end < 0) continue;
        const headText = raw.slice(0, end);
        sample.status = Number(headText.slice(9, 12));
        chunked = /\r\ntransfer-encoding:\s*chunked/i.test(headText);
        raw = raw.slice(end + 4);
        inBody = true;
      }
      if (chunked) {
        for (;;) {
          const eol = raw.indexOf("\r\n");
          if (eol < 0) break;
          const size = parseInt(raw.slice(0, eol), 16);
          if (size === 0) {
            raw = "";
            break;
          }
          if (raw.length < eol + 2 + size + 2) break;
          sse += raw.slice(eol + 2, eol + 2 + size);
          raw = raw.slice(eol + 2 + size + 2);
        }
      } else {
        sse += raw;
        raw = "";
      }
      let inThisRead = 0;
      for (;;) {
        const sep = sse.indexOf("\n\n");
        if (sep < 0) break;
        const event = sse.slice(0, sep);
        sse = sse.slice(sep + 2);
        if (event.includes("[DONE]")) {
          sample.done = true;
          break outer;
        }
        const m = EVENT.exec(event);
        if (!m) continue;
        const index = Number(m[1]);
        if (sample.events === 0) {
          sample.ttfeMs = arrival - sent;
          req.onFirstEvent?.();
        } else {
          sample.maxGapMs = Math.max(sample.maxGapMs, arrival - lastArrival);
        }
        if (index > 0) sample.oneWayMs.push(arrival - Number(m[2]));
        else sample.firstOneWayMs = arrival - Number(m[2]);
        if (inThisRead > 0) sample.coalesced++;
        inThisRead++;
        lastArrival = arrival;
        sample.events++;
      }
    }
  } catch (err) {
    if (!timedOut) sample.error = (err as Error).message;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
  if (timedOut && !sample.done) sample.error = "deadline passed";
  return sample;
}
