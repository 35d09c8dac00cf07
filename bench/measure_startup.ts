/**
 * Start-up to first answered request, the way start.sh starts modelpin: the
 * sandbox step (src/permissions.ts), then main.ts, until a chat completion is
 * answered 200 (so the first upstream connection is included).
 *
 * @module
 */

import { REQUEST_BODY } from "./fixtures.ts";
import { log } from "./log.ts";
import { CHAT } from "./measure_load.ts";
import { freePort, sleep, spawn } from "./procs.ts";
import type { StartupResult } from "./results.ts";
import { modelpinArgs, modelpinEnv, type ModelpinSetup, sandboxFlags } from "./subjects.ts";

/** Polls `url` with a chat completion every millisecond until one is answered 200; the time it was. */
async function firstAnswer(url: string, exited: () => boolean, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline && !exited()) {
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: REQUEST_BODY,
      });
      await res.body?.cancel();
      if (res.status === 200) return performance.now();
    } catch { /* not listening yet */ }
    await sleep(1);
  }
  throw new Error(`modelpin answered no chat completion within ${timeoutMs} ms${exited() ? " (it exited)" : ""}`);
}

/** One start-up, timed; the process is stopped before this returns. */
async function startupOnce(setup: ModelpinSetup, env: Record<string, string>): Promise<[number, number]> {
  const port = freePort();
  const cwd = `${setup.tmp}/run`;
  await Deno.mkdir(cwd, { recursive: true });
  const fullEnv = modelpinEnv(setup, port, env);
  const t0 = performance.now();
  const flags = await sandboxFlags(setup, fullEnv, cwd);
  const t1 = performance.now();
  const child = spawn("modelpin (start-up)", Deno.execPath(), modelpinArgs(setup, flags), {
    cwd,
    env: fullEnv,
    clearEnv: true,
    logFile: `${setup.tmp}/logs/modelpin-startup.log`,
  });
  let exited = false;
  child.exited.then(() => exited = true);
  try {
    const t2 = await firstAnswer(`http://127.0.0.1:${port}${CHAT}`, () => exited, 20_000);
    return [t2 - t0, t1 - t0];
  } finally {
    await child.stop();
  }
}

/** `runs` timed start-ups after one untimed warm-up (which fills Deno's module caches). */
export async function startup(setup: ModelpinSetup, env: Record<string, string>, runs: number): Promise<StartupResult> {
  await startupOnce(setup, env);
  const result: StartupResult = { totalMs: [], sandboxMs: [] };
  for (let i = 0; i < runs; i++) {
    const [total, sandbox] = await startupOnce(setup, env);
    result.totalMs.push(total);
    result.sandboxMs.push(sandbox);
  }
  log(`  start-up to first answer: ${result.totalMs.map((v) => v.toFixed(0)).join(", ")} ms`);
  return result;
}
