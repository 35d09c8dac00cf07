/**
 * The client side of an upstream SSE stream: bytes pass through as they
 * arrive, pulled only as fast as the client reads (so backpressure reaches
 * the backend), and a stream that ends badly ends with an SSE error event.
 *
 * @module
 */

import type { ChunkResult, ChunkSource } from "../upstream/chunk_reader.ts";
import { sseErrorEvent } from "../errors/errors.ts";
import type { StreamKeyMasker } from "../security/secrets.ts";

/** How a relayed stream ended. */
export type StreamEnd =
  | "complete"
  | "broken"
  | "truncated"
  | "idle_timeout"
  | "client_gone"
  | "shutdown";

/** What a relay needs: the upstream reader, how to abort it, and its limits. */
export interface RelayOptions {
  /** Chunks already read from upstream (up to the first event). */
  prefetched: Uint8Array<ArrayBuffer>[];
  /** The rest of the upstream body. */
  reader: ChunkSource;
  /** Aborts the upstream request, so the backend stops generating. */
  abortUpstream: () => void;
  /** Whether a well-formed stream ends with `data: [DONE]` (chat and text completions). */
  expectDone: boolean;
  /** Called once, when the stream has ended for whatever reason. */
  onEnd: (end: StreamEnd) => void;
  /** Masks configured keys in what passes (a backend may echo one in an error event). */
  masker?: StreamKeyMasker;
  /** Rewrites what passes (the Anthropic front door's OpenAI-to-Anthropic SSE translator). */
  transform?: StreamTransform;
}

/**
 * A byte-level rewriter of the relayed stream. `push` turns upstream bytes
 * into client bytes (possibly none yet), `end` gives the closing bytes of a
 * stream that ended well, `error` the client's error event for one that did
 * not (instead of the OpenAI-shaped one). Keys are masked after it.
 */
export interface StreamTransform {
  /** Client bytes for a chunk of upstream bytes. */
  push(chunk: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer>;
  /** Client bytes once upstream ended well. */
  end(): Uint8Array<ArrayBuffer>;
  /** The error event ending a stream that failed. */
  error(message: string): Uint8Array<ArrayBuffer>;
}

const TAIL_BYTES = 64;
const MESSAGES: Record<Exclude<StreamEnd, "complete" | "client_gone">, [string, string]> = {
  broken: ["the backend broke off the stream", "upstream_stream_broken"],
  truncated: ["the backend ended the stream before [DONE]", "upstream_stream_truncated"],
  idle_timeout: ["the backend sent nothing for longer than PROXY_IDLE_TIMEOUT", "upstream_idle_timeout"],
  shutdown: ["modelpin is shutting down", "proxy_shutdown"],
};

const BLANK_LINE = new TextEncoder().encode("\n\n");

/** `tail` followed by `chunk`, cut to its last `max` bytes. */
function lastBytes(tail: Uint8Array, chunk: Uint8Array, max: number): Uint8Array {
  if (chunk.length >= max) return chunk.subarray(chunk.length - max);
  const keep = Math.min(tail.length, max - chunk.length);
  const out = new Uint8Array(keep + chunk.length);
  out.set(tail.subarray(tail.length - keep));
  out.set(chunk, keep);
  return out;
}

/** True when nothing was sent yet or the bytes sent end an SSE event (a blank line). */
function endsEvent(sent: Uint8Array): boolean {
  if (sent.length === 0) return true;
  const n = sent.length;
  const lf = 10;
  const cr = 13;
  return (sent[n - 1] === lf && (sent[n - 2] === lf || (sent[n - 2] === cr && sent[n - 3] === lf))) ||
    (sent[n - 1] === cr && sent[n - 2] === cr);
}

/** True when the last bytes seen end with a `data: [DONE]` event. */
function endsWithDone(tail: Uint8Array): boolean {
  return /(^|[\r\n])data: ?\[DONE\][\r\n\s]*$/.test(new TextDecoder().decode(tail));
}

/** One relayed stream. `stream` is the response body; `terminate` ends it early. */
export class StreamRelay {
  /** The body handed to the client. */
  readonly stream: ReadableStream<Uint8Array<ArrayBuffer>>;
  /**
   * `Date.now()` when the relay started waiting on upstream, or 0 while it is
   * not waiting. A slow client keeps the relay from reading, which is not idle.
   */
  waitingSince = 0;
  #options: RelayOptions;
  #controller!: ReadableStreamDefaultController<Uint8Array<ArrayBuffer>>;
  #ended = false;
  // The last bytes from upstream, to recognise a trailing `data: [DONE]` however it was split.
  #tail: Uint8Array = new Uint8Array(0);
  // The last bytes sent to the client, to end a half-sent event before an error event.
  #sent: Uint8Array = new Uint8Array(0);

