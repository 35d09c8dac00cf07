/**
 * Child processes of the benchmark: started with bounded waits, tracked, and
 * always stopped (SIGTERM, then SIGKILL) when the benchmark ends.
 *
 * @module
 */

/** A running child process. */
export interface Child {
  /** What it is, for messages. */
  name: string;
  /** Its process id (after `exec`, the real program's). */
  pid: number;
  /** The underlying handle. */
  process: Deno.ChildProcess;
  /** Resolves when it has exited. */
  exited: Promise<Deno.CommandStatus>;
  /** Stops it: SIGTERM, then SIGKILL after `graceMs`. Resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const children = new Set<Child>();

/** Starts `cmd` with `args`; stdout and stderr go to `logFile` (via `sh -c exec`, so the pid is the program's). */
export function spawn(
  name: string,
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; clearEnv?: boolean; logFile: string; openFiles?: number },
): Child {
  const limit = options.openFiles ?? 0;
  const script = (limit > 0 ? `ulimit -n ${limit} 2>/dev/null || true; ` : "") + 'exec "$@" >>"$BENCH_LOG" 2>&1';
  const process = new Deno.Command("sh", {
    args: ["-c", script, "sh", cmd, ...args],
    cwd: options.cwd,
    env: { ...options.env, BENCH_LOG: options.logFile },
    clearEnv: options.clearEnv ?? false,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const exited = process.status;
  const child: Child = {
    name,
    pid: process.pid,
    process,
    exited,
    async stop(graceMs = 5000) {
      if (!children.has(child)) return void await exited;
      children.delete(child);
      try {
        process.kill("SIGTERM");
      } catch { /* already gone */ }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), graceMs));
      if (await Promise.race([exited, late]) === "late") {
        try {
          process.kill("SIGKILL");
        } catch { /* already gone */ }
        await exited;
      }
      clearTimeout(timer);
    },
  };
  children.add(child);
  exited.then(() => children.delete(child));
  return child;
}

/** Stops every child still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => c.stop(3000)));
}

/** A free TCP port on 127.0.0.1 (the OS picks it; it is released at once). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Resolves once `url` answers 2xx, or throws after `timeoutMs` (or when `child` exits first). */
export async function waitReady(url: string, child: Child, timeoutMs = 15_000, logFile?: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let exited = false;
  child.exited.then(() => exited = true);
  while (performance.now() < deadline) {
    if (exited) break;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch { /* not listening yet */ }
    await sleep(50);
  }
  let tail = "";
  if (logFile) {
    try {
      tail = (await Deno.readTextFile(logFile)).split("\n").slice(-15).join("\n");
    } catch { /* no log */ }
  }
  throw new Error(`${child.name} did not become ready at ${url}${exited ? " (it exited)" : ""}\n${tail}`);
}

/** Resolves with the first line of `logFile` that starts with `prefix`; throws after `timeoutMs` or when `child` exits. */
export async function waitForLine(logFile: string, prefix: string, child: Child, timeoutMs = 15_000): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  let exited = false;
  child.exited.then(() => exited = true);
  let text = "";
  while (performance.now() < deadline && !exited) {
    try {
      text = await Deno.readTextFile(logFile);
    } catch { /* not written yet */ }
    const line = text.split("\n").find((l) => l.startsWith(prefix));
    if (line !== undefined) return line;
    await sleep(20);
  }
  throw new Error(`${child.name} did not print "${prefix}"${exited ? " (it exited)" : ""}:\n${text.slice(-2000)}`);
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resident memory of a process from /proc: current (VmRSS) and peak (VmHWM), in MB. */
export function memory(pid: number): { rssMb: number; hwmMb: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 };
}

/** The first line a command prints (stdout or stderr), or undefined when it cannot run. */
export async function firstLine(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null" }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return text.trim().split("\n")[0];
  } catch {
    return undefined;
  }
}

/** The full path of an executable on PATH (plus /usr/sbin and /sbin, where nginx lives), or undefined. */
export function which(name: string): string | undefined {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/sbin", "/usr/local/sbin"]);
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      const path = `${dir}/${name}`;
      const info = Deno.statSync(path);
      if (info.isFile && (info.mode ?? 0o111) & 0o111) return path;
    } catch { /* not here */ }
  }
  return undefined;
}

/** Open file descriptors (sockets included) of a process. */
export function openFds(pid: number): number {
  let n = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  return n;
}
