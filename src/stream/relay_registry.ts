/**
 * The open relays, SSE streams and plain bodies alike: one coarse timer ends
 * those whose backend has been silent for PROXY_IDLE_TIMEOUT while the client
 * waits, and shutdown ends them all.
 *
 * @module
 */

import type { Relay } from "./relay.ts";

/** The open relays: the idle timeout's sweep, and shutdown's end of them all. */
export class RelayRegistry {
  readonly #relays = new Set<Relay>();
  readonly #idleTimeoutMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** `idleTimeoutMs` of 0 turns the idle check off. */
  constructor(idleTimeoutMs: number) {
    this.#idleTimeoutMs = idleTimeoutMs;
  }

  /** Number of bodies being relayed now. */
  get size(): number {
    return this.#relays.size;
  }

  /** Tracks `relay` until it ends. */
  add(relay: Relay): void {
    this.#relays.add(relay);
    relay.ended.then(() => this.#delete(relay));
    // One coarse timer for all relays instead of a timer reset per chunk.
    if (this.#timer === undefined && this.#idleTimeoutMs > 0) {
      const every = Math.max(10, Math.min(1000, Math.floor(this.#idleTimeoutMs / 4)));
      this.#timer = setInterval(() => this.#checkIdle(), every);
      Deno.unrefTimer(this.#timer);
    }
  }

  #delete(relay: Relay): void {
    this.#relays.delete(relay);
    if (this.#relays.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #checkIdle(): void {
    const deadline = Date.now() - this.#idleTimeoutMs;
    for (const relay of this.#relays) {
      if (relay.waitingSince !== 0 && relay.waitingSince <= deadline) relay.terminate("idle_timeout");
    }
  }

  /** Ends every open relay (shutdown's grace ran out). */
  terminateAll(): void {
    for (const relay of [...this.#relays]) relay.terminate("shutdown");
  }
}
