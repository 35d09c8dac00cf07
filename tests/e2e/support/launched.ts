/**
 * A launched command (an installed or extracted modelpin) whose output can be
 * awaited line by line, and that is stopped with SIGTERM when disposed.
 *
 * @module
 */

import { unusedPort } from "../../support/raw_tcp.ts";

/** A running process with its output collected as text. */
export class Launched implements AsyncDisposable {
  /** The process. */
  readonly child: Deno.ChildProcess;
  /** Everything written to stdout so far. */
  stdout = "";
  /** Everything written to stderr so far. */
  stderr = "";
  /** Resolves with the exit status. */
  readonly status: Promise<Deno.CommandStatus>;
  #exited = false;
  #wake: (() => void)[] = [];
  #pumps: Promise<void>[];

  /** Starts `cmd` with only `env` (plus PATH) in its environment. */
  constructor(cmd: string, args: string[], env: Record<string, string> = {}) {
    this.child = new Deno.Command(cmd, {
      args,
      clearEnv: true,
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#pumps = [this.#pump(this.child.stdout, "stdout"), this.#pump(this.child.stderr, "stderr")];
    this.status = this.child.status.then((s) => {
      this.#exited = true;
      this.#notify();
      return s;
    });
  }

  #notify(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }

  async #pump(stream: ReadableStream<Uint8Array>, which: "stdout" | "stderr"): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      this[which] += decoder.decode(chunk, { stream: true });
      this.#notify();
    }
  }

  /** Waits until `which` matches `pattern`; fails when the process exits first or after `ms`. */
  async waitFor(pattern: RegExp, which: "stdout" | "stderr" = "stdout", ms = 30_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = this[which].match(pattern);
      if (m) return m;
      if (this.#exited || Date.now() > deadline) {
        throw new Error(`no ${pattern} in ${which}.\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake.push(resolve);
        timer = setTimeout(resolve, deadline - Date.now());
      });
      clearTimeout(timer);
    }
  }

  /** The process's command line as the kernel has it (after any exec). */
  async cmdline(): Promise<string[]> {
    // Through cat: Deno grants /proc/<pid> files only with --allow-all, which tests never use.
    const out = await new Deno.Command("cat", { args: [`/proc/${this.child.pid}/cmdline`], stdout: "piped" }).output();
    return new TextDecoder().decode(out.stdout).split("\0").filter((a) => a !== "");
  }

  /** Waits for the process to exit by itself, and for the end of its output. */
  async finished(): Promise<Deno.CommandStatus> {
    const status = await this.status;
    await Promise.all(this.#pumps);
    return status;
  }

  /** Sends SIGTERM (if still running) and waits for the exit and the end of its output. */
  async stop(): Promise<Deno.CommandStatus> {
    if (!this.#exited) {
      try {
        this.child.kill("SIGTERM");
      } catch { /* exited meanwhile */ }
    }
    return await this.finished();
  }

  /** Stops the process. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** A free port on 127.0.0.1 (the sandbox grants the exact port), outside the range `port: 0` servers use. */
export const freePort: () => number = unusedPort;
