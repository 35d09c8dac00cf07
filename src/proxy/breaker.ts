/**
 * A per-route circuit breaker, so requests stop waiting on a dead backend.
 *
 * @module
 */

/** A breaker's state as `/health` shows it. */
export interface BreakerState {
  /**
   * `closed` (healthy), `cooling` (skipped until `until`), `half_open` (cooldown over: the next
   * request probes it), or `probing` (one request testing it now).
   */
  state: "closed" | "cooling" | "half_open" | "probing";
  /** Consecutive failures so far. */
  failures: number;
  /** When cooling ends, as an ISO date; only while cooling. */
  until?: string;
}

/** What a request may do with a route right now. */
export type Admission = "use" | "probe" | "cooling";

/** The longest cooldown a Retry-After can impose. */
export const MAX_COOLDOWN_MS = 300_000;

/** Counts consecutive failures of one route and cools it when they pile up. */
export class Breaker {
  readonly #threshold: number;
  readonly #cooldownMs: number;
  readonly #now: () => number;
  #failures = 0;
  #openUntil = 0;
  #probing = false;

  /** `threshold` 0 turns the breaker off. */
  constructor(threshold: number, cooldownMs: number, now: () => number = Date.now) {
    this.#threshold = threshold;
    this.#cooldownMs = cooldownMs;
    this.#now = now;
  }

  /**
   * Admits a request: `use` when healthy, `probe` for the one request that
   * tests the route after its cooldown, `cooling` otherwise.
   */
  admit(): Admission {
    if (this.#probing) return "cooling";
    if (this.#openUntil === 0) return "use";
    if (this.#now() < this.#openUntil) return "cooling";
    this.#probing = true;
    return "probe";
  }

  /** Records a success: the route is healthy again. */
  success(): void {
    this.#failures = 0;
    this.#openUntil = 0;
    this.#probing = false;
  }

  /** Records a route failure; a 429's Retry-After opens the breaker at once. */
  failure(retryAfterMs?: number): void {
    if (this.#threshold === 0) return;
    this.#failures++;
    const wasProbe = this.#probing;
    this.#probing = false;
    // "Retry after 0 s" (or a date in the past) is an ordinary failure, and a zero
    // cooldown never cools: either would otherwise leave the route probe-only.
    const cooldown = retryAfterMs !== undefined && retryAfterMs > 0
      ? Math.min(retryAfterMs, MAX_COOLDOWN_MS)
      : wasProbe || this.#failures >= this.#threshold
      ? this.#cooldownMs
      : 0;
    if (cooldown > 0) this.#openUntil = this.#now() + cooldown;
  }

  /** Releases a probe that ended without a verdict (the client left). */
  release(): void {
    this.#probing = false;
  }

  /** The state for `/health`. */
  snapshot(): BreakerState {
    const now = this.#now();
    if (this.#probing) return { state: "probing", failures: this.#failures };
    if (now < this.#openUntil) {
      return { state: "cooling", failures: this.#failures, until: new Date(this.#openUntil).toISOString() };
    }
    // Cooled down but not yet probed: not healthy until a request has shown it is.
    if (this.#openUntil !== 0) return { state: "half_open", failures: this.#failures };
    return { state: "closed", failures: this.#failures };
  }
}
