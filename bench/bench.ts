/**
 * `deno task bench`: modelpin's benchmark runner. In one run, in alternating
 * rounds so drift of a shared machine cancels out, it measures
 * - direct: load generator -> fake backend,
 * - Deno floor: load generator -> bench/floor.ts (the least a Deno relay can do) -> the same backend,
 * - modelpin: load generator -> modelpin -> the same backend,
 * - nginx: load generator -> nginx proxy_pass (keep-alive upstream) -> the same backend,
 * for non-streaming throughput and latency, streaming delay, 1,000 held
 * streams and memory, fallback cost and start-up time. It writes
 * bench/results.md (report.ts, checked against targets.ts) and results.json.
 *
 * modelpin runs exactly as start.sh runs it: its sandbox step (src/permissions.ts)
 * computes the flags, then `deno run --quiet --no-prompt <flags> src/main.ts`,
 * configured by environment variables only, request log on (to a file).
 *
 * Usage: deno task bench [--quick] [--out FILE.md] [--json FILE.json] [--no-profile] [--no-nginx]
 *   [--generator wrk|autocannon] [--rounds N] [--seconds N] [--settle SECONDS] [--nginx-workers N]
 *   [--env NAME=VALUE]... [--deno-flag FLAG]... [--modelpin-root DIR]
 *
 * @module
 */

import { REQUEST_BODY } from "./fixtures.ts";
import { autocannonGenerator, type LoadGenerator, wrkGenerator } from "./load.ts";
import { log } from "./log.ts";
import { afterLoad, heldLoad } from "./measure_held.ts";
import { CHAT, type LoadTarget, throughput, warmUp } from "./measure_load.ts";
import { profileUnderLoad } from "./measure_profile.ts";
import { startup } from "./measure_startup.ts";
import { streaming } from "./measure_streams.ts";
import { backendConfig, type NginxProxyPorts, proxyConfig, startNginx } from "./nginx.ts";
import { ensureOpenFiles } from "./open_files.ts";
import { firstLine, freePort, sleep, stopAll, which } from "./procs.ts";
import { renderReport } from "./report.ts";
import type { BenchResults, RunInfo } from "./results.ts";
import { type Args, parseArgs, type Settings } from "./settings.ts";
import {
  type DenoBackend,
  type ModelpinSetup,
  type Relay,
  startDenoBackend,
  startFloor,
  startModelpin,
} from "./subjects.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const BENCH = `${ROOT}/bench`;
const TMP = `${BENCH}/tmp`;

/** The tools and backends every section shares. */
interface Rig {
  args: Args;
  s: Settings;
  gen: LoadGenerator;
  nginx: RunInfo["nginx"];
  deno: DenoBackend;
  /** The static JSON backend and the failing one (nginx when installed, else the Deno backend). */
  backendJson: number;
  backendFail: number;
  backendKind: string;
  proxyPorts?: NginxProxyPorts;
  setup: ModelpinSetup;
  /** modelpin's configuration for the JSON backend. */
  mainEnv: Record<string, string>;
}

const base = (port: number) => `http://127.0.0.1:${port}/v1`;

async function pickGenerator(forced: string | undefined): Promise<LoadGenerator> {
  const wrk = which("wrk");
  if (wrk && forced !== "autocannon") return await wrkGenerator(wrk, TMP, (await firstLine(wrk, ["-v"])) ?? "wrk");
  const npx = which("npx");
  if (!npx) {
    throw new Error("no load generator: install wrk (apt-get install wrk) or Node.js with npx (for autocannon)");
  }
  if (!wrk) log("wrk is not installed (apt-get install wrk); using autocannon from npm via npx");
  return autocannonGenerator(
    npx,
    `autocannon 8 (npm, via npx, on Node.js ${(await firstLine("node", ["-v"])) ?? "?"})`,
  );
}

