/**
 * Cutting keys out of the text of stream events: the ranges a key covers in
 * each event's text (a *segment* of its channel), applied once when the
 * event goes on, and the event's block written again around its new JSON.
 * The content masker (content_masker.ts) finds the keys.
 *
 * @module
 */

import { MASK } from "../security/key_masker.ts";
import { type SseEvent, sseEvent } from "./sse_framer.ts";
import type { TextField } from "./text_fields.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * One text field of an event: its bytes as the backend wrote them, where
 * they start in the channel's text, and the key ranges to cut out of them
 * (applied once, when the event goes on).
 */
export interface Segment<H extends { changed: boolean } = { changed: boolean }> {
  /** What holds the segment's event: told when a cut changes it. */
  held: H;
  /** Where its text is. */
  field: TextField;
  /** Its text's bytes as the backend wrote them. */
  raw: Uint8Array<ArrayBuffer>;
  /** Where they start in the channel's text. */
  from: number;
  /** The key ranges to cut out, in channel positions. */
  cuts: Cut[];
}

/** A key's range in a segment (channel positions), and whether the mask goes there. */
export interface Cut {
  /** Where the range starts. */
  start: number;
  /** Where it ends. */
  stop: number;
  /** Whether the mask goes here. */
  mask: boolean;
}

/**
 * Cuts the key at channel positions `[start, stop)` out of the segments it
 * covers; the mask goes where it can still change (`sent`: what went before
 * is out), unless the key's start already went out `masked`.
 */
export function cut(segments: Segment[], start: number, stop: number, sent: number, masked = false): void {
  const maskAt = masked ? -1 : Math.max(start, sent);
  for (const s of segments) {
    const to = s.from + s.raw.length;
    if (stop <= s.from || start >= to) continue;
    s.cuts.push({ start: Math.max(start, s.from), stop: Math.min(stop, to), mask: maskAt >= s.from && maskAt < to });
    s.held.changed = true;
  }
}

/** A segment's text with its cuts applied. */
function masked(s: Segment): string {
  const cuts = s.cuts.sort((a, b) => a.start - b.start);
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

/** Writes each segment's text, its cuts applied, into its event's JSON. */
export function applyCuts(segments: readonly Segment[]): void {
  for (const s of segments) {
    if (s.cuts.length === 0) continue;
    const text = masked(s);
    s.field.holder[s.field.key] = text;
    // A logprob's bytes spell its token: they follow the masked token.
    if (s.field.key === "token" && Array.isArray(s.field.holder.bytes)) {
      s.field.holder.bytes = [...encoder.encode(text)];
    }
  }
}

/**
 * An event whose text changed: its block written again with `json` as its
 * one `data:` line, every other line (`event:`, `id:`, comments) kept in place.
 */
export function rewrittenEvent(event: SseEvent, json: unknown): SseEvent {
  const lines: string[] = [];
  let data = false;
  for (const line of decoder.decode(event.raw).split(/\r\n|\r|\n/)) {
    if (line === "") continue;
    if (line === "data" || line.startsWith("data:")) {
      if (!data) lines.push(`data: ${JSON.stringify(json)}`);
      data = true;
    } else lines.push(line);
  }
  return sseEvent(encoder.encode(lines.join("\n") + "\n\n"));
}
