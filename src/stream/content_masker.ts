/**
 * Keys split across events. A client joins the text deltas of a stream
 * (`delta.content`, tool arguments, a Responses `*.delta`), so a key the
 * backend sends a few characters per event is readable in what the client
 * assembles although no single event holds it. This stage reads the text
 * fields of the backend's events per *channel* (one choice's content, one
 * tool call's arguments, one Responses item's part), finds keys across the
 * events of a channel in every spelling (the key masker's matching), and
 * masks them in the events before they go on: the mask goes where the key
 * starts, the rest of the key is removed from the later events.
 *
 * An event whose channel ends with the start of a key (three bytes or more)
 * is held until the channel's next text shows whether the key follows;
 * events behind it wait too, so nothing is reordered. A channel's end (a
 * finish, the last event, an error, a Responses event that is not a delta)
 * lets everything go, and so do the bounds (64 events, 1 MiB held). A key
 * whose first one or two characters went out before it could be seen is
 * masked from there on. The bytes of an event change only when its text did.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { type KeyMasker, MASK } from "../security/key_masker.ts";
import type { EventGrammar, EventInfo, JsonObject, JudgedEvent } from "./event_grammar.ts";
import { type SseEvent, sseEvent } from "./sse_framer.ts";

/** A text field of an event, in its channel. */
interface Field {
  channel: string;
  holder: JsonObject;
  key: string;
}

/** One event waiting to go on, and the channels that still hold it. */
interface Held {
  event: SseEvent;
  info: EventInfo;
  changed: boolean;
  waits: Set<string>;
}

/**
 * One text field not yet sent: its bytes as the backend wrote them, where
 * they start in the channel's text, and the key ranges cut out of them.
 */
interface Segment {
  held: Held;
  field: Field;
  raw: Uint8Array<ArrayBuffer>;
  from: number;
  cuts: Cut[];
}

/** A key's range in a segment (channel positions), and whether the mask goes there. */
interface Cut {
  start: number;
  stop: number;
  mask: boolean;
}

/**
 * A channel's text so far, kept only as far as it is undecided: `pending` is
 * its bytes from the earliest point a key could still start (at most a key's
 * spelling), `open` the segments held for it. Each byte is scanned once,
 * plus the few undecided ones again with the next text.
 */
interface Channel {
  end: number;
  pending: Uint8Array<ArrayBuffer>;
  open: Segment[];
}

/** What a key may start with before an event is held for it. */
const MIN_HELD_START = 3;
/** The most events held at once. */
const MAX_HELD_EVENTS = 64;
/** The most event bytes held at once. */
const MAX_HELD_BYTES = 1024 * 1024;
const NOTHING = new Uint8Array(0);

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The text fields of a chat (or completions) chunk, by channel. */
function chatFields(json: JsonObject): Field[] {
  const fields: Field[] = [];
  if (!Array.isArray(json.choices)) return fields;
  json.choices.forEach((choice, i) => {
    if (!isObject(choice)) return;
    const c = `c${typeof choice.index === "number" ? choice.index : i}`;
    if (typeof choice.text === "string") fields.push({ channel: `${c}.text`, holder: choice, key: "text" });
    const delta = choice.delta;
    if (!isObject(delta)) return;
    for (const key of ["content", "reasoning_content", "reasoning", "refusal"]) {
      if (typeof delta[key] === "string") fields.push({ channel: `${c}.${key}`, holder: delta, key });
    }
    if (!Array.isArray(delta.tool_calls)) return;
    for (const call of delta.tool_calls) {
      if (!isObject(call) || !isObject(call.function) || typeof call.function.arguments !== "string") continue;
      const id = typeof call.index === "number" ? call.index : typeof call.id === "string" ? call.id : "?";
      fields.push({ channel: `${c}.tool.${id}`, holder: call.function, key: "arguments" });
    }
  });
  return fields;
}

/** The text field of a Responses delta event, by its item and part. */
function responsesFields(json: JsonObject): Field[] {
  const type = String(json.type ?? "");
  if (!type.endsWith(".delta") || typeof json.delta !== "string") return [];
  const part = json.content_index ?? json.summary_index ?? "";
  return [{ channel: `${type}|${json.item_id}|${json.output_index}|${part}`, holder: json, key: "delta" }];
}

/** Masks keys split across the events of a stream, before they go on. */
export class ContentMasker {
  readonly #masker: KeyMasker;
  readonly #grammar: EventGrammar;
  readonly #queue: Held[] = [];
  #queuedBytes = 0;
  /** Per channel: its undecided bytes and the segments held for them. */
  readonly #channels = new Map<string, Channel>();

  /** Masks `masker`'s keys in the text fields of `grammar`'s events. */
  constructor(masker: KeyMasker, grammar: EventGrammar) {
    this.#masker = masker;
    this.#grammar = grammar;
  }