/** nginx's binary and version, or why it is not used. */
async function pickNginx(useNginx: boolean): Promise<{ bin?: string; info: RunInfo["nginx"] }> {
  if (!useNginx) {
    log("nginx skipped on request (--no-nginx): no nginx reference column");
    return { info: { skipped: "on request" } };
  }
  const bin = which("nginx");
  if (!bin) {
    log("nginx is not installed: the nginx reference is skipped (install it with: apt-get install nginx)");
    return { info: { skipped: "not installed" } };
  }
  return { bin, info: { version: (await firstLine(bin, ["-v"]))?.replace(/^nginx version: /, "") ?? "?" } };
}

async function startNginxPair(bin: string, s: Settings, deno: DenoBackend) {
  const json = freePort();
  const fail = freePort();
  await startNginx(
    "nginx backend",
    bin,
    `${TMP}/nginx-backend`,
    backendConfig(`${TMP}/nginx-backend`, json, fail),
    `http://127.0.0.1:${json}/`,
  );
  const ports: NginxProxyPorts = { json: freePort(), stream: freePort(), fallback: freePort(), health: freePort() };
  const conf = proxyConfig(`${TMP}/nginx-proxy`, s.nginxWorkers, ports, { json, stream: deno.stream, fail });
  await startNginx("nginx proxy", bin, `${TMP}/nginx-proxy`, conf, `http://127.0.0.1:${ports.health}/`);
  return { json, fail, ports };
}

async function rig(args: Args): Promise<Rig> {
  const s = args.settings;
  const gen = await pickGenerator(args.generator);
  const nginx = await pickNginx(args.useNginx);
  log(
    `modelpin benchmark (${s.mode}): load generator ${gen.name}, nginx ${
      "version" in nginx.info ? nginx.info.version : nginx.info.skipped
    }`,
  );
  const deno = await startDenoBackend(BENCH, TMP);
  const pair = nginx.bin ? await startNginxPair(nginx.bin, s, deno) : undefined;
  const backendJson = pair?.json ?? deno.json;
  return {
    args,
    s,
    gen,
    nginx: nginx.info,
    deno,
    backendJson,
    backendFail: pair?.fail ?? deno.fail,
    backendKind: pair
      ? "static nginx `return 200` JSON (worker_processes auto)"
      : "a Deno server in its own process (bench/backend.ts), as there is no nginx",
    proxyPorts: pair?.ports,
    setup: { root: args.modelpinRoot, tmp: TMP, env: args.modelpinEnv, denoFlags: args.modelpinDenoFlags },
    mainEnv: { FAST_BASE_URL: base(backendJson), FAST_MODEL_NAME: "bench-forced-model", FAST_API_KEY: "bench-key" },
  };
}

/** Sanity: a relay really forwards (and answers) before anything is timed. */
async function probe(relay: Relay): Promise<void> {
  const res = await fetch(relay.url + CHAT, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: REQUEST_BODY,
  });
  const text = await res.text();
  if (res.status !== 200 || !text.includes("chatcmpl-bench")) {
    throw new Error(`${relay.name} did not relay the backend's answer: ${res.status} ${text}`);
  }
}

async function nonStreamingSection(r: Rig) {
  log("1. non-streaming chat completions");
  const mp = await startModelpin(r.setup, "json", r.mainEnv);
  const floor = await startFloor(BENCH, TMP, "json", r.backendJson);
  await probe(mp);
  await probe(floor);
  const targets: LoadTarget[] = [
    { name: "direct", url: `http://127.0.0.1:${r.backendJson}` },
    { name: "floor", url: floor.url },
    { name: "modelpin", url: mp.url },
  ];
  if (r.proxyPorts) targets.push({ name: "nginx", url: `http://127.0.0.1:${r.proxyPorts.json}` });
  if (r.s.warmUp) await warmUp(r.gen, targets.slice(1));
  const runs = await throughput(r.gen, targets, r.s.levels, r.s.rounds, r.s.seconds);
  log("   latency at concurrency 1");
  const latency = (await throughput(r.gen, targets, [1], r.s.rounds, r.s.seconds))["1"];
  await floor.child.stop();
  return { mp, floor, result: { names: targets.map((t) => t.name), runs, latency } };
}

