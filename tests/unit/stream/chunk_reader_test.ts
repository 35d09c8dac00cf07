import assert from "node:assert/strict";
import { ChunkReader } from "../../../src/stream/chunk_reader.ts";

Deno.test("ChunkReader: a fetch body's chunks come as exact-size copies, not views pinning 64 KiB each", async () => {
  const events = ["data: one\n\n", "data: two\n\n", "data: [DONE]\n\n"];
  let next!: () => void;
  await using server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, () => {
    let i = 0;
    const encoder = new TextEncoder();
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(c) {
          if (i === events.length) return c.close();
          if (i > 0) await new Promise<void>((r) => next = r); // one event per read
          c.enqueue(encoder.encode(events[i++]));
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    );
  });
  const res = await fetch(`http://127.0.0.1:${server.addr.port}/`);
  const reader = new ChunkReader(res.body!);
  const got: string[] = [];
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    assert.equal(r.value.buffer.byteLength, r.value.byteLength, "no oversized backing buffer");
    got.push(new TextDecoder().decode(r.value));
    next?.();
  }
  assert.deepEqual(got.join(""), events.join(""));
});

Deno.test("ChunkReader: a plain (non-byte) stream is read as it is, and cancel reaches the source", async () => {
  let cancelled = false;
  const chunk = new TextEncoder().encode("data: x\n\n");
  const reader = new ChunkReader(
    new ReadableStream<Uint8Array<ArrayBuffer>>({
      start(c) {
        c.enqueue(chunk);
      },
      cancel() {
        cancelled = true;
      },
    }),
  );
  const r = await reader.read();
  assert.equal(r.done, false);
  assert.equal(r.value, chunk);
  await reader.cancel();
  assert.ok(cancelled);
});
