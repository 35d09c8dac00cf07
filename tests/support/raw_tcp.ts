/**
 * Raw TCP backends for faults an HTTP server cannot produce: accept and never
 * answer, reset the connection before any header, or write part of a response
 * and close. Each connection records whether the proxy closed it.
 *
 * @module
 */

import { type TcpServer, tcpServer } from "./tcp_server.ts";

/** What a raw backend does with each connection it accepts. */
export type RawBehaviour =
  /** Read the request and never answer (a hung backend). */
  | { kind: "hang" }
  /** Close as soon as the request starts arriving, with most of it unread (Linux then sends RST). */
  | { kind: "reset" }
  /** Wait for the request head, write `text`, then close. */
  | { kind: "partial"; text: string };

/** One accepted connection. */
export interface RawConnection {
  /** The request bytes received so far, as text. */
  received: string;
  /** Resolves once the request head (up to the blank line) has arrived. */
  head: Promise<string>;
  /** Resolves when the peer (the proxy) closed or reset the connection. */
  closedByPeer: Promise<void>;
}

/** A running raw backend: its address, connection counts and `close` are its {@linkcode TcpServer}'s. */
export interface RawBackend extends TcpServer {
  /** Every connection accepted, in order. */
  connections: RawConnection[];
  /** Resolves with the n-th (0-based) connection once it has been accepted. */
  connection(n: number): Promise<RawConnection>;
}

const decoder = new TextDecoder();

/** Starts a raw TCP backend on 127.0.0.1, port 0. */
export function rawBackend(behaviour: RawBehaviour): RawBackend {
  const connections: RawConnection[] = [];
  const waiters: { n: number; resolve: (c: RawConnection) => void }[] = [];

  const server = tcpServer(async ({ conn, close }) => {
    let resolveHead!: (head: string) => void;
    let resolveClosed!: () => void;
    const record: RawConnection = {
      received: "",
      head: new Promise((r) => resolveHead = r),
      closedByPeer: new Promise((r) => resolveClosed = r),
    };
    connections.push(record);
    for (const w of waiters.filter((w) => w.n === connections.length - 1)) w.resolve(record);
    try {
      if (behaviour.kind === "reset") {
        // Read one byte only: closing with unread data makes the kernel reset the connection.
        await conn.read(new Uint8Array(1));
        close();
        resolveClosed();
        return;
      }
      const buf = new Uint8Array(64 * 1024);
      let answered = false;
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        record.received += decoder.decode(buf.subarray(0, n));
        const end = record.received.indexOf("\r\n\r\n");
        if (end >= 0) resolveHead(record.received.slice(0, end));
        if (end >= 0 && behaviour.kind === "partial" && !answered) {
          answered = true;
          await conn.write(new TextEncoder().encode(behaviour.text));
          return; // the server closes it
        }
      }
    } catch {
      // A reset by the peer, or our own close at shutdown.
    }
    resolveClosed();
  });

  return Object.assign(server, {
    connections,
    connection(n: number): Promise<RawConnection> {
      if (connections[n]) return Promise.resolve(connections[n]);
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
  });
}

/** A port on 127.0.0.1 that nothing listens on (connection refused). */
export function refusedPortUrl(): string {
  return `http://127.0.0.1:${unusedPort()}/v1`;
}

/**
 * A port on 127.0.0.1 that nothing listens on, and that no `port: 0` server
 * will take: it is below the kernel's ephemeral range (32768 and up on Linux).
 * A port freed from that range could be handed to the next fake backend, which
 * would then answer the "refused" route (or hold the port a proxy is about to bind).
 */
export function unusedPort(): number {
  const start = 20_000 + Math.floor(Math.random() * 10_000);
  for (let port = start; port < start + 2_000; port++) {
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch { /* in use: try the next */ }
  }
  throw new Error("no free port below the ephemeral range");
}

/** One request as a {@linkcode rawHttpBackend} saw it. */
export interface RawSeen {
  /** Request line and headers. */
  head: string;
  /** Request headers, parsed. */
  headers: Headers;
  /** The body as text. */
  body: string;
  /** The body parsed as JSON, or undefined. */
  json: Record<string, unknown> | undefined;
}

/** A running {@linkcode rawHttpBackend}: its address, connection counts and `close` are its {@linkcode TcpServer}'s. */
export interface RawHttpBackend extends TcpServer {
  /** Every request received, in order. */
  seen: RawSeen[];
}

/**
 * A minimal HTTP/1.1 backend over raw TCP: one request per connection, then
 * `respond`'s bytes are written verbatim and the connection is closed. It can
 * thus cut a response anywhere (e.g. inside a chunked body) without any
 * server library reporting the "error".
 */
export function rawHttpBackend(respond: (seen: RawSeen) => string): RawHttpBackend {
  const seen: RawSeen[] = [];
  const server = tcpServer(async ({ conn }) => {
    let bytes = new Uint8Array(0);
    const buf = new Uint8Array(64 * 1024);
    let headEnd = -1;
    let length = 0;
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return;
      const grown = new Uint8Array(bytes.length + n);
      grown.set(bytes);
      grown.set(buf.subarray(0, n), bytes.length);
      bytes = grown;
      if (headEnd < 0) {
        headEnd = decoder.decode(bytes).indexOf("\r\n\r\n");
        if (headEnd < 0) continue;
        const m = /\r\ncontent-length:\s*(\d+)/i.exec(decoder.decode(bytes.subarray(0, headEnd)));
        length = m ? Number(m[1]) : 0;
      }
      if (bytes.length >= headEnd + 4 + length) break;
    }
    const head = decoder.decode(bytes.subarray(0, headEnd));
    const body = decoder.decode(bytes.subarray(headEnd + 4, headEnd + 4 + length));
    const headers = new Headers();
    for (const line of head.split("\r\n").slice(1)) {
      const at = line.indexOf(":");
      headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
    }
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(body);
    } catch { /* not JSON */ }
    const request: RawSeen = { head, headers, body, json };
    seen.push(request);
    await conn.write(new TextEncoder().encode(respond(request)));
    // If the proxy went away first, the read or write throws: the server ends the connection either way.
  });
  return Object.assign(server, { seen });
}

/** A complete HTTP/1.1 response text that closes its connection. */
export function httpResponse(status: number, contentType: string, body: string): string {
  const length = new TextEncoder().encode(body).length;
  return `HTTP/1.1 ${status} X\r\ncontent-type: ${contentType}\r\ncontent-length: ${length}\r\nconnection: close\r\n\r\n${body}`;
}

/** A chunked SSE response text: `events` as chunks, then the end chunk unless `cut`. */
export function chunkedSse(events: string[], cut: boolean): string {
  const chunk = (s: string) => `${new TextEncoder().encode(s).length.toString(16)}\r\n${s}\r\n`;
  return "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n" +
    events.map(chunk).join("") + (cut ? "" : "0\r\n\r\n");
}