  /** The events that may go on now, in order, for one upstream event. */
  push(event: SseEvent, info: EventInfo): JudgedEvent[] {
    const held: Held = { event, info, changed: false, waits: new Set() };
    const fields = info.json === undefined
      ? []
      : this.#grammar.name === "chat"
      ? chatFields(info.json)
      : this.#grammar.name === "responses"
      ? responsesFields(info.json)
      : [];
    for (const field of fields) this.#add(held, field);
    this.#queue.push(held);
    this.#queuedBytes += event.raw.length;
    // The end of a channel: nothing more can complete a key that started in it (an item's or part's `.done`
    // event on the Responses API; other events in between, such as `in_progress`, end nothing).
    const ends = info.kind === "done" || info.kind === "error" || info.finished === true ||
      (this.#grammar.name === "responses" && String(info.json?.type ?? "").endsWith(".done"));
    return ends ? this.flush() : this.#release();
  }

  /** Everything held, for the stream's end. */
  flush(): JudgedEvent[] {
    for (const name of this.#channels.keys()) this.#close(name);
    return this.#release();
  }

  /**
   * A channel's held text goes on: a key complete in its undecided bytes is
   * cut first (one that is also the start of a longer key was left to see
   * whether the longer one follows). The bytes stay undecided for the text
   * that may still come, so a key that goes on is masked from there on.
   */
  #close(name: string): void {
    const channel = this.#channels.get(name)!;
    if (channel.open.length > 0) {
      const { matches } = this.#masker.locate(channel.pending, channel.pending.length, true);
      const base = channel.end - channel.pending.length;
      for (const [start, stop] of matches) cut(channel.open, base + start, base + stop, channel.open[0].from);
    }
    for (const s of channel.open) s.held.waits.delete(name);
    channel.open = [];
  }

  /**
   * Adds one text field to its channel and scans it after the channel's
   * undecided bytes: keys found are cut out of the segments still unsent,
   * and what may still become a key is held.
   */
  #add(held: Held, field: Field): void {
    let channel = this.#channels.get(field.channel);
    if (channel === undefined) this.#channels.set(field.channel, channel = { end: 0, pending: NOTHING, open: [] });
    const raw = encoder.encode(String(field.holder[field.key]));
    const segment: Segment = { held, field, raw, from: channel.end, cuts: [] };
    const segments = [...channel.open, segment];
    const base = channel.end - channel.pending.length;
    const bytes = channel.pending.length === 0 ? raw : concatBytes([channel.pending, raw]);
    channel.end += raw.length;
    const { matches, limit } = this.#masker.locate(bytes, bytes.length, false);
    // Text before the first unsent segment went out: a key that started there is masked from there on.
    const sent = segments[0].from;
    for (const [start, stop] of matches) cut(segments, base + start, base + stop, sent);
    // What may still become a key stays open (held). A key whose first characters already went out is held from
    // here on all the same: only those few characters are lost.
    const undecided = base + limit;
    const holding = channel.end - undecided >= MIN_HELD_START;
    const open = holding ? segments.filter((s) => s.from + s.raw.length > undecided) : [];
    for (const s of segments) {
      if (open.includes(s)) s.held.waits.add(field.channel);
      else s.held.waits.delete(field.channel);
    }
    channel.pending = limit === bytes.length ? NOTHING : bytes.slice(limit);
    channel.open = open;
  }

  /** The events at the head of the queue that nothing holds any more (or that the bounds let go). */
  #release(): JudgedEvent[] {
    const out: JudgedEvent[] = [];
    while (this.#queue.length > 0) {
      const head = this.#queue[0];
      const overfull = this.#queue.length > MAX_HELD_EVENTS || this.#queuedBytes > MAX_HELD_BYTES;
      if (head.waits.size > 0 && !overfull) break;
      this.#queue.shift();
      this.#queuedBytes -= head.event.raw.length;
      for (const channel of [...head.waits]) this.#close(channel); // the bounds let it go: its channels go with it
      out.push({ event: head.changed ? rewritten(head) : head.event, info: head.info });
    }
    return out;
  }
}

/** An event whose text changed, its bytes made again from its JSON (its `event:` line kept). */
function rewritten(held: Held): SseEvent {
  const type = held.event.type;
  const text = `${type ? `event: ${type}\n` : ""}data: ${JSON.stringify(held.info.json)}\n\n`;
  return sseEvent(encoder.encode(text));
}

/** Cuts the key at channel positions `[start, stop)` out of the segments it covers; the mask goes where it can still change. */
function cut(segments: Segment[], start: number, stop: number, sent: number): void {
  const maskAt = Math.max(start, sent);
  for (const s of segments) {
    const to = s.from + s.raw.length;
    if (stop <= s.from || start >= to) continue;
    s.cuts.push({ start: Math.max(start, s.from), stop: Math.min(stop, to), mask: maskAt >= s.from && maskAt < to });
    s.field.holder[s.field.key] = masked(s);
    s.held.changed = true;
  }
}

/** A segment's text with its cuts applied. */
function masked(s: Segment): string {
  const cuts = [...s.cuts].sort((a, b) => a.start - b.start);
  const parts: string[] = [];
  let copied = s.from;
  for (const c of cuts) {
    if (c.start > copied) parts.push(decoder.decode(s.raw.subarray(copied - s.from, c.start - s.from)));
    if (c.mask) parts.push(MASK);
    copied = Math.max(copied, c.stop);
  }
  parts.push(decoder.decode(s.raw.subarray(copied - s.from)));
  return parts.join("");
}
