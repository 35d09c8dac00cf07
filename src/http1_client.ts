/**
 * A small keep-alive HTTP/1.1 client for plain-`http://` backends (a local
 * Ollama or vLLM, a LAN box), where the proxy's own cost is all the user
 * notices. Measured here, Deno's `fetch` costs about twice the CPU per
 * request of this client; `https://` backends keep using `fetch` (TLS,
 * HTTP/2, proxy settings), where the network dominates anyway.
 *
 * It speaks exactly what a relay needs: one request per connection at a
 * time, `content-length` or chunked request bodies, and responses framed by
 * `content-length`, chunked encoding or connection close. Redirects are
 * never followed (they come back as responses).
 *
 * @module
 */

import type { FetchLike } from "./forwarder.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CRLF2 = [13, 10, 13, 10];
const READ_BYTES = 16 * 1024;
const MAX_HEAD_BYTES = 64 * 1024;

/** Pool limits. */
export interface Http1ClientOptions {
  /** Idle connections kept per host:port. */
  maxIdlePerHost: number;
  /** How long an idle connection is kept, in ms. */
  idleTimeoutMs: number;
}

interface Idle {
  conn: Deno.Conn;
  since: number;
}

/** Thrown when a backend's answer is not HTTP/1.1 as this client understands it. */
export class Http1Error extends Error {
  /** Builds the error with its reason. */
  constructor(message: string) {
    super(message);
    this.name = "Http1Error";
  }
}

/** The client: `fetch` for `http://` URLs, and `close` for its idle connections. */
export class Http1Client {
  readonly #options: Http1ClientOptions;
  readonly #idle = new Map<string, Idle[]>();
  #closed = false;

  /** Creates a client with its own connection pool. */
  constructor(options: Http1ClientOptions) {
    this.#options = options;
  }

  /** Closes every idle connection; in-flight requests finish on their own. */
  close(): void {
    this.#closed = true;
    for (const list of this.#idle.values()) for (const idle of list) closeQuietly(idle.conn);
    this.#idle.clear();
  }

  /** A `fetch` for `http://` URLs on this client's pool. */
  readonly fetch: FetchLike = (url, init) => this.#fetch(url, init);

  async #fetch(url: string, init: RequestInit): Promise<Response> {
    const target = new URL(url);
    if (target.protocol !== "http:") throw new TypeError(`Http1Client only speaks http://, not ${target.protocol}`);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) throw abortError();
    const key = target.host;
    const request = serialise(target, init);
    // A pooled connection may have been closed by the backend meanwhile: if it
    // fails before a single response byte, the request never ran, so it is sent
    // once more on a new connection.
    for (let attempt = 0;; attempt++) {
      const pooled = attempt === 0 ? this.#take(key) : undefined;
      const conn = pooled ?? await connect(target, signal);
      const onAbort = () => closeQuietly(conn);
      signal?.addEventListener("abort", onAbort, { once: true });
      let written = false;
      try {
        await writeAll(conn, request);
        written = true;
        const head = await readHead(conn);
        if (head === undefined) {
          if (pooled) {
            signal?.removeEventListener("abort", onAbort);
            closeQuietly(conn);
            continue;
          }
          throw new Http1Error("the backend closed the connection without answering");
        }
        return this.#response(
          conn,
          key,
          head,
          init.method ?? "GET",
          () => signal?.removeEventListener("abort", onAbort),
        );
      } catch (err) {
        signal?.removeEventListener("abort", onAbort);
        closeQuietly(conn);
        if (signal?.aborted) throw abortError();
        // A stale pooled connection that fails while the request is being written never ran it.
        if (pooled && !written) continue;
        throw err;
      }
    }
  }

  #take(key: string): Deno.Conn | undefined {
    const list = this.#idle.get(key);
    const now = Date.now();
    while (list && list.length > 0) {
      const idle = list.pop()!;
      if (now - idle.since < this.#options.idleTimeoutMs) return idle.conn;
      closeQuietly(idle.conn);
    }
    return undefined;
  }

  #give(key: string, conn: Deno.Conn): void {
    let list = this.#idle.get(key);
    if (!list) this.#idle.set(key, list = []);
    if (this.#closed || list.length >= this.#options.maxIdlePerHost) closeQuietly(conn);
    else list.push({ conn, since: Date.now() });
  }

  #response(conn: Deno.Conn, key: string, head: Head, method: string, release: () => void): Response {
    const noBody = method === "HEAD" || head.status === 204 || head.status === 304 || head.status < 200;
    const chunked = /\bchunked\b/i.test(head.headers.get("transfer-encoding") ?? "");
    const lengthText = head.headers.get("content-length");
    const length = chunked || lengthText === null ? undefined : Number(lengthText);
    const reusable = !/\bclose\b/i.test(head.headers.get("connection") ?? "") &&
      (noBody || chunked || length !== undefined);
    const done = () => {
      release();
      if (reusable) this.#give(key, conn);
      else closeQuietly(conn);
    };
    if (noBody || length === 0) {
      done();
      return new Response(noBody ? null : new Uint8Array(0), { status: head.status, headers: head.headers });
    }
    if (length !== undefined && !(Number.isSafeInteger(length) && length >= 0)) {
      release();
      closeQuietly(conn);
      throw new Http1Error(`invalid content-length ${lengthText}`);
    }
    // Upstream is asked for identity; a backend that compresses anyway is decoded, as fetch
    // would, so the bytes passed on always match the headers passed on.
    const coding = head.headers.get("content-encoding")?.trim().toLowerCase() ?? "identity";
    const decoding = coding === "gzip" || coding === "x-gzip" ? "gzip" : coding === "deflate" ? "deflate" : undefined;
    if (coding !== "identity" && decoding === undefined) {
      release();
      closeQuietly(conn);
      throw new Http1Error(`unsupported content-encoding ${coding}`);
    }
    const body = new BodyReader(conn, head.rest, chunked ? "chunked" : length !== undefined ? length : "close");
    const stream = new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: async (controller) => {
        let chunk: Uint8Array<ArrayBuffer> | undefined;
        try {
          chunk = await body.next();
        } catch (err) {
          release();
          closeQuietly(conn);
          controller.error(err);
          return;
        }
        if (chunk === undefined) {
          done();
          controller.close();
        } else {
          controller.enqueue(chunk);
        }
      },
      cancel: () => {
        release();
        closeQuietly(conn);
      },
    }, { highWaterMark: 0 });
    if (decoding === undefined) return new Response(stream, { status: head.status, headers: head.headers });
    head.headers.delete("content-encoding");
    head.headers.delete("content-length");
    return new Response(stream.pipeThrough(new DecompressionStream(decoding)), {
      status: head.status,
      headers: head.headers,
    });
  }
}

