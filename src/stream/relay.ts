/**
 * The one relay: an upstream body reaches the client as the client reads it
 * (so backpressure reaches the backend), through stages that turn upstream
 * bytes into client bytes, with configured keys masked last. SSE streams and
 * plain bodies alike: the stages differ, the relay does not. Every open
 * relay is in one registry (relay_registry.ts), which ends the silent ones
 * (PROXY_IDLE_TIMEOUT) and the rest at shutdown.
 *
 * @module
 */

import type { KeyStream } from "../security/key_stream.ts";
import type { ChunkSource } from "./chunk_reader.ts";
import { StreamLimitError } from "./sse_framer.ts";

/** How a relayed body ended. */
export type StreamEnd =
  /** Whole: the last event, or a clean close of a finished answer. */
  | "complete"
  /** The backend reported an error inside the stream (passed on, in the client's shape). */
  | "error"
  /** The backend's connection broke. */
  | "broken"
  /** The backend closed before the answer was finished. */
  | "truncated"
  /** One event grew past the framer's bound. */
  | "too_large"
  /** The backend was silent for PROXY_IDLE_TIMEOUT. */
  | "idle_timeout"
  /** The client left. */
  | "client_gone"
  /** The shutdown grace ran out. */
  | "shutdown";

/** The ends a relay reports with an error for the client. */
export type FailedEnd = Exclude<StreamEnd, "complete" | "error" | "client_gone">;

/** Why each failed end happened, for the client's error event. */
export const END_MESSAGES: Record<FailedEnd, [message: string, code: string]> = {
  broken: ["the backend broke off the stream", "upstream_stream_broken"],
  truncated: ["the backend ended the stream before the answer was finished", "upstream_stream_truncated"],
  too_large: [
    "the backend's stream outgrew modelpin's bounds (an event, or tool arguments, over 16 MiB)",
    "upstream_stream_too_large",
  ],
  idle_timeout: ["the backend sent nothing for longer than PROXY_IDLE_TIMEOUT", "upstream_idle_timeout"],
  shutdown: ["modelpin is shutting down", "proxy_shutdown"],
};

/** What a relay's stages say after a chunk: the bytes for the client, and whether the answer is over. */
export interface StageOutput {
  /** Bytes for the client (none yet is fine). */
  out: Uint8Array<ArrayBuffer> | undefined;
  /** Set when the answer is over: the relay ends the client's stream and aborts the upstream now. */
  end?: "complete" | "error";
}

/**
 * Turns one upstream body into the client's bytes. The relay calls `start`
 * once, `push` per upstream chunk, then `close` (clean end) or `fail`.
 */
export interface RelayStages {
  /** Bytes already in hand when the relay starts (a stream's judged head). */
  start(): StageOutput;
  /** Client bytes for an upstream chunk. May throw {@linkcode StreamLimitError}. */
  push(chunk: Uint8Array<ArrayBuffer>): StageOutput;
  /**
   * The upstream closed cleanly: its closing bytes and whether the answer is
   * complete, ended with an error event (the last one, without its blank line), or was cut short.
   */
  close(): { out: Uint8Array<ArrayBuffer> | undefined; end: "complete" | "error" | "truncated" };
  /** The client's error bytes for a failed end; `undefined` fails the body itself (it cannot carry an event). */
  fail(message: string, code: string): Uint8Array<ArrayBuffer> | undefined;
}

/** What a relay needs. */
export interface RelayOptions {
  /** The rest of the upstream body. */
  source: ChunkSource;
  /** Turns its bytes into the client's. */
  stages: RelayStages;
  /** Masks keys in everything the client gets, last; `undefined` when there are none. */
  keys: KeyStream | undefined;
  /** Aborts the upstream request, so the backend stops generating. */
  abortUpstream: () => void;
}

