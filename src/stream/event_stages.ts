/**
 * The relay's stages for an SSE stream: upstream bytes are framed into
 * events once, each event is read once through its grammar (usage, finish,
 * the last event, an error), and a dialect's translator turns it into the
 * client's bytes. The stream is over at the grammar's last event, at an
 * error event, or when the translator says its answer is whole; a clean
 * close is complete only for an answer that finished.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import type { ContentMasker } from "./content_masker.ts";
import type { EventGrammar, EventInfo, JudgedEvent } from "./event_grammar.ts";
import type { RelayStages, StageOutput } from "./relay.ts";
import type { SseEvent, SseFramer } from "./sse_framer.ts";
import type { Usage } from "./usage.ts";

export type { JudgedEvent } from "./event_grammar.ts";

/** Client bytes, as text (a translation) or bytes (an event passed on). */
export type Output = string | Uint8Array<ArrayBuffer> | undefined;

/**
 * Turns upstream events into the client's. A dialect's translator keeps its
 * own state; the relay asks it for each event in order.
 */
export interface StreamTranslator {
  /** Client bytes for one upstream event. */
  event(event: SseEvent, info: EventInfo): Output;
  /** The answer is complete (its last event, or a clean close after its finish): the closing bytes. */
  complete(): Output;
  /** The stream failed: the client's error event, in the dialect's shape. */
  fail(message: string, code: string): string;
  /** True once the client's answer is whole: the relay ends the stream and stops the backend. */
  readonly finished: boolean;
}

const encoder = new TextEncoder();

/** The stages of one SSE stream. */
export class EventStages implements RelayStages {
  /** The last usage the backend reported. */
  usage: Usage | undefined;
  readonly #head: JudgedEvent[];
  readonly #framer: SseFramer;
  readonly #grammar: EventGrammar;
  readonly #translator: StreamTranslator;
  readonly #content: ContentMasker | undefined;
  #finished = false;
  /** The backend sent its finish or its last event (perhaps still held by the content masker). */
  #whole = false;
  #over: "complete" | "error" | undefined;
  #out: Uint8Array<ArrayBuffer>[] = [];

  /**
   * `head` are the events the judge read, `framer` holds the one in progress;
   * `content` masks keys split across events before the translator sees them.
   */
  constructor(
    head: JudgedEvent[],
    framer: SseFramer,
    grammar: EventGrammar,
    translator: StreamTranslator,
    content?: ContentMasker,
  ) {
    this.#head = head;
    this.#framer = framer;
    this.#grammar = grammar;
    this.#translator = translator;
    this.#content = content;
  }

  start(): StageOutput {
    for (const { event, info } of this.#head) this.#take(event, info);
    this.#head.length = 0;
    return this.#output();
  }

  push(chunk: Uint8Array<ArrayBuffer>): StageOutput {
    for (const event of this.#framer.push(chunk)) {
      if (this.#over) break;
      this.#take(event, this.#grammar.inspect(event));
    }
    // The events before an oversized one were passed on; the stream cannot go past it.
    if (this.#framer.overflow && !this.#over) throw this.#framer.overflow;
    return this.#output();
  }

  close(): { out: Uint8Array<ArrayBuffer> | undefined; end: "complete" | "error" | "truncated" } {
    const rest = this.#framer.end();
    if (rest !== undefined) {
      // A last block without its blank line: a client would drop it (SSE), so it counts only when it is whole
      // JSON, or the stream's end or error; a fragment of a stream that needs an end is not passed on.
      const info = this.#grammar.inspect(rest);
      const whole = info.json !== undefined || info.kind === "done" || info.kind === "error";
      if (whole || !this.#grammar.needsEnd) this.#take(rest, info);
    }
    // Held events go on; a key's start they held is masked when the answer was cut short.
    const broken = this.#grammar.needsEnd && !this.#whole;
    for (const held of this.#content?.flush(broken) ?? []) this.#feed(held.event, held.info);
    if (this.#over === undefined) {
      // A stream that delivered its finish is complete without its last event; never one made up.
      if (this.#grammar.needsEnd && !this.#finished) return { out: undefined, end: "truncated" };
      this.#add(this.#translator.complete());
    }
    return { out: this.#output().out, end: this.#over ?? "complete" };
  }

  fail(message: string, code: string): Uint8Array<ArrayBuffer> {
    // Events held for a possible key go first: they are the backend's, and whole (a key's start in them masked).
    for (const held of this.#content?.flush(true) ?? []) this.#feed(held.event, held.info);
    this.#add(this.#translator.fail(message, code));
    return this.#output().out ?? new Uint8Array(0);
  }

  /** An upstream event, through the content masker when there is one. */
  #take(event: SseEvent, info: EventInfo): void {
    if (info.finished || info.kind === "done") this.#whole = true;
    if (this.#content === undefined) return this.#feed(event, info);
    for (const held of this.#content.push(event, info)) this.#feed(held.event, held.info);
  }

  #feed(event: SseEvent, info: EventInfo): void {
    if (this.#over) return;
    if (info.usage) this.usage = info.usage;
    if (info.finished) this.#finished = true;
    this.#add(this.#translator.event(event, info));
    if (info.kind === "done") this.#over = "complete";
    else if (info.kind === "error") this.#over = "error";
    else if (this.#translator.finished) this.#over = "complete";
  }

  #add(out: Output): void {
    if (out === undefined || out.length === 0) return;
    this.#out.push(typeof out === "string" ? encoder.encode(out) : out);
  }

  #output(): StageOutput {
    const parts = this.#out;
    this.#out = [];
    const out = parts.length === 0 ? undefined : concatBytes(parts);
    return this.#over ? { out, end: this.#over } : { out };
  }
}

/** The stages of a body that is not SSE: its bytes as they come (keys are masked by the relay). */
export class BodyStages implements RelayStages {
  readonly #head: Uint8Array<ArrayBuffer>[];

  /** `head` are the chunks already read. */
  constructor(head: Uint8Array<ArrayBuffer>[]) {
    this.#head = head;
  }

  start(): StageOutput {
    const out = this.#head.length === 0 ? undefined : concatBytes(this.#head);
    this.#head.length = 0;
    return { out };
  }

  push(chunk: Uint8Array<ArrayBuffer>): StageOutput {
    return { out: chunk };
  }

  close(): { out: undefined; end: "complete" } {
    return { out: undefined, end: "complete" };
  }

  fail(): undefined {
    return undefined;
  }
}

/** A translator that passes every event on as it came; `fail` renders the client's error event. */
export function passThrough(fail: (message: string, code: string) => string): StreamTranslator {
  return {
    event: (event) => event.raw,
    complete: () => undefined,
    fail,
    finished: false,
  };
}