function abortError(): DOMException {
  return new DOMException("The request was aborted", "AbortError");
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

async function connect(target: URL, signal: AbortSignal | undefined): Promise<Deno.Conn> {
  const port = target.port === "" ? 80 : Number(target.port);
  const hostname = target.hostname.startsWith("[") ? target.hostname.slice(1, -1) : target.hostname;
  const conn = await Deno.connect({ hostname, port, signal });
  conn.setNoDelay(true);
  return conn;
}

/** The request as bytes: head and body in one buffer, so it goes out in one write. */
function serialise(target: URL, init: RequestInit): Uint8Array {
  const method = init.method ?? "GET";
  let head = `${method} ${target.pathname}${target.search} HTTP/1.1\r\nhost: ${target.host}\r\n`;
  const headers = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
  for (const [name, value] of headers) {
    if (name === "host" || name === "content-length" || name === "transfer-encoding" || name === "connection") continue;
    head += `${name}: ${value}\r\n`;
  }
  const body = init.body;
  let bytes: Uint8Array;
  if (body === null || body === undefined) bytes = new Uint8Array(0);
  else if (typeof body === "string") bytes = encoder.encode(body);
  else if (body instanceof Uint8Array) bytes = body;
  else if (body instanceof ArrayBuffer) bytes = new Uint8Array(body);
  else throw new TypeError("Http1Client sends string and byte bodies only");
  if (bytes.length > 0 || (method !== "GET" && method !== "HEAD")) head += `content-length: ${bytes.length}\r\n`;
  const headBytes = encoder.encode(head + "\r\n");
  if (bytes.length === 0) return headBytes;
  const out = new Uint8Array(headBytes.length + bytes.length);
  out.set(headBytes);
  out.set(bytes, headBytes.length);
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

interface Head {
  status: number;
  headers: Headers;
  /** Bytes read past the head: the start of the body. */
  rest: Uint8Array;
}

function indexOfHeadEnd(buf: Uint8Array, from: number): number {
  for (let i = Math.max(0, from - 3); i + 3 < buf.length; i++) {
    if (buf[i] === CRLF2[0] && buf[i + 1] === CRLF2[1] && buf[i + 2] === CRLF2[2] && buf[i + 3] === CRLF2[3]) {
      return i;
    }
  }
  return -1;
}

/**
 * Reads a response head, skipping 1xx interim responses. `undefined` when the
 * connection ended (closed or reset) before a single byte: the request never ran.
 */
async function readHead(conn: Deno.Conn): Promise<Head | undefined> {
  let buf = new Uint8Array(0);
  for (;;) {
    const scratch = new Uint8Array(READ_BYTES);
    let n: number | null;
    try {
      n = await conn.read(scratch);
    } catch (err) {
      if (buf.length === 0 && err instanceof Deno.errors.ConnectionReset) return undefined;
      throw err;
    }
    if (n === null) {
      if (buf.length === 0) return undefined;
      throw new Http1Error("the backend closed the connection in the middle of its response head");
    }
    const grown = new Uint8Array(buf.length + n);
    grown.set(buf);
    grown.set(scratch.subarray(0, n), buf.length);
    const searchFrom = buf.length;
    buf = grown;
    let end = indexOfHeadEnd(buf, searchFrom);
    while (end >= 0) {
      const head = parseHead(decoder.decode(buf.subarray(0, end)), buf.subarray(end + 4));
      if (head.status >= 200 || head.status === 101) return head;
      buf = buf.slice(end + 4); // 1xx: an interim answer, the real one follows
      end = indexOfHeadEnd(buf, 0);
    }
    if (buf.length > MAX_HEAD_BYTES) throw new Http1Error("the backend's response head is too large");
  }
}

function parseHead(text: string, rest: Uint8Array): Head {
  const lines = text.split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) throw new Http1Error("the backend did not answer in HTTP/1.x");
  const headers = new Headers();
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(":");
    if (colon <= 0) continue;
    try {
      headers.append(lines[i].slice(0, colon).trim(), lines[i].slice(colon + 1).trim());
    } catch { /* a header Deno cannot represent is dropped */ }
  }
  return { status: Number(m[1]), headers, rest: rest.slice() };
}

