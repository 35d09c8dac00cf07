/**
 * Keys split across events. A client joins the text of a stream's events
 * (`delta.content`, tool arguments, a Responses `*.delta`, logprob tokens),
 * so a key the backend sends a few characters per event is readable in what
 * the client assembles although no single event holds it. This stage reads
 * the text fields of the backend's events per *channel* (see text_fields.ts),
 * finds keys across the events of a channel in every spelling (the key
 * masker's matching), and masks them in the events before they go on: the
 * mask goes where the key starts, the rest of the key is removed from the
 * later events.
 *
 * An event whose channel ends with the start of a key (three bytes or more)
 * is held until the channel's next text shows whether the key follows;
 * events behind it wait too, so nothing is reordered. The end of a channel's
 * group (its choice's finish, its item's `.done`, the stream's last event)
 * lets its events go. A stream that ends before its answer is whole, and the
 * bounds (64 events, 1 MiB held), let them go too, with the held start of a
 * key masked. A key whose first one or two characters went out before it
 * could be seen is masked from there on. The bytes of an event change only
 * when its text did; then its `data:` line is written again from its JSON.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import type { ToolCallKeys } from "./chat_tool_calls.ts";
import type { KeyMasker } from "../security/key_masker.ts";
import type { EventGrammar, EventInfo, JudgedEvent } from "./event_grammar.ts";
import type { SseEvent } from "./sse_framer.ts";
import { applyCuts, cut, rewrittenEvent, type Segment } from "./text_cuts.ts";
import { groupsEnded, type TextField, textFields } from "./text_fields.ts";

/** One event waiting to go on, the channels that still hold it, and its text segments. */
interface Held {
  event: SseEvent;
  info: EventInfo;
  changed: boolean;
  waits: Set<string>;
  segments: Segment<Held>[];
}

/**
 * A channel's text so far, kept only as far as it is undecided: `pending` is
 * its bytes from the earliest point a key could still start (at most a key's
 * spelling), `open` the segments held for them. Each byte is scanned once,
 * plus the few undecided ones again with the next text. A channel with
 * nothing undecided is forgotten.
 */
interface Channel {
  name: string;
  group: string;
  end: number;
  pending: Uint8Array<ArrayBuffer>;
  open: Segment<Held>[];
  /** Up to here a held key's start went out masked: a key found starting there needs no second mask. */
  maskedTo: number;
}

/** What a key may start with before an event is held for it. */
const MIN_HELD_START = 3;
/** The most events held at once. */
const MAX_HELD_EVENTS = 64;
/** The most event bytes held at once. */
const MAX_HELD_BYTES = 1024 * 1024;
/** The most channels remembered with undecided bytes; past it the oldest not holding anything are forgotten. */
const MAX_CHANNELS = 4096;
const NOTHING = new Uint8Array(0);
const encoder = new TextEncoder();

/** Masks keys split across the events of a stream, before they go on. */
export class ContentMasker {
  readonly #masker: KeyMasker;
  readonly #grammar: EventGrammar;
  readonly #queue: Held[] = [];
  #queuedBytes = 0;
  /** The channels with undecided bytes, oldest first, and their names by group. */
  readonly #channels = new Map<string, Channel>();
  readonly #groups = new Map<string, Set<string>>();
  /** Each choice's tool calls, told apart as the translators tell them. */
  readonly #calls = new Map<string, ToolCallKeys>();

  /** Masks `masker`'s keys in the text fields of `grammar`'s events. */
  constructor(masker: KeyMasker, grammar: EventGrammar) {
    this.#masker = masker;
    this.#grammar = grammar;
  }

