/**
 * The upstream attempts waiting on a first answer, with PROXY_TIMEOUT kept
 * for all of them by one timer instead of a timer per attempt. Every attempt
 * gets the same timeout, so the order they started in is the order their
 * deadlines fall in: one timer armed for the oldest is enough, and a sweep
 * stops at the first attempt whose deadline has not come. The timer is not
 * cleared when the last attempt ends (at one request at a time that would be
 * a timer per request again): it fires once more, finds nothing due, and is
 * not re-armed. It is unref'd, so it never keeps the process alive.
 *
 * @module
 */

/** One attempt in flight: its deadline, how to abort it, and whether its deadline did. */
export interface InflightAttempt {
  /** `performance.now()` by which it must have its first answer (Infinity without a timeout). */
  readonly deadline: number;
  /** Aborts its upstream request. */
  readonly abort: () => void;
  /** Set when the deadline passed and the sweep aborted it. */
  timedOut: boolean;
}

/** The attempts in flight, their shared deadline timer, and shutdown's abort of them all. */
export class InflightAttempts {
  readonly #timeoutMs: number;
  // A Set iterates in insertion order, which is deadline order (see the module comment).
  readonly #attempts = new Set<InflightAttempt>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Attempts get `timeoutMs` each (PROXY_TIMEOUT; 0 = none). */
  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** Attempts in flight now. */
  get size(): number {
    return this.#attempts.size;
  }

  /** Registers an attempt that `abort` ends; its deadline starts now. */
  start(abort: () => void): InflightAttempt {
    const timed = this.#timeoutMs > 0;
    const attempt = { deadline: timed ? performance.now() + this.#timeoutMs : Infinity, abort, timedOut: false };
    this.#attempts.add(attempt);
    if (timed && this.#timer === undefined) this.#arm(this.#timeoutMs); // else the armed timer reaches it in turn
    return attempt;
  }

  /** The attempt has its first answer (or failed): its deadline no longer applies. */
  end(attempt: InflightAttempt): void {
    this.#attempts.delete(attempt);
  }

  /** Aborts every attempt in flight (end of the shutdown grace). */
  abortAll(): void {
    for (const attempt of this.#attempts) attempt.abort();
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(this.#sweep, Math.max(0, ms));
    this.#timer.unref();
  }

  readonly #sweep = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    for (const attempt of this.#attempts) {
      if (attempt.deadline > now) {
        this.#arm(attempt.deadline - now);
        return;
      }
      this.#attempts.delete(attempt);
      attempt.timedOut = true;
      attempt.abort();
    }
  };
}
