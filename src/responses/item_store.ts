/**
 * The output items modelpin made for translated Responses answers, kept a
 * while so that an `item_reference` to one can be resolved: the Vercel AI
 * SDK sends earlier assistant text and reasoning as `{"type":
 * "item_reference", "id": ...}` unless the client sets `store: false`. This
 * is the only Responses state modelpin keeps, and it is bounded: the oldest
 * items go first when either bound is reached. (`previous_response_id` is
 * not honoured on a translated route: it would need whole conversations.)
 *
 * @module
 */

import type { Json } from "./json.ts";

/** The most items kept. */
export const MAX_ITEMS = 4096;
/** The most item text kept, in UTF-16 units (about bytes for ASCII). */
export const MAX_ITEM_TEXT = 16 * 1024 * 1024;

/** A bounded, oldest-first store of items by id. */
export class ItemStore {
  readonly #items = new Map<string, { item: Json; size: number }>();
  readonly #maxItems: number;
  readonly #maxText: number;
  #text = 0;

  /** Keeps at most `maxItems` items and `maxText` of their JSON text. */
  constructor(maxItems: number = MAX_ITEMS, maxText: number = MAX_ITEM_TEXT) {
    this.#maxItems = maxItems;
    this.#maxText = maxText;
  }

  /** Items kept now. */
  get size(): number {
    return this.#items.size;
  }

  /** Keeps `item` under its `id` (an item larger than the whole bound is not kept). */
  put(item: Json): void {
    if (typeof item.id !== "string") return;
    const size = JSON.stringify(item).length;
    if (size > this.#maxText) return;
    this.delete(item.id);
    this.#items.set(item.id, { item, size });
    this.#text += size;
    for (const [id] of this.#items) {
      if (this.#items.size <= this.#maxItems && this.#text <= this.#maxText) break;
      this.delete(id);
    }
  }

  /** The item kept under `id`, if any. */
  get(id: string): Json | undefined {
    return this.#items.get(id)?.item;
  }

  /** Forgets `id`. */
  delete(id: string): void {
    const kept = this.#items.get(id);
    if (kept === undefined) return;
    this.#items.delete(id);
    this.#text -= kept.size;
  }
}