async function streamingSection(r: Rig): Promise<BenchResults["streaming"]> {
  log(`2. streaming: ${r.s.streamEvents} events ${r.s.streamGapMs} ms apart`);
  const mp = await startModelpin(r.setup, "stream", { ...r.mainEnv, FAST_BASE_URL: base(r.deno.stream) });
  const floor = await startFloor(BENCH, TMP, "stream", r.deno.stream);
  const targets = [{ name: "direct", port: r.deno.stream }, { name: "floor", port: floor.port }, {
    name: "modelpin",
    port: mp.port,
  }];
  if (r.proxyPorts) targets.push({ name: "nginx", port: r.proxyPorts.stream });
  const stats = await streaming(targets, r.s);
  await Promise.all([mp.child.stop(), floor.child.stop()]);
  return { names: targets.map((t) => t.name), stats };
}

async function heldSection(r: Rig): Promise<BenchResults["held"]> {
  const s = r.s;
  log(
    `3. ${s.heldStreams} concurrent slow streams (${s.heldEvents} events ${s.heldGapMs} ms apart), then ${s.settleSeconds} s idle`,
  );
  // Fresh processes, so each peak RSS is this load's. The floor's load runs while modelpin settles.
  const mp = await startModelpin(r.setup, "held", { ...r.mainEnv, FAST_BASE_URL: base(r.deno.stream) });
  const mpLoad = await heldLoad(mp, s, true);
  const floor = await startFloor(BENCH, TMP, "held", r.deno.stream);
  const floorLoad = await heldLoad(floor, s, false);
  const held = {
    modelpin: await afterLoad(mpLoad, s.settleSeconds),
    floor: await afterLoad(floorLoad, s.settleSeconds),
  };
  await Promise.all([mp.child.stop(), floor.child.stop()]);
  return held;
}

async function countFallbackLines(logFile: string): Promise<{ requests: number; fellBack: number }> {
  let requests = 0;
  let fellBack = 0;
  for (const line of (await Deno.readTextFile(logFile)).split("\n")) {
    // Requests in flight when the load generator stops end as 499 (client gone): not answered, not counted.
    if (!line.includes(` POST ${CHAT} `) || !/ 200 [\d.]+ms /.test(line)) continue;
    requests++;
    if (/ fallback=(?!no\b)/.test(line)) fellBack++;
  }
  return { requests, fellBack };
}

async function fallbackSection(r: Rig, mp: Relay): Promise<BenchResults["fallback"]> {
  log("4. fallback: the primary answers 503, every request falls back to the smart route");
  const env = {
    ...r.mainEnv,
    FAST_BASE_URL: base(r.backendFail),
    SMART_BASE_URL: base(r.backendJson),
    SMART_MODEL_NAME: "bench-smart-model",
  };
  const mpFb = await startModelpin(r.setup, "fallback", { ...env, PROXY_BREAKER_FAILURES: "0" });
  const mpBreaker = await startModelpin(r.setup, "fallback-breaker", env);
  const targets: LoadTarget[] = [
    { name: "modelpin (no failure)", url: mp.url },
    { name: "modelpin fallback", url: mpFb.url },
    { name: "modelpin breaker", url: mpBreaker.url },
  ];
  if (r.proxyPorts) targets.push({ name: "nginx fallback", url: `http://127.0.0.1:${r.proxyPorts.fallback}` });
  if (r.s.warmUp) await warmUp(r.gen, targets.slice(1));
  const runs = (await throughput(r.gen, targets, [32], r.s.rounds, r.s.seconds))["32"];
  await sleep(100); // the last log lines
  const lines = await countFallbackLines(mpFb.logFile);
  await Promise.all([mpFb.child.stop(), mpBreaker.child.stop()]);
  return { names: targets.map((t) => t.name), runs, log: lines };
}