  /** Starts relaying; nothing is read upstream until the client pulls. */
  constructor(options: RelayOptions) {
    this.#options = options;
    const masker = options.masker?.active ? options.masker : undefined;
    for (const chunk of options.prefetched) this.#tail = lastBytes(this.#tail, chunk, TAIL_BYTES);
    const transform = options.transform;
    const shaped = transform ? options.prefetched.map((c) => transform.push(c)) : options.prefetched;
    const first = masker ? shaped.map((c) => masker.push(c)) : shaped;
    options.prefetched = [];
    this.stream = new ReadableStream<Uint8Array<ArrayBuffer>>({
      start: (controller) => {
        this.#controller = controller;
        for (const chunk of first) this.#send(chunk);
      },
      pull: (controller) => this.#pull(controller),
      cancel: () => {
        if (this.#finish("client_gone")) {
          options.abortUpstream();
          options.reader.cancel().catch(() => {});
        }
      },
    }, { highWaterMark: 0 });
  }

  #send(chunk: Uint8Array<ArrayBuffer>): void {
    if (chunk.length === 0) return;
    this.#sent = lastBytes(this.#sent, chunk, 4);
    this.#controller.enqueue(chunk);
  }

  async #pull(controller: ReadableStreamDefaultController<Uint8Array<ArrayBuffer>>): Promise<void> {
    let result: ChunkResult;
    this.waitingSince = Date.now();
    try {
      result = await this.#options.reader.read();
    } catch {
      if (!this.#ended) this.terminate("broken");
      return;
    }
    this.waitingSince = 0;
    if (this.#ended) return;
    const masker = this.#options.masker;
    if (result.done) {
      if (this.#options.expectDone && !endsWithDone(this.#tail)) {
        this.terminate("truncated");
        return;
      }
      const closing = this.#options.transform?.end();
      if (closing) this.#send(masker?.active ? masker.push(closing) : closing);
      const held = masker?.flush();
      if (held) this.#send(held);
      this.#finish("complete");
      controller.close();
      return;
    }
    this.#tail = lastBytes(this.#tail, result.value, TAIL_BYTES);
    const value = this.#options.transform ? this.#options.transform.push(result.value) : result.value;
    if (value.length === 0) return this.#pull(controller); // nothing for the client yet: read on
    if (masker?.active) {
      const out = masker.push(value);
      // Nothing to send yet (a key may be starting): read on, the client is still waiting.
      if (out.length === 0) return this.#pull(controller);
      this.#send(out);
    } else {
      this.#send(value);
    }
  }

  #finish(end: StreamEnd): boolean {
    if (this.#ended) return false;
    this.#ended = true;
    this.#options.onEnd(end);
    return true;
  }

  /** Ends the stream with an SSE error event and aborts the upstream request. */
  terminate(end: Exclude<StreamEnd, "complete" | "client_gone">): void {
    if (!this.#finish(end)) return;
    const [message, code] = MESSAGES[end];
    try {
      // Close a half-sent event first, or the error event would be glued onto it. Bytes the
      // key masker still holds (a possible key's start) are dropped, not sent.
      if (!endsEvent(this.#sent)) this.#controller.enqueue(BLANK_LINE);
      const transform = this.#options.transform;
      this.#controller.enqueue(transform ? transform.error(message) : sseErrorEvent(message, code));
      this.#controller.close();
    } catch { /* the client is already gone */ }
    this.#options.abortUpstream();
    this.#options.reader.cancel().catch(() => {});
  }
}

/** Keeps the open relays, to enforce the idle timeout and end them on shutdown. */
export class RelayRegistry {
  readonly #relays = new Set<StreamRelay>();
  readonly #idleTimeoutMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `idleTimeoutMs` of 0 turns the idle check off. */
  constructor(idleTimeoutMs: number) {
    this.#idleTimeoutMs = idleTimeoutMs;
  }

  /** Number of streams open now. */
  get size(): number {
    return this.#relays.size;
  }

  /** Tracks a relay until it ends. */
  add(relay: StreamRelay): void {
    this.#relays.add(relay);
    // One coarse timer for all streams instead of a timer reset per chunk.
    if (this.#timer === undefined && this.#idleTimeoutMs > 0) {
      const every = Math.max(10, Math.min(1000, Math.floor(this.#idleTimeoutMs / 4)));
      const timer = setInterval(() => this.#checkIdle(), every);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  /** Stops tracking a relay that ended. */
  delete(relay: StreamRelay): void {
    this.#relays.delete(relay);
    if (this.#relays.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #checkIdle(): void {
    const deadline = Date.now() - this.#idleTimeoutMs;
    for (const relay of this.#relays) {
      if (relay.waitingSince !== 0 && relay.waitingSince <= deadline) relay.terminate("idle_timeout");
    }
  }

  /** Ends every open stream with an SSE error event (used when shutdown's grace runs out). */
  terminateAll(end: "shutdown"): void {
    for (const relay of [...this.#relays]) relay.terminate(end);
  }
}
