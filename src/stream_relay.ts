/**
 * The client side of an upstream SSE stream: bytes pass through as they
 * arrive, pulled only as fast as the client reads (so backpressure reaches
 * the backend), and a stream that ends badly ends with an SSE error event.
 *
 * @module
 */

import type { ChunkResult, ChunkSource } from "./chunk_reader.ts";
import { sseErrorEvent } from "./errors.ts";
import type { StreamKeyMasker } from "./secrets.ts";

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
}

const TAIL_BYTES = 64;
const MESSAGES: Record<Exclude<StreamEnd, "complete" | "client_gone">, [string, string]> = {
  broken: ["the backend broke off the stream", "upstream_stream_broken"],
  truncated: ["the backend ended the stream before [DONE]", "upstream_stream_truncated"],
  idle_timeout: ["the backend sent nothing for longer than PROXY_IDLE_TIMEOUT", "upstream_idle_timeout"],
  shutdown: ["modelpin is shutting down", "proxy_shutdown"],
};

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
  // The last bytes seen, to recognise a trailing `data: [DONE]` however it was split.
  #tail: Uint8Array = new Uint8Array(0);

  /** Starts relaying; nothing is read upstream until the client pulls. */
  constructor(options: RelayOptions) {
    this.#options = options;
    const masker = options.masker?.active ? options.masker : undefined;
    for (const chunk of options.prefetched) this.#remember(chunk);
    const first = masker ? options.prefetched.map((c) => masker.push(c)) : options.prefetched;
    this.stream = new ReadableStream<Uint8Array<ArrayBuffer>>({
      start: (controller) => {
        this.#controller = controller;
        for (const chunk of first) if (chunk.length > 0) controller.enqueue(chunk);
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

  #remember(chunk: Uint8Array<ArrayBuffer>): void {
    if (chunk.length >= TAIL_BYTES) {
      this.#tail = chunk.subarray(chunk.length - TAIL_BYTES);
      return;
    }
    const keep = Math.min(this.#tail.length, TAIL_BYTES - chunk.length);
    const tail = new Uint8Array(keep + chunk.length);
    tail.set(this.#tail.subarray(this.#tail.length - keep));
    tail.set(chunk, keep);
    this.#tail = tail;
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
      const held = masker?.flush();
      if (held) controller.enqueue(held);
      this.#finish("complete");
      controller.close();
      return;
    }
    this.#remember(result.value);
    if (masker?.active) {
      const out = masker.push(result.value);
      // Nothing to send yet (a key may be starting): read on, the client is still waiting.
      if (out.length === 0) return this.#pull(controller);
      controller.enqueue(out);
    } else {
      controller.enqueue(result.value);
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
      this.#controller.enqueue(sseErrorEvent(message, code));
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
