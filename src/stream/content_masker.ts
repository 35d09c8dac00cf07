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

import type { KeyMasker } from "../security/key_masker.ts";
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

/** A channel's text not yet final: the events (and fields) it spans. */
interface Segment {
  held: Held;
  field: Field;
}

/** What a key may start with before an event is held for it. */
const MIN_HELD_START = 3;
/** The most events held at once. */
const MAX_HELD_EVENTS = 64;
/** The most event bytes held at once. */
const MAX_HELD_BYTES = 1024 * 1024;
/** How much of a channel's final text is kept to find a key that started in it (longer than any key's escapes). */
const FINAL_TAIL = 4096;

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
  /** Per channel: the text already final (its last bytes), and the segments still open. */
  readonly #channels = new Map<string, { final: string; open: Segment[] }>();

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

  /** A channel's open text becomes final as it is: its events wait for it no more. */
  #close(name: string): void {
    const channel = this.#channels.get(name)!;
    for (const s of channel.open) {
      s.held.waits.delete(name);
      channel.final = (channel.final + String(s.field.holder[s.field.key])).slice(-FINAL_TAIL);
    }
    channel.open = [];
  }

  /** Adds one text field to its channel, masks across the channel's open text, and holds what may be a key. */
  #add(held: Held, field: Field): void {
    let channel = this.#channels.get(field.channel);
    if (channel === undefined) this.#channels.set(field.channel, channel = { final: "", open: [] });
    const segments = [...channel.open, { held, field }];
    const texts = segments.map((s) => encoder.encode(String(s.field.holder[s.field.key])));
    const before = encoder.encode(channel.final);
    const bytes = new Uint8Array(before.length + texts.reduce((n, t) => n + t.length, 0));
    bytes.set(before);
    const starts: number[] = [];
    let at = before.length;
    for (const t of texts) {
      starts.push(at);
      bytes.set(t, at);
      at += t.length;
    }
    const { matches, limit } = this.#masker.locate(bytes, bytes.length, false);
    if (matches.length > 0) this.#mask(segments, texts, starts, before.length, matches);
    // What may still become a key stays open (held); the rest of the channel's text is final. A key whose first
    // characters already went out is held from here on all the same: only those few characters are lost.
    const holding = bytes.length - limit >= MIN_HELD_START;
    const open = holding ? segments.filter((_, i) => starts[i] + texts[i].length > limit) : [];
    for (const s of segments) if (!open.includes(s)) s.held.waits.delete(field.channel);
    for (const s of open) s.held.waits.add(field.channel);
    const done = segments.filter((s) => !open.includes(s)).map((s) => String(s.field.holder[s.field.key])).join("");
    channel.final = (channel.final + done).slice(-FINAL_TAIL);
    channel.open = open;
  }

  /** Masks `matches` (byte ranges over the channel's text): the mask where a key starts, the rest removed. */
  #mask(segments: Segment[], texts: Uint8Array[], starts: number[], fixed: number, matches: [number, number][]): void {
    segments.forEach((segment, i) => {
      const from = starts[i];
      const to = from + texts[i].length;
      const parts: string[] = [];
      let copied = from;
      for (const [ms, me] of matches) {
        if (me <= from || ms >= to) continue;
        const cut = Math.max(ms, from);
        if (cut > copied) parts.push(decoder.decode(texts[i].subarray(copied - from, cut - from)));
        // The mask goes in the first byte of the key that can still change (the sent text is past changing).
        if (Math.max(ms, fixed) >= from && Math.max(ms, fixed) < to) parts.push("***");
        copied = Math.min(me, to);
      }
      if (copied === from && parts.length === 0) return;
      if (copied < to) parts.push(decoder.decode(texts[i].subarray(copied - from)));
      segment.field.holder[segment.field.key] = parts.join("");
      segment.held.changed = true;
    });
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