/** Reads a response body framed by length, chunked encoding or connection close. */
class BodyReader {
  readonly #conn: Deno.Conn;
  #buf: Uint8Array;
  readonly #mode: "chunked" | "close" | number;
  #remaining: number;
  // Chunked: bytes left in the current chunk, or -1 when a size line comes next.
  #chunkLeft = -1;
  #finished = false;
  #scratch: Uint8Array | undefined;

  constructor(conn: Deno.Conn, rest: Uint8Array, mode: "chunked" | "close" | number) {
    this.#conn = conn;
    this.#buf = rest;
    this.#mode = mode;
    this.#remaining = typeof mode === "number" ? mode : Infinity;
  }

  /** More bytes from the socket into the buffer; false at EOF. */
  async #fill(): Promise<boolean> {
    // One scratch buffer per body, reused; what is kept is an exact-size copy.
    const scratch = this.#scratch ??= new Uint8Array(READ_BYTES);
    const n = await this.#conn.read(scratch);
    if (n === null) return false;
    if (this.#buf.length === 0) {
      this.#buf = scratch.slice(0, n);
    } else {
      const grown = new Uint8Array(this.#buf.length + n);
      grown.set(this.#buf);
      grown.set(scratch.subarray(0, n), this.#buf.length);
      this.#buf = grown;
    }
    return true;
  }

  #take(n: number): Uint8Array<ArrayBuffer> {
    // A view, not a copy: the buffer behind it is already this body's own, sized to what was read.
    const out = this.#buf.subarray(0, n) as Uint8Array<ArrayBuffer>;
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  /** The next piece of body, or `undefined` once the body is complete. */
  async next(): Promise<Uint8Array<ArrayBuffer> | undefined> {
    if (this.#finished) return undefined;
    if (this.#mode === "chunked") return await this.#nextChunked();
    if (this.#remaining === 0) {
      this.#finished = true;
      return undefined;
    }
    if (this.#buf.length === 0 && !(await this.#fill())) {
      if (this.#mode === "close") {
        this.#finished = true;
        return undefined;
      }
      throw new Http1Error("the backend closed the connection before the whole body arrived");
    }
    const out = this.#take(Math.min(this.#buf.length, this.#remaining));
    this.#remaining -= out.length;
    return out;
  }

  async #line(): Promise<string> {
    for (;;) {
      const i = this.#buf.indexOf(10);
      if (i >= 0) {
        const line = decoder.decode(this.#buf.subarray(0, i)).replace(/\r$/, "");
        this.#buf = this.#buf.subarray(i + 1);
        return line;
      }
      if (this.#buf.length > MAX_HEAD_BYTES) throw new Http1Error("a chunk size line is too long");
      if (!(await this.#fill())) throw new Http1Error("the backend broke off a chunked body");
    }
  }

  async #nextChunked(): Promise<Uint8Array<ArrayBuffer> | undefined> {
    for (;;) {
      if (this.#chunkLeft === -1) {
        const line = await this.#line();
        const size = parseInt(line.split(";")[0].trim(), 16);
        if (!Number.isFinite(size) || size < 0 || !/^[0-9a-f]+/i.test(line.trim())) {
          throw new Http1Error("the backend sent a malformed chunk size");
        }
        if (size === 0) {
          // Trailers, if any, end with an empty line.
          while ((await this.#line()) !== "");
          this.#finished = true;
          return undefined;
        }
        this.#chunkLeft = size;
      }
      if (this.#chunkLeft === 0) {
        if ((await this.#line()) !== "") throw new Http1Error("the backend sent a malformed chunk");
        this.#chunkLeft = -1;
        continue;
      }
      if (this.#buf.length === 0 && !(await this.#fill())) {
        throw new Http1Error("the backend broke off a chunked body");
      }
      const out = this.#take(Math.min(this.#buf.length, this.#chunkLeft));
      this.#chunkLeft -= out.length;
      return out;
    }
  }
}
