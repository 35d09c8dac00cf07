/**
 * The upstream attempts waiting on a first answer, with PROXY_TIMEOUT kept
 * for all of them by one timer instead of a timer per attempt. Every attempt
 * gets the same timeout, so the order they started in is the order their
 * deadlines fall in: one timer armed for the oldest is enough, and a sweep
 * stops at the first attempt whose deadline has not come. A retry on the same
 * route keeps what is left of its first try's deadline (the route's budget
 * is one PROXY_TIMEOUT); such attempts are few, and kept apart, sorted by
 * deadline, so the same timer and sweep serve them. The timer is not
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
  // Retries with an earlier deadline than a full timeout, sorted by deadline.
  #budgeted: InflightAttempt[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedFor = Infinity;

  /** Attempts get `timeoutMs` each (PROXY_TIMEOUT; 0 = none). */
  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** Attempts in flight now. */
  get size(): number {
    return this.#attempts.size + this.#budgeted.length;
  }

  /**
   * Registers an attempt that `abort` ends; its deadline is a full timeout
   * from now, or `deadline` when that comes earlier (a retry's remaining budget).
   */
  start(abort: () => void, deadline?: number): InflightAttempt {
    const timed = this.#timeoutMs > 0;
    const full = timed ? performance.now() + this.#timeoutMs : Infinity;
    const attempt = { deadline: Math.min(full, deadline ?? Infinity), abort, timedOut: false };
    if (attempt.deadline < full) {
      this.#budgeted.push(attempt);
      this.#budgeted.sort((a, b) => a.deadline - b.deadline);
    } else this.#attempts.add(attempt);
    // Otherwise the armed timer reaches it in turn.
    if (attempt.deadline < this.#armedFor) this.#arm(attempt.deadline);
    return attempt;
  }

  /** The attempt has its first answer (or failed): its deadline no longer applies. */
  end(attempt: InflightAttempt): void {
    if (!this.#attempts.delete(attempt)) this.#budgeted = this.#budgeted.filter((a) => a !== attempt);
  }

  /** Aborts every attempt in flight (end of the shutdown grace). */
  abortAll(): void {
    for (const attempt of [...this.#attempts, ...this.#budgeted]) attempt.abort();
  }

  #arm(at: number): void {
    if (at === Infinity) return;
    clearTimeout(this.#timer);
    this.#armedFor = at;
    this.#timer = setTimeout(this.#sweep, Math.max(0, at - performance.now()));
    this.#timer.unref();
  }

  readonly #sweep = (): void => {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const attempt of this.#attempts) {
      if (attempt.deadline > now) {
        next = attempt.deadline;
        break;
      }
      this.#expire(attempt);
      this.#attempts.delete(attempt);
    }
    while (this.#budgeted.length > 0 && this.#budgeted[0].deadline <= now) this.#expire(this.#budgeted.shift()!);
    this.#arm(Math.min(next, this.#budgeted[0]?.deadline ?? Infinity));
  };

  #expire(attempt: InflightAttempt): void {
    attempt.timedOut = true;
    attempt.abort();
  }
}
