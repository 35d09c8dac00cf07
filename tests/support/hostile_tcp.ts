/**
 * Hostile raw TCP peers for the upstream-client defects found by an outside probe: a backend
 * whose every connection runs a script (read a request, write any bytes,
 * linger, close), and a raw client that sends exact bytes to the proxy and
 * keeps the answer's bytes. Neither goes through an HTTP library, so they can
 * write what no server or client library would.
 *
 * @module
 */

import { type AcceptedConn, type TcpServer, tcpServer } from "./tcp_server.ts";

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");
const CRLF2 = [13, 10, 13, 10];

/** One request as read off a {@linkcode HostileConn}. */
export interface HostileRequest {
  /** The request line, e.g. `POST /v1/chat/completions HTTP/1.1`. */
  line: string;
  /** The method. */
  method: string;
  /** The head (request line and headers) decoded byte for byte (latin1), so non-ASCII bytes stay visible. */
  head: string;
  /** The head's raw bytes, up to and excluding the blank line. */
  headBytes: Uint8Array;
  /** The body, read by `content-length` or chunked encoding (empty when neither). */
  body: Uint8Array;
  /** The body as UTF-8 text. */
  text: string;
  /** A header's value by name (case-insensitive), latin1-decoded. */
  header(name: string): string | undefined;
}

/** One connection accepted by a {@linkcode hostileBackend}, handed to its script. */
export interface HostileConn {
  /** 0-based number of this connection, in accept order. */
  readonly index: number;
  /** Reads the next request (head, and a `content-length` or chunked body); undefined if the peer closed first. */
  readRequest(): Promise<HostileRequest | undefined>;
  /** Reads only the next request head; the body stays unread. Undefined if the peer closed first. */
  readHead(): Promise<HostileRequest | undefined>;
  /** Writes text (as UTF-8) or bytes, whole. */
  write(data: string | Uint8Array): Promise<void>;
  /** Resolves when the peer sends something (kept for the next read) or closes: `"data"` or `"closed"`. */
  activity(): Promise<"data" | "closed">;
  /** Resolves when this side closed the connection (the backend shutting down). */
  readonly closed: Promise<void>;
  /** Resolves once the peer (the proxy) closed or reset the connection, reading and dropping anything it sends. */
  peerClosed(): Promise<void>;
  /** Closes the connection (idempotent). */
  close(): void;
}

/** A running {@linkcode hostileBackend}: its address, connection counts and `close` are its {@linkcode TcpServer}'s. */
export interface HostileBackend extends TcpServer {
  /** Every request any script read, in arrival order. */
  requests: HostileRequest[];
}

