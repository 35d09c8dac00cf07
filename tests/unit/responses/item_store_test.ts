/**
 * The item store, the one Responses state modelpin keeps (so an
 * item_reference to a translated answer's item resolves): bounded by count
 * and by JSON text size, oldest first; an item larger than the whole bound
 * is not kept.
 */

import assert from "node:assert/strict";
import { ItemStore, MAX_ITEM_TEXT, MAX_ITEMS } from "../../../src/responses/item_store.ts";

type Json = Record<string, unknown>;

/** An item whose JSON text is exactly `size` characters. */
function sized(id: string, size: number): Json {
  const empty = JSON.stringify({ id, text: "" }).length;
  const item = { id, text: "x".repeat(size - empty) };
  assert.equal(JSON.stringify(item).length, size);
  return item;
}
const ids = (store: ItemStore, all: string[]) => all.filter((id) => store.get(id) !== undefined);

Deno.test("responses item store: the README's bounds, 4,096 items and 16 MiB", () => {
  assert.equal(MAX_ITEMS, 4096);
  assert.equal(MAX_ITEM_TEXT, 16 * 1024 * 1024);
});

Deno.test("responses item store: keeps items by id; an item without a string id is not kept", () => {
  const store = new ItemStore();
  const item = { id: "msg_1", type: "message", role: "assistant", content: [] };
  store.put(item);
  store.put({ type: "message" });
  store.put({ id: 7 });
  assert.equal(store.size, 1);
  assert.deepEqual(store.get("msg_1"), item);
  assert.equal(store.get("msg_2"), undefined);
});

Deno.test("responses item store: over the count bound the oldest go first", () => {
  const store = new ItemStore(3, 1_000_000);
  const all = ["a", "b", "c", "d", "e"];
  for (const id of all) store.put({ id });
  assert.equal(store.size, 3);
  assert.deepEqual(ids(store, all), ["c", "d", "e"]);
});

Deno.test("responses item store: over the text bound the oldest go first, until it fits", () => {
  const store = new ItemStore(100, 300);
  store.put(sized("a", 100));
  store.put(sized("b", 100));
  store.put(sized("c", 100));
  assert.deepEqual(ids(store, ["a", "b", "c"]), ["a", "b", "c"], "exactly at the bound: all kept");
  store.put(sized("d", 150));
  assert.deepEqual(ids(store, ["a", "b", "c", "d"]), ["c", "d"], "a and b go to make room for d");
});

Deno.test("responses item store: an item larger than the whole text bound is not kept, and evicts nothing", () => {
  const store = new ItemStore(100, 300);
  store.put(sized("a", 100));
  store.put(sized("huge", 301));
  assert.equal(store.get("huge"), undefined);
  assert.deepEqual(ids(store, ["a"]), ["a"]);
  assert.equal(store.size, 1);
  store.put(sized("max", 300));
  assert.deepEqual(ids(store, ["a", "max"]), ["max"], "an item the size of the bound fits alone");
});

Deno.test("responses item store: putting an id again replaces it and makes it the newest", () => {
  const store = new ItemStore(2, 1_000_000);
  store.put({ id: "a", v: 1 });
  store.put({ id: "b" });
  store.put({ id: "a", v: 2 });
  assert.equal(store.size, 2);
  store.put({ id: "c" });
  assert.deepEqual(ids(store, ["a", "b", "c"]), ["a", "c"], "b is now the oldest");
  assert.deepEqual(store.get("a"), { id: "a", v: 2 });
});

Deno.test("responses item store: replacing an item counts only its new size", () => {
  const store = new ItemStore(100, 300);
  store.put(sized("a", 200));
  store.put(sized("a", 250));
  store.put(sized("b", 50));
  assert.deepEqual(ids(store, ["a", "b"]), ["a", "b"], "250 + 50 fits: the old 200 no longer counts");
});

Deno.test("responses item store: delete forgets an item and its size", () => {
  const store = new ItemStore(100, 300);
  store.put(sized("a", 200));
  store.delete("a");
  store.delete("never");
  assert.equal(store.size, 0);
  store.put(sized("b", 300));
  assert.deepEqual(ids(store, ["a", "b"]), ["b"]);
});