async function profiles(r: Rig): Promise<BenchResults["profiles"]> {
  if (r.s.profileSeconds <= 0) return [];
  log(`profiles: modelpin and the Deno floor under ${r.gen.name} c=32 for ${r.s.profileSeconds} s with --cpu-prof`);
  const starters: [string, (flags: string[]) => Promise<Relay>][] = [
    ["modelpin", (flags) => startModelpin(r.setup, "profiled", r.mainEnv, flags)],
    ["floor", (flags) => startFloor(BENCH, TMP, "profiled", r.backendJson, flags)],
  ];
  const out: BenchResults["profiles"] = [];
  for (const [name, start] of starters) {
    try {
      const p = await profileUnderLoad(r.gen, name, `${TMP}/prof/${name}`, r.s.profileSeconds, start);
      out.push({ ...p, file: p.file.replace(ROOT + "/", "") });
    } catch (err) {
      // A missing profile must not throw away the measurements of the whole run.
      log(`  no profile for ${name}: ${err instanceof Error ? err.message : err}`);
    }
  }
  return out;
}

function runInfo(r: Rig, startedAt: Date, seconds: number, mp: Relay, floor: Relay): RunInfo {
  let cpu = "unknown";
  try {
    cpu = /model name\s*:\s*(.*)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1]?.trim() ?? cpu;
  } catch { /* not Linux */ }
  return {
    mode: r.s.mode,
    date: startedAt.toISOString(),
    totalSeconds: seconds,
    command: `deno task bench${Deno.args.length ? " " + Deno.args.join(" ") : ""}`,
    machine: { cpus: navigator.hardwareConcurrency, cpu, os: Deno.osRelease(), loadAvg: Deno.loadavg() },
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    generator: { name: r.gen.name, version: r.gen.version },
    nginx: r.nginx,
    backend: r.backendKind,
    modelpinCommand: mp.command,
    floorCommand: floor.command,
    settings: r.s,
  };
}

async function main(): Promise<number> {
  await ensureOpenFiles(import.meta.filename!);
  const args = parseArgs(Deno.args, ROOT);
  await Deno.mkdir(`${TMP}/logs`, { recursive: true });
  const startedAt = new Date();
  const t0 = performance.now();
  const r = await rig(args);
  const ns = await nonStreamingSection(r);
  const streamingResult = await streamingSection(r);
  const held = await heldSection(r);
  const fallback = await fallbackSection(r, ns.mp);
  await ns.mp.child.stop();
  log(`5. start-up to first answered request (${r.s.startupRuns} runs)`);
  const startupResult = await startup(r.setup, r.mainEnv, r.s.startupRuns);
  const profiled = await profiles(r);
  await stopAll();
  const results: BenchResults = {
    info: runInfo(r, startedAt, (performance.now() - t0) / 1000, ns.mp, ns.floor),
    nonStreaming: ns.result,
    streaming: streamingResult,
    held,
    startup: startupResult,
    fallback,
    profiles: profiled,
    analysis: await Deno.readTextFile(`${BENCH}/analysis.md`).catch(() => ""),
  };
  const { markdown, summary, checks } = renderReport(results);
  await Deno.mkdir(args.out.slice(0, args.out.lastIndexOf("/")) || ".", { recursive: true });
  await Deno.writeTextFile(args.out, markdown);
  await Deno.writeTextFile(args.jsonOut, JSON.stringify({ ...results, summary, targets: checks }, null, 2) + "\n");
  console.log(markdown);
  log(`\nwritten: ${args.out}`);
  return 0;
}

if (import.meta.main) {
  const onSignal = () => void stopAll().finally(() => Deno.exit(130));
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let code = 1;
  try {
    code = await main();
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.stack ?? err.message : err}`);
  } finally {
    await stopAll();
  }
  Deno.exit(code);
}
