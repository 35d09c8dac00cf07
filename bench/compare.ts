/**
 * Two versions of modelpin side by side in one run, on the stream path:
 * this checkout and another one (`--before DIR`, a checkout of an earlier
 * commit). Each runs as start.sh runs it, behind the same backend, and the
 * Deno floor runs with them, so the ratios share the machine's state:
 *
 * 1. streaming rounds through the floor and both versions in rotation
 *    (time to first event and per-event delay, backend write to client read);
 * 2. 1,000 held streams through each version in turn, twice (peak RSS, RSS
 *    after the load, idle RSS);
 * 3. in process (bench/stream_cost.ts): CPU per event through each version's
 *    `handle()` on plain Requests with a stub upstream (no sockets), and the
 *    JS heap each open stream holds.
 *
 * Run: deno run --allow-all bench/compare.ts --before DIR [--settle SECONDS]
 *
 * @module
 */

import { afterLoad, heldLoad } from "./measure_held.ts";
import { streaming } from "./measure_streams.ts";
import { stopAll } from "./procs.ts";
import { parseArgs } from "./settings.ts";
import { type ModelpinSetup, startDenoBackend, startFloor, startModelpin } from "./subjects.ts";

const BENCH = new URL(".", import.meta.url).pathname.replace(/\/$/, "");
const TMP = `${BENCH}/tmp`;
const AFTER = BENCH.replace(/\/bench$/, "");

function flag(name: string): string | undefined {
  const at = Deno.args.indexOf(name);
  return at >= 0 ? Deno.args[at + 1] : undefined;
}

const BEFORE = flag("--before");
if (!BEFORE) {
  console.error("usage: deno run --allow-all bench/compare.ts --before DIR [--settle SECONDS]");
  Deno.exit(2);
}
const s = parseArgs([], AFTER).settings;
s.streamRounds = 8;
s.settleSeconds = Number(flag("--settle") ?? 20);
const versions = { before: BEFORE, after: AFTER } as const;
const setupOf = (root: string): ModelpinSetup => ({ root, tmp: TMP, env: {}, denoFlags: [] });
const f3 = (n: number) => n.toFixed(3);

await Deno.mkdir(`${TMP}/logs`, { recursive: true });
const backend = await startDenoBackend(BENCH, TMP);
const env = {
  FAST_BASE_URL: `http://127.0.0.1:${backend.stream}/v1`,
  FAST_MODEL_NAME: "bench-forced-model",
  FAST_API_KEY: "bench-key",
};

console.log(`# before: ${BEFORE}\n# after: ${AFTER}\n`);
console.log("## 1. streaming (ms; added = over the floor in the same rounds)\n");
const before = await startModelpin(setupOf(versions.before), "compare-before", env);
const after = await startModelpin(setupOf(versions.after), "compare-after", env);
const floor = await startFloor(BENCH, TMP, "compare", backend.stream);
const stats = await streaming([
  { name: "floor", port: floor.port },
  { name: "before", port: before.port },
  { name: "after", port: after.port },
], s);
await Promise.all([before.child.stop(), after.child.stop(), floor.child.stop()]);
console.log("| | ttfe p50 | added ttfe p50 | event delay p50 | added event delay p50 | event delay mean | late |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const [name, st] of Object.entries(stats)) {
  const added = (v: number, f: number) => name === "floor" ? "" : f3(v - f);
  console.log(
    `| ${name} | ${f3(st.ttfeP50)} | ${added(st.ttfeP50, stats.floor.ttfeP50)} | ${f3(st.oneWayP50)} | ${
      added(st.oneWayP50, stats.floor.oneWayP50)
    } | ${f3(st.oneWayMean)} | ${st.late} |`,
  );
}

console.log(`\n## 2. ${s.heldStreams} held streams (MB; RSS ${s.settleSeconds} s after the load)\n`);
console.log("| version | idle | peak | after the load |");
console.log("| --- | ---: | ---: | ---: |");
for (const name of ["before", "after", "before", "after"] as const) {
  const mp = await startModelpin(setupOf(versions[name]), `compare-held-${name}`, env);
  const held = await afterLoad(await heldLoad(mp, s, true), s.settleSeconds);
  console.log(
    `| ${name} | ${held.idleRssAfterStartMb.toFixed(1)} | ${held.peakRssMb.toFixed(1)} | ${
      held.rssAfterLoadMb.toFixed(1)
    } |`,
  );
  await mp.child.stop();
}
await stopAll();

console.log(
  "\n## 3. in process: CPU per event (median of 15 batches of 200 streams x 64 events), JS heap per open stream\n",
);
for (const name of ["before", "after", "before", "after"] as const) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--v8-flags=--expose-gc", `${BENCH}/stream_cost.ts`, versions[name]],
    stdout: "piped",
  }).output();
  console.log(`- ${name}: ${new TextDecoder().decode(out.stdout).trim().replaceAll("\n", "; ")}`);
}
Deno.exit(0);