  /** The events that may go on now, in order, for one upstream event. */
  push(event: SseEvent, info: EventInfo): JudgedEvent[] {
    const held: Held = { event, info, changed: false, waits: new Set(), segments: [] };
    if (info.json !== undefined) {
      for (const field of textFields(this.#grammar, info.json, this.#calls)) this.#add(held, field);
    }
    this.#queue.push(held);
    this.#queuedBytes += event.raw.length;
    // The stream's last event ends every channel; an error event ends the answer before it was whole.
    if (info.kind === "done" || info.kind === "error") return this.flush(info.kind === "error");
    const ended = groupsEnded(this.#grammar, info.json);
    if (ended === "all") { for (const group of [...this.#groups.keys()]) this.#endGroup(group); }
    else if (ended !== "none") { for (const group of ended) this.#endGroup(group); }
    return this.#release();
  }

  /**
   * Everything held, for the stream's end. `broken`: the answer ended before
   * it was whole (a failure, a close without its finish), so the held start
   * of a key is masked rather than let go; at a whole answer's end it was
   * only text.
   */
  flush(broken = false): JudgedEvent[] {
    for (const channel of [...this.#channels.values()]) this.#close(channel, broken, true);
    return this.#release();
  }

  /** A group ended (its choice finished, its item is done): its channels can complete no key. */
  #endGroup(group: string): void {
    for (const name of [...this.#groups.get(group) ?? []]) this.#close(this.#channels.get(name)!, false, true);
  }

  /**
   * A channel's held text goes on: a key complete in its undecided bytes is
   * cut first (one that is also the start of a longer key was left to see
   * whether the longer one follows), and with `mask` the start of a key it
   * still held is masked too. Unless `forget`, the bytes stay undecided for
   * the text that may still come, so a key that goes on is masked from there on.
   */
  #close(channel: Channel, mask: boolean, forget: boolean): void {
    const open = channel.open;
    if (open.length > 0) {
      const base = channel.end - channel.pending.length;
      const { matches } = this.#masker.locate(channel.pending, channel.pending.length, true);
      for (const [start, stop] of matches) cut(open, base + start, base + stop, open[0].from);
      if (mask) {
        cut(open, base, channel.end, open[0].from);
        channel.maskedTo = channel.end;
      }
      for (const s of open) s.held.waits.delete(channel.name);
      channel.open = [];
    }
    if (forget || channel.pending.length === 0) this.#forget(channel);
  }

  #forget(channel: Channel): void {
    this.#channels.delete(channel.name);
    const names = this.#groups.get(channel.group);
    names?.delete(channel.name);
    if (names?.size === 0) this.#groups.delete(channel.group);
  }

  /** The channel of `field`: the one remembered, or a new one, remembered only once it has something undecided. */
  #channelOf(field: TextField): Channel {
    const name = `${field.group}\u0000${field.channel}`;
    return this.#channels.get(name) ?? { name, group: field.group, end: 0, pending: NOTHING, open: [], maskedTo: 0 };
  }

  /** Remembers `channel` (within the bound: past it the oldest channels holding nothing are forgotten). */
  #remember(channel: Channel): void {
    if (this.#channels.size >= MAX_CHANNELS) {
      for (const old of this.#channels.values()) {
        if (this.#channels.size < MAX_CHANNELS) break;
        if (old.open.length === 0) this.#forget(old);
      }
    }
    this.#channels.set(channel.name, channel);
    let names = this.#groups.get(channel.group);
    if (names === undefined) this.#groups.set(channel.group, names = new Set());
    names.add(channel.name);
  }

  /**
   * Adds one text field to its channel and scans it after the channel's
   * undecided bytes: keys found are cut out of the segments still unsent,
   * and what may still become a key is held.
   */
  #add(held: Held, field: TextField): void {
    const text = field.holder[field.key] as string;
    if (text === "") return; // nothing to scan, nothing to hold
    const channel = this.#channelOf(field);
    const raw = encoder.encode(text);
    const segment: Segment<Held> = { held, field, raw, from: channel.end, cuts: [] };
    held.segments.push(segment);
    const segments = channel.open.length === 0 ? [segment] : [...channel.open, segment];
    const base = channel.end - channel.pending.length;
    const bytes = channel.pending.length === 0 ? raw : concatBytes([channel.pending, raw]);
    channel.end += raw.length;
    const { matches, limit } = this.#masker.locate(bytes, bytes.length, false);
    // Text before the first unsent segment went out: a key that started there is masked from there on.
    for (const [start, stop] of matches) {
      cut(segments, base + start, base + stop, segments[0].from, base + start < channel.maskedTo);
    }
    // What may still become a key stays open (held). A key whose first characters already went out is held from
    // here on all the same: only those few characters are lost.
    const undecided = base + limit;
    const holding = channel.end - undecided >= MIN_HELD_START;
    const open = holding ? segments.filter((s) => s.from + s.raw.length > undecided) : [];
    const stays = new Set(open);
    for (const s of segments) {
      if (stays.has(s)) s.held.waits.add(channel.name);
      else s.held.waits.delete(channel.name);
    }
    channel.pending = limit === bytes.length ? NOTHING : bytes.slice(limit);
    channel.open = open;
    const remembered = this.#channels.has(channel.name);
    if (channel.pending.length === 0 && open.length === 0) {
      if (remembered) this.#forget(channel);
    } else if (!remembered) this.#remember(channel);
  }

  /** The events at the head of the queue that nothing holds any more (or that the bounds let go). */
  #release(): JudgedEvent[] {
    const out: JudgedEvent[] = [];
    while (this.#queue.length > 0) {
      const head = this.#queue[0];
      const overfull = this.#queue.length > MAX_HELD_EVENTS || this.#queuedBytes > MAX_HELD_BYTES;
      if (head.waits.size > 0 && !overfull) break;
      // The bounds let it go: the channels holding it let go of everything, a key's held start masked.
      for (const name of [...head.waits]) this.#close(this.#channels.get(name)!, true, false);
      this.#queue.shift();
      this.#queuedBytes -= head.event.raw.length;
      if (head.changed) applyCuts(head.segments);
      out.push({ event: head.changed ? rewrittenEvent(head.event, head.info.json) : head.event, info: head.info });
    }
    return out;
  }
}
