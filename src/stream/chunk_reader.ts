/**
 * Reading an upstream body chunk by chunk without pinning memory. Deno's
 * default reader hands out each chunk as a view on its own 64 KiB buffer, so
 * every small SSE event in flight holds 64 KiB; a thousand streams held
 * hundreds of MB. Reading into one reusable buffer and passing on exact-size
 * copies keeps a stream's cost to its scratch buffer plus the bytes in flight.
 *
 * @module
 */

/** The result shape of a reader's `read()`. */
export type ChunkResult = ReadableStreamReadResult<Uint8Array<ArrayBuffer>>;

/** The reading side of a relayed body: `read` and `cancel`, like a stream reader. */
export interface ChunkSource {
  /** The next chunk, or `done` at the end. */
  read(): Promise<ChunkResult>;
  /** Stops reading and releases the body (aborting the upstream transfer). */
  cancel(): Promise<void>;
}

const SCRATCH_BYTES = 8 * 1024;

/** Reads a byte stream into a reusable buffer; plain streams are read as they are. */
export class ChunkReader implements ChunkSource {
  readonly #byob: ReadableStreamBYOBReader | undefined;
  readonly #plain: ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>> | undefined;
  #scratch: ArrayBuffer | undefined;

  /** Takes over `body`. */
  constructor(body: ReadableStream<Uint8Array<ArrayBuffer>>) {
    try {
      this.#byob = body.getReader({ mode: "byob" });
      this.#scratch = new ArrayBuffer(SCRATCH_BYTES);
    } catch {
      // Not a byte stream (the in-process demo backend): read it plainly.
      this.#plain = body.getReader();
    }
  }

  /** The next chunk, as an exact-size copy when read into the scratch buffer. */
  async read(): Promise<ChunkResult> {
    if (this.#plain) {
      const { done, value } = await this.#plain.read();
      return done ? { done: true, value: undefined } : { done: false, value };
    }
    const { done, value } = await this.#byob!.read(new Uint8Array(this.#scratch!));
    if (done || value === undefined) return { done: true, value: undefined };
    // The read transferred the scratch buffer into `value`; take it back for the next read.
    this.#scratch = value.buffer as ArrayBuffer;
    if (value.byteLength === 0) return this.read();
    return { done: false, value: value.slice() };
  }

  /** Cancels the body. */
  cancel(): Promise<void> {
    return (this.#byob ?? this.#plain)!.cancel();
  }
}