/** One relayed body: `body` is the client's, `ended` says how it ended. */
export class Relay {
  /** The body handed to the client. */
  readonly body: ReadableStream<Uint8Array<ArrayBuffer>>;
  /** Resolves once, with how the body ended. */
  readonly ended: Promise<StreamEnd>;
  /**
   * `Date.now()` since when the relay waits on the backend, or 0 while it is
   * not waiting. A slow client keeps the relay from reading, which is not idle.
   */
  waitingSince = 0;
  readonly #options: RelayOptions;
  #controller!: ReadableStreamDefaultController<Uint8Array<ArrayBuffer>>;
  #resolve!: (end: StreamEnd) => void;
  #over = false;

  /** Starts relaying; nothing is read upstream until the client pulls. */
  constructor(options: RelayOptions) {
    this.#options = options;
    this.ended = new Promise((resolve) => this.#resolve = resolve);
    this.body = new ReadableStream<Uint8Array<ArrayBuffer>>({
      start: (controller) => {
        this.#controller = controller;
        this.#take(() => options.stages.start());
      },
      pull: () => this.#pull(),
      cancel: () => {
        if (this.#finish("client_gone")) this.#stopUpstream();
      },
    }, { highWaterMark: 0 });
  }

  /** Reads until the client has bytes, or the body is over. */
  async #pull(): Promise<void> {
    let sent = false;
    while (!sent && !this.#over) {
      this.waitingSince = Date.now();
      let result;
      try {
        result = await this.#options.source.read();
      } catch {
        this.waitingSince = 0;
        this.terminate("broken");
        return;
      }
      this.waitingSince = 0;
      if (this.#over) return;
      if (result.done) {
        this.#close();
        return;
      }
      const value = result.value;
      sent = this.#take(() => this.#options.stages.push(value));
    }
  }

  /** Sends what a stage step gives and ends the body when it says so; true when bytes went out. */
  #take(step: () => StageOutput): boolean {
    let output: StageOutput;
    try {
      output = step();
    } catch (err) {
      // A bound reached ends the stream; so does a fault of a stage, said in the log (without its text).
      if (!(err instanceof StreamLimitError)) {
        console.error(`modelpin: a relayed stream failed: ${(err as Error).name}`);
      }
      this.terminate(err instanceof StreamLimitError ? "too_large" : "broken");
      return true;
    }
    const sent = this.#send(output.out);
    if (output.end !== undefined && this.#finish(output.end)) {
      this.#flushAndClose();
      this.#stopUpstream();
      return true;
    }
    return sent;
  }

  #send(bytes: Uint8Array<ArrayBuffer> | undefined): boolean {
    if (bytes === undefined || bytes.length === 0) return false;
    const out = this.#options.keys ? this.#options.keys.push(bytes) : bytes;
    if (out.length === 0) return false;
    this.#controller.enqueue(out);
    return true;
  }

  #close(): void {
    const closed = this.#options.stages.close();
    if (closed.end === "truncated") {
      this.terminate("truncated");
      return;
    }
    this.#send(closed.out);
    if (this.#finish(closed.end)) this.#flushAndClose();
  }

  #flushAndClose(): void {
    const held = this.#options.keys?.flush();
    if (held && held.length > 0) this.#controller.enqueue(held);
    this.#controller.close();
  }

  #finish(end: StreamEnd): boolean {
    if (this.#over) return false;
    this.#over = true;
    this.#resolve(end);
    return true;
  }

  #stopUpstream(): void {
    this.#options.abortUpstream();
    this.#options.source.cancel().catch(() => {});
  }

  /** Ends the body with the client's error for `end` and aborts the upstream request. */
  terminate(end: FailedEnd): void {
    if (!this.#finish(end)) return;
    const [message, code] = END_MESSAGES[end];
    try {
      // A body that cannot carry an error event fails as it is: what the key masker still holds (a key's possible
      // start) is never sent. An SSE error event follows whole events, so the masker holds nothing there.
      const bytes = this.#options.stages.fail(message, code);
      if (bytes === undefined) this.#controller.error(new Error(message));
      else {
        const masked = this.#options.keys ? this.#options.keys.push(bytes) : bytes;
        this.#controller.enqueue(masked);
        const held = this.#options.keys?.flush();
        if (held && held.length > 0) this.#controller.enqueue(held);
        this.#controller.close();
      }
    } catch { /* the client is already gone */ }
    this.#stopUpstream();
  }
}
