/**
 * Masking keys in one byte stream as it passes: what could still become a
 * key waits for the next chunk, so a key split anywhere is masked whole.
 *
 * @module
 */

/** What a stream needs of the key masker (key_masker.ts): its keys' state and one masking run. */
export interface StreamMasker {
  /** False when there are no keys. */
  readonly active: boolean;
  /** Masks `buf[0, end)`; unless `final`, the last `held` bytes could still become a key. */
  run(buf: Uint8Array, end: number, final: boolean): { out: Uint8Array<ArrayBuffer>; held: number };
}

/**
 * Masks keys in one byte stream as it passes. What could still become a key
 * (a key's start at the end of a chunk, an escape cut in two) waits for the
 * next chunk; it is at most a few hundred bytes, and never a line break.
 */
export class KeyStream {
  readonly #masker: StreamMasker;
  #held: Uint8Array | undefined;

  /** Streams through `masker`'s keys. */
  constructor(masker: StreamMasker) {
    this.#masker = masker;
  }

  /** The bytes to pass on for `chunk` (possibly fewer, possibly none yet). */
  push(chunk: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
    if (!this.#masker.active) return chunk;
    let buf: Uint8Array = chunk;
    if (this.#held) {
      buf = new Uint8Array(this.#held.length + chunk.length);
      buf.set(this.#held);
      buf.set(chunk, this.#held.length);
      this.#held = undefined;
    }
    const { out, held } = this.#masker.run(buf, buf.length, false);
    if (held > 0) this.#held = buf.slice(buf.length - held);
    return out;
  }

  /** The end of the stream: what was held, masked (a key's start alone is not a key). */
  flush(): Uint8Array<ArrayBuffer> | undefined {
    const held = this.#held;
    this.#held = undefined;
    if (!held) return undefined;
    return this.#masker.run(held, held.length, true).out;
  }
}