function indexOfSeq(haystack: Uint8Array, needle: number[], from = 0): number {
  outer: for (let i = from; i <= haystack.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function parseHead(headBytes: Uint8Array, body: Uint8Array): HostileRequest {
  const head = latin1.decode(headBytes);
  const lines = head.split("\r\n");
  const fields = lines.slice(1).map((
    l,
  ) => [l.slice(0, l.indexOf(":")).trim().toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]);
  return {
    line: lines[0],
    method: lines[0].split(" ")[0],
    head,
    headBytes,
    body,
    text: new TextDecoder().decode(body),
    header: (name) => fields.find(([n]) => n === name.toLowerCase())?.[1],
  };
}

/** Wraps one accepted connection with a read buffer. */
function wrapConn({ conn, index, closed, close }: AcceptedConn, requests: HostileRequest[]): HostileConn {
  let buffer: Uint8Array = new Uint8Array(0);
  const chunk = new Uint8Array(64 * 1024);
  let pending: Promise<boolean> | undefined;
  // One read at a time: a waiter that lost a race leaves its read for the next reader to share.
  const fill = (): Promise<boolean> =>
    pending ??= (async () => {
      let n: number | null;
      try {
        n = await conn.read(chunk);
      } catch {
        return false; // reset, or closed by us
      } finally {
        pending = undefined;
      }
      if (n === null) return false;
      buffer = concat(buffer, chunk.subarray(0, n));
      return true;
    })();
  const readHead = async (): Promise<{ headBytes: Uint8Array } | undefined> => {
    let end: number;
    while ((end = indexOfSeq(buffer, CRLF2)) < 0) if (!await fill()) return undefined;
    const headBytes = buffer.slice(0, end);
    buffer = buffer.slice(end + 4);
    return { headBytes };
  };
  const readLength = async (length: number): Promise<Uint8Array | undefined> => {
    while (buffer.length < length) if (!await fill()) return undefined;
    const body = buffer.slice(0, length);
    buffer = buffer.slice(length);
    return body;
  };
  // A chunked request body (what `fetch` sends for a stream), decoded; trailers are skipped.
  const readChunked = async (): Promise<Uint8Array | undefined> => {
    let body: Uint8Array = new Uint8Array(0);
    for (;;) {
      let eol: number;
      while ((eol = indexOfSeq(buffer, [13, 10])) < 0) if (!await fill()) return undefined;
      const size = parseInt(latin1.decode(buffer.subarray(0, eol)), 16);
      buffer = buffer.slice(eol + 2);
      if (size === 0) {
        while ((eol = indexOfSeq(buffer, [13, 10])) !== 0) {
          if (eol > 0) buffer = buffer.slice(eol + 2);
          else if (!await fill()) return undefined;
        }
        buffer = buffer.slice(2);
        return body;
      }
      const chunk = await readLength(size + 2);
      if (!chunk) return undefined;
      body = concat(body, chunk.subarray(0, size));
    }
  };
  return {
    index,
    async readHead() {
      const got = await readHead();
      if (!got) return undefined;
      const request = parseHead(got.headBytes, new Uint8Array(0));
      requests.push(request);
      return request;
    },
    async readRequest() {
      const got = await readHead();
      if (!got) return undefined;
      const bare = parseHead(got.headBytes, new Uint8Array(0));
      const body = /chunked/i.test(bare.header("transfer-encoding") ?? "")
        ? await readChunked()
        : await readLength(Number(bare.header("content-length") ?? "0"));
      if (!body) return undefined;
      const request = parseHead(got.headBytes, body);
      requests.push(request);
      return request;
    },
    async write(data) {
      const bytes = typeof data === "string" ? encoder.encode(data) : data;
      for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
    },
    async activity() {
      if (buffer.length > 0) return "data";
      return await fill() ? "data" : "closed";
    },
    closed,
    async peerClosed() {
      while (await fill()) buffer = new Uint8Array(0);
    },
    close,
  };
}

/**
 * Starts a raw TCP backend on 127.0.0.1, port 0, that runs `script` on every
 * connection it accepts. A script that throws (the proxy went away) just ends
 * its connection; the connection is closed when the script returns.
 */
export function hostileBackend(script: (conn: HostileConn) => Promise<void>): HostileBackend {
  const requests: HostileRequest[] = [];
  return Object.assign(tcpServer((accepted) => script(wrapConn(accepted, requests))), { requests });
}

/** A keep-alive JSON response text (`content-length` framed). */
export function keepAliveJson(status: number, body: string, extraHeaders = ""): string {
  return `HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\ncontent-length: ${
    encoder.encode(body).length
  }\r\n${extraHeaders}\r\n${body}`;
}

/** A raw answer from the proxy. */
export interface RawAnswer {
  /** The status code. */
  status: number;
  /** The head's raw bytes, up to and excluding the blank line. */
  headBytes: Uint8Array;
  /** The head decoded byte for byte (latin1). */
  head: string;
  /** Everything after the head (the connection is closed by the request's `connection: close`). */
  body: string;
}

/**
 * Sends `request` (exact bytes; it should say `connection: close`) to the
 * proxy over raw TCP and reads the answer until the proxy closes, within `ms`.
 */
export async function rawExchange(port: number, request: Uint8Array | string, ms: number): Promise<RawAnswer> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), ms);
  try {
    await conn.write(typeof request === "string" ? encoder.encode(request) : request);
    let all: Uint8Array = new Uint8Array(0);
    const chunk = new Uint8Array(64 * 1024);
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(chunk);
      } catch {
        n = null;
      }
      if (n === null) break;
      all = concat(all, chunk.subarray(0, n));
    }
    const end = indexOfSeq(all, CRLF2);
    if (end < 0) throw new Error(`no complete answer within ${ms} ms: ${JSON.stringify(latin1.decode(all))}`);
    const head = latin1.decode(all.subarray(0, end));
    return {
      status: Number(head.split(" ")[1]),
      headBytes: all.slice(0, end),
      head,
      body: new TextDecoder().decode(all.subarray(end + 4)),
    };
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
}

/** True when `haystack` contains the byte sequence `needle`. */
export function hasBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  return indexOfSeq(haystack, [...needle]) >= 0;
}

/**
 * A fetch bounded by a deadline: on expiry the request is aborted (so nothing
 * is left pending) and the returned promise rejects naming `what`.
 * Resolves with the status, the body text and the elapsed milliseconds.
 */
export async function fetchWithin(
  url: string,
  init: RequestInit,
  ms: number,
  what: string,
): Promise<{ status: number; text: string; ms: number; headers: Headers }> {
  const controller = new AbortController();
  const started = performance.now();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    const res = await fetch(url, { ...init, signal: controller.signal });
    const text = await res.text();
    return { status: res.status, text, ms: performance.now() - started, headers: res.headers };
  } catch (err) {
    if (controller.signal.aborted) throw new Error(`${what}: no answer within ${ms} ms`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
