/**
 * Helpers for streaming and fault tests: bounded waits, an SSE event reader
 * for the client side, and a backend whose every stream the test drives.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type FakeBackend, fakeBackend, type Seen, sseResponse } from "./fake_backend.ts";

/**
 * Resolves like `promise`, or fails with `what` after `ms`: a test that would
 * hang fails instead. The timer is always cleared.
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `ms`: only for waits whose length is the point (cooldowns, idle periods). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/**
 * Waits until `check()` is true, one short turn at a time, failing after
 * `ms`. For state the proxy updates without an event to await.
 */
export async function eventually(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(5);
  }
}

/** A promise with its resolver. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
}

/** Asserts that none of `keys` occurs in `text`. */
export function assertNoKeys(text: string, keys: readonly string[], where: string): void {
  for (const key of keys) assert.ok(!text.includes(key), `${where} leaks key ${key}: ${text}`);
}

/** Reads a client's SSE body one complete event block at a time. */
export class EventReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = "";
  #done = false;
  /** Every event read so far, in order. */
  readonly events: string[] = [];

  /** Takes over `res.body`. */
  constructor(res: Response) {
    assert.ok(res.body, "response has no body");
    this.#reader = res.body.getReader();
  }

  /** The next event block (without its blank line), or `null` at the end of the stream. */
  async next(ms = 3000): Promise<string | null> {
    for (;;) {
      const at = this.#buffer.indexOf("\n\n");
      if (at >= 0) {
        const event = this.#buffer.slice(0, at);
        this.#buffer = this.#buffer.slice(at + 2);
        this.events.push(event);
        return event;
      }
      if (this.#done) {
        assert.equal(this.#buffer, "", `stream ended inside an event: ${JSON.stringify(this.#buffer)}`);
        return null;
      }
      const { done, value } = await within(this.#reader.read(), ms, "the next bytes of the proxy's stream");
      if (done) this.#done = true;
      else this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }

  /** Every remaining event, up to the end of the stream. */
  async rest(ms = 3000): Promise<string[]> {
    const out: string[] = [];
    for (let e = await this.next(ms); e !== null; e = await this.next(ms)) out.push(e);
    return out;
  }

  /** Hangs up (the client disconnects from the stream). */
  async cancel(): Promise<void> {
    await this.#reader.cancel();
  }
}

/** One stream served by a {@linkcode streamBackend}, driven by the test. */
export interface DrivenStream extends ReturnType<typeof sseResponse> {
  /** The request that opened it. */
  seen: Seen;
}

/** A backend that answers every request with a new SSE stream the test drives. */
export interface StreamBackend extends FakeBackend {
  /** Resolves with the n-th (0-based) stream once its request has arrived. */
  stream(n: number): Promise<DrivenStream>;
}

/** Starts a {@linkcode StreamBackend}. */
export function streamBackend(): StreamBackend {
  const streams: DrivenStream[] = [];
  const waiters: { n: number; resolve: (s: DrivenStream) => void }[] = [];
  const backend = fakeBackend((seen) => {
    const sse = sseResponse();
    const driven: DrivenStream = { ...sse, seen };
    streams.push(driven);
    for (const w of waiters.filter((w) => w.n === streams.length - 1)) w.resolve(driven);
    return sse.response;
  });
  return {
    ...backend,
    stream(n) {
      const s = streams[n];
      if (s) return Promise.resolve(s);
      return within(new Promise((resolve) => waiters.push({ n, resolve })), 3000, `backend stream #${n}`);
    },
  };
}

/** Resolves when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

/** The JSON of a `data:` event block. */
export function eventJson(event: string): Record<string, unknown> {
  const data = event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
  return JSON.parse(data);
}
