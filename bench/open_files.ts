/**
 * 1,000 held streams need more sockets than a default soft limit of 1,024
 * open files allows: the benchmark raises its own limit by re-running itself
 * under `ulimit -n` once.
 *
 * @module
 */

/** Open files wanted for the benchmark process (client sockets of 1,000 streams and more). */
const WANT = 65536;

function limits(): { soft: number; hard: number } {
  try {
    const m = /Max open files\s+(\S+)\s+(\S+)/.exec(Deno.readTextFileSync("/proc/self/limits"));
    if (m) {
      return {
        soft: m[1] === "unlimited" ? Infinity : Number(m[1]),
        hard: m[2] === "unlimited" ? Infinity : Number(m[2]),
      };
    }
  } catch { /* not Linux */ }
  return { soft: Infinity, hard: Infinity };
}

/** Returns when this process may open enough sockets; otherwise re-runs `script` under `ulimit -n` and exits. */
export async function ensureOpenFiles(script: string): Promise<void> {
  const { soft, hard } = limits();
  if (soft >= 4096 || Deno.env.get("MODELPIN_BENCH_REEXEC") === "1") return;
  const want = Math.min(hard, WANT);
  if (want <= soft) return;
  const child = new Deno.Command("sh", {
    args: ["-c", `ulimit -n ${want} && exec "$@"`, "sh", Deno.execPath(), "run", "--allow-all", script, ...Deno.args],
    env: { MODELPIN_BENCH_REEXEC: "1" },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  Deno.exit((await child.status).code);
}
