/**
 * An upstream body as modelpin may read it: decoded when the backend
 * compressed it unasked, and read whole only up to a bound.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";

/**
 * The largest answer held in memory whole (JSON answers and error bodies).
 * A larger successful answer streams through instead of being held.
 */
export const MAX_BUFFERED_ANSWER_BYTES = 16 * 1024 * 1024;

// A gzip member can inflate about 1,000-fold, and DecompressionStream inflates
// each input chunk in one go: 64 KiB in could be 64 MiB out at once. Feeding it
// small pieces bounds every chunk it produces to about 0.5 MiB.
const INFLATE_PIECE_BYTES = 512;

/** Encodings modelpin decodes; the names are those of `DecompressionStream`. */
const DECODERS: Record<string, CompressionFormat> = { gzip: "gzip", "x-gzip": "gzip", deflate: "deflate" };

/** Thrown when the backend used a content-encoding modelpin cannot decode. */
class UnknownEncodingError extends Error {
  /** The encoding as the backend named it. */
  readonly encoding: string;

  /** Names the encoding. */
  constructor(encoding: string) {
    super(`the backend sent a body in content-encoding "${encoding}", which modelpin cannot decode`);
    this.name = "UnknownEncodingError";
    this.encoding = encoding;
  }
}

function rechunk(size: number): TransformStream<Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>> {
  return new TransformStream({
    transform(chunk, controller) {
      for (let at = 0; at < chunk.length; at += size) controller.enqueue(chunk.subarray(at, at + size));
    },
  });
}

/**
 * The body with any content-encoding undone. modelpin asks backends for
 * `identity`; `fetch` then passes a body compressed anyway as it came, so a
 * client would get unreadable bytes and key masking would see nothing.
 * Returns whether it decoded, since the length then changes.
 */
export function decodedBody(
  res: Response,
): { body: ReadableStream<Uint8Array<ArrayBuffer>> | null; decoded: boolean } {
  const encoding = res.headers.get("content-encoding")?.trim().toLowerCase();
  if (!encoding || encoding === "identity" || res.body === null) return { body: res.body, decoded: false };
  const format = DECODERS[encoding];
  if (format === undefined) throw new UnknownEncodingError(encoding);
  const body = res.body.pipeThrough(rechunk(INFLATE_PIECE_BYTES)).pipeThrough(
    new DecompressionStream(format) as unknown as TransformStream<Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>>,
  );
  return { body, decoded: true };
}

/** A body read up to a bound: whole, or its first chunks and the reader holding the rest. */
export type BoundedRead =
  | { whole: true; bytes: Uint8Array<ArrayBuffer> }
  | { whole: false; head: Uint8Array<ArrayBuffer>[]; reader: ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>> };

/** Reads `body` whole if it fits in `limit` bytes; otherwise stops and hands back what it read. */
export async function readBounded(body: ReadableStream<Uint8Array<ArrayBuffer>>, limit: number): Promise<BoundedRead> {
  const reader = body.getReader();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size > limit) return { whole: false, head: chunks, reader };
  }
  return { whole: true, bytes: concatBytes(chunks) };
}
