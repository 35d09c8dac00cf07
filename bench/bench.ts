/**
 * `deno task bench`: modelpin's benchmark (issue 4). In one run, alternating
 * rounds so machine drift cancels out, it measures
 * - direct: load generator -> fake backend,
 * - modelpin: load generator -> modelpin -> the same backend,
 * - nginx: load generator -> nginx proxy_pass (keep-alive upstream) -> the same backend,
 * for non-streaming throughput and latency, streaming delay, 1,000 held
 * streams and memory, and the cost of fallback. It writes bench/results.md
 * (and results.json) and prints the table.
 *
 * modelpin runs exactly as start.sh runs it: `deno run --quiet --no-prompt
 * <flags from src/permissions.ts> src/main.ts`, configured by environment
 * variables, request log on (to a file). Everything listens on 127.0.0.1.
 *
 * Usage: deno task bench [--quick] [--out FILE.md] [--json FILE.json] [--no-profile] [--no-nginx] [--generator wrk|autocannon]
 *
 * @module
 */

import { CONFIG_VARIABLES, parseConfig } from "../src/config/config.ts";
import { permissionFlags } from "../src/permissions.ts";
import { REQUEST_BODY, STREAM_REQUEST_BODY } from "./fixtures.ts";
import { autocannonGenerator, type LoadGenerator, type LoadResult, wrkGenerator } from "./load.ts";
import { backendConfig, type NginxProxyPorts, proxyConfig, startNginx } from "./nginx.ts";
import { type ProfileSummary, summariseProfile } from "./profile.ts";
import { type Child, firstLine, freePort, memory, openFds, sleep, spawn, stopAll, waitReady, which } from "./procs.ts";
import { streamOnce, type StreamSample } from "./sse_client.ts";

// ---------------------------------------------------------------- settings

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const TMP = `${ROOT}/bench/tmp`;
const CHAT = "/v1/chat/completions";

interface Settings {
  mode: "quick" | "full";
  /** Alternating rounds per measurement. */
  rounds: number;
  /** Seconds per load-generator run. */
  seconds: number;
  /** Connection counts for throughput. */
  levels: number[];
  /** Streaming: rounds, and streams per round per target. */
  streamRounds: number;
  streamsPerRound: number;
  /** Streaming: events per stream and ms between them (the issue's 64 and 20). */
  streamEvents: number;
  streamGapMs: number;
  /** Held streams: how many, events each, ms apart. */
  heldStreams: number;
  heldEvents: number;
  heldGapMs: number;
  /** Seconds to let the proxy settle before reading idle RSS after the load. */
  settleSeconds: number;
  /** Seconds of profiled load (0 = no profile). */
  profileSeconds: number;
  /** nginx reference proxy worker processes. */
  nginxWorkers: number;
}

/** An event later than this (backend write -> client read) counts as late. */
const LATE_MS = 5;
/** A held stream with a gap longer than this between two events counts as stalled. */
const STALL_MS = 1000;

function parseArgs(args: string[]): {
  settings: Settings;
  out: string;
  jsonOut: string;
  useNginx: boolean;
  generator?: string;
} {
  const quick = args.includes("--quick");
  const value = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const settings: Settings = quick
    ? {
      mode: "quick",
      rounds: 1,
      seconds: 1,
      levels: [32, 128],
      streamRounds: 1,
      streamsPerRound: 4,
      streamEvents: 64,
      streamGapMs: 20,
      heldStreams: 1000,
      heldEvents: 10,
      heldGapMs: 100,
      settleSeconds: 1,
      profileSeconds: 0,
      nginxWorkers: 1,
    }
    : {
      mode: "full",
      rounds: 3,
      seconds: 5,
      levels: [32, 128],
      streamRounds: 4,
      streamsPerRound: 16,
      streamEvents: 64,
      streamGapMs: 20,
      heldStreams: 1000,
      heldEvents: 30,
      heldGapMs: 100,
      settleSeconds: 3,
      profileSeconds: 8,
      nginxWorkers: 1,
    };
  if (args.includes("--no-profile")) settings.profileSeconds = 0;
  const rounds = value("--rounds");
  if (rounds) settings.rounds = Math.max(1, Number(rounds));
  const seconds = value("--seconds");
  if (seconds) settings.seconds = Math.max(1, Number(seconds));
  const workers = value("--nginx-workers");
  if (workers) settings.nginxWorkers = Math.max(1, Number(workers));
  const out = value("--out") ?? (quick ? `${TMP}/results-quick.md` : `${ROOT}/bench/results.md`);
  // The JSON form is for tools (and the test); by default it stays in the git-ignored bench/tmp/.
  const jsonOut = value("--json") ?? `${TMP}/results${quick ? "-quick" : ""}.json`;
  return { settings, out, jsonOut, useNginx: !args.includes("--no-nginx"), generator: value("--generator") };
}

// ---------------------------------------------------------------- statistics

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

const median = (values: number[]) => percentile(values, 50);

function rotate<T>(items: T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

// ---------------------------------------------------------------- processes

/** Open files a process needs for 1,000 streams (client side and upstream side). */
const OPEN_FILES = 65536;

/** Makes sure this process may open enough sockets; re-runs itself under `ulimit -n` once if not. */
async function ensureOpenFiles(): Promise<void> {
  let soft = Infinity;
  let hard = Infinity;
  try {
    const limits = Deno.readTextFileSync("/proc/self/limits");
    const m = /Max open files\s+(\S+)\s+(\S+)/.exec(limits);
    if (m) {
      soft = m[1] === "unlimited" ? Infinity : Number(m[1]);
      hard = m[2] === "unlimited" ? Infinity : Number(m[2]);
    }
  } catch { /* not Linux */ }
  if (soft >= 4096 || Deno.env.get("MODELPIN_BENCH_REEXEC") === "1") return;
  const want = Math.min(hard, OPEN_FILES);
  if (want <= soft) return;
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      `ulimit -n ${want} && exec "$@"`,
      "sh",
      Deno.execPath(),
      "run",
      "--allow-all",
      import.meta.filename!,
      ...Deno.args,
    ],
    env: { MODELPIN_BENCH_REEXEC: "1" },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  Deno.exit((await child.status).code);
}

interface Modelpin {
  name: string;
  child: Child;
  port: number;
  url: string;
  logFile: string;
  /** The exact command line, for the report. */
  command: string;
}

let modelpinCount = 0;

/**
 * Starts modelpin as start.sh does, with `env` as its whole configuration:
 * every variable modelpin reads is set (unused ones empty, so nothing leaks in
 * from this environment), and it runs in an empty directory, so no `.env` is read.
 */
async function startModelpin(
  name: string,
  env: Record<string, string>,
  extraDenoFlags: string[] = [],
): Promise<Modelpin> {
  const port = freePort();
  const source: Record<string, string> = {};
  for (const v of CONFIG_VARIABLES) source[v] = "";
  Object.assign(source, { BIND_HOST: "127.0.0.1", PROXY_PORT: String(port) }, env);
  const flags = permissionFlags(parseConfig(source));
  const cwd = `${TMP}/run`;
  await Deno.mkdir(cwd, { recursive: true });
  const logFile = `${TMP}/logs/modelpin-${++modelpinCount}-${name}.log`;
  const args = ["run", "--quiet", "--no-prompt", ...extraDenoFlags, ...flags, `${ROOT}/src/main.ts`];
  const child = spawn(`modelpin (${name})`, Deno.execPath(), args, {
    cwd,
    env: source,
    logFile,
    openFiles: OPEN_FILES,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/health`, child, 20_000, logFile);
  return { name, child, port, url, logFile, command: `deno ${args.join(" ").replace(ROOT + "/", "")}` };
}

async function startDenoBackend(): Promise<{ child: Child; json: number; fail: number; stream: number }> {
  const logFile = `${TMP}/logs/deno-backend.log`;
  await Deno.writeTextFile(logFile, "");
  const child = spawn("Deno backend", Deno.execPath(), [
    "run",
    "--quiet",
    "--no-prompt",
    "--allow-net=127.0.0.1",
    `${ROOT}/bench/backend.ts`,
  ], { logFile, openFiles: OPEN_FILES });
  for (let i = 0; i < 200; i++) {
    const line = (await Deno.readTextFile(logFile)).split("\n").find((l) => l.startsWith("{"));
    if (line) return { child, ...JSON.parse(line) };
    await sleep(50);
  }
  throw new Error(`the Deno backend did not start: ${await Deno.readTextFile(logFile)}`);
}

// ---------------------------------------------------------------- measurements

interface Target {
  name: string;
  url: string;
}

/** Runs every target at every level, `rounds` times, rotating the order each time. */
async function throughput(
  gen: LoadGenerator,
  targets: Target[],
  levels: number[],
  rounds: number,
  seconds: number,
): Promise<Record<number, Record<string, LoadResult[]>>> {
  const results: Record<number, Record<string, LoadResult[]>> = {};
  for (const level of levels) {
    results[level] = {};
    for (const t of targets) results[level][t.name] = [];
  }
  for (let r = 0; r < rounds; r++) {
    for (const [li, level] of levels.entries()) {
      for (const t of rotate(targets, r + li)) {
        const res = await gen.run(t.url + CHAT, level, seconds);
        results[level][t.name].push(res);
        log(
          `  round ${r + 1} c=${level} ${t.name.padEnd(22)} ${res.rps.toFixed(0).padStart(7)} req/s  p50 ${
            res.p50us.toFixed(0)
          } us  p99 ${res.p99us.toFixed(0)} us${
            res.errors + res.non2xx ? `  errors ${res.errors} non2xx ${res.non2xx}` : ""
          }`,
        );
      }
    }
  }
  return results;
}

interface StreamStats {
  streams: number;
  complete: number;
  events: number;
  ttfeP50: number;
  ttfeP99: number;
  firstEventDelayP50: number;
  oneWayP50: number;
  oneWayP99: number;
  oneWayMean: number;
  coalesced: number;
  late: number;
  errors: string[];
}

function streamStats(samples: StreamSample[], expectedEvents: number): StreamStats {
  const ttfe = samples.map((s) => s.ttfeMs).filter((v) => Number.isFinite(v));
  const oneWay = samples.flatMap((s) => s.oneWayMs);
  return {
    streams: samples.length,
    complete: samples.filter((s) => s.done && s.events === expectedEvents && !s.error).length,
    events: samples.reduce((n, s) => n + s.events, 0),
    ttfeP50: median(ttfe),
    ttfeP99: percentile(ttfe, 99),
    firstEventDelayP50: median(samples.map((s) => s.firstOneWayMs).filter((v) => Number.isFinite(v))),
    oneWayP50: median(oneWay),
    oneWayP99: percentile(oneWay, 99),
    oneWayMean: oneWay.reduce((a, b) => a + b, 0) / (oneWay.length || 1),
    coalesced: samples.reduce((n, s) => n + s.coalesced, 0),
    late: oneWay.filter((v) => v > LATE_MS).length,
    errors: [...new Set(samples.filter((s) => s.error).map((s) => s.error!))],
  };
}

async function streaming(targets: { name: string; port: number }[], s: Settings): Promise<Record<string, StreamStats>> {
  const samples: Record<string, StreamSample[]> = {};
  for (const t of targets) samples[t.name] = [];
  const path = `${CHAT}?n=${s.streamEvents}&ms=${s.streamGapMs}`;
  const deadlineMs = s.streamEvents * s.streamGapMs + 15_000;
  for (let r = 0; r < s.streamRounds; r++) {
    for (const t of rotate(targets, r)) {
      const running: Promise<StreamSample>[] = [];
      for (let i = 0; i < s.streamsPerRound; i++) {
        running.push(streamOnce({ port: t.port, path, body: STREAM_REQUEST_BODY, deadlineMs }));
        await sleep(3); // staggered, so first events do not all arrive in the same instant
      }
      const got = await Promise.all(running);
      samples[t.name].push(...got);
      const st = streamStats(got, s.streamEvents);
      log(
        `  round ${r + 1} ${t.name.padEnd(8)} ttfe p50 ${st.ttfeP50.toFixed(3)} ms  event delay p50 ${
          st.oneWayP50.toFixed(3)
        } ms  coalesced ${st.coalesced}  late ${st.late}  complete ${st.complete}/${st.streams}`,
      );
    }
  }
  const out: Record<string, StreamStats> = {};
  for (const t of targets) out[t.name] = streamStats(samples[t.name], s.streamEvents);
  return out;
}

interface HeldResult {
  streams: number;
  complete: number;
  stalled: number;
  maxHeldAtOnce: number;
  proxyOpenStreamsMax: number;
  maxGapMs: number;
  idleRssAfterStartMb: number;
  peakRssMb: number;
  idleRssAfterLoadMb: number;
  fdsAfterStart: number;
  fdsPeak: number;
  fdsAfterLoad: number;
  seconds: number;
  errors: string[];
}

async function heldStreams(mp: Modelpin, s: Settings): Promise<HeldResult> {
  await sleep(1000);
  const idleStart = memory(mp.child.pid).rssMb;
  const fdsAfterStart = openFds(mp.child.pid);
  let fdsPeak = fdsAfterStart;
  log(`  idle RSS after start ${idleStart.toFixed(1)} MB; opening ${s.heldStreams} streams`);
  const path = `${CHAT}?n=${s.heldEvents}&ms=${s.heldGapMs}`;
  const deadlineMs = s.heldEvents * s.heldGapMs + 30_000;
  let open = 0;
  let maxOpen = 0;
  let proxyMax = 0;
  let sampledPeak = 0;
  let finished = false;
  const watcher = (async () => {
    while (!finished) {
      sampledPeak = Math.max(sampledPeak, memory(mp.child.pid).rssMb);
      fdsPeak = Math.max(fdsPeak, openFds(mp.child.pid));
      try {
        const h = await (await fetch(`${mp.url}/health`, { signal: AbortSignal.timeout(2000) })).json();
        proxyMax = Math.max(proxyMax, h.open_streams ?? 0);
      } catch { /* busy */ }
      await sleep(100);
    }
  })();
  const started = performance.now();
  const running: Promise<StreamSample>[] = [];
  for (let i = 0; i < s.heldStreams; i++) {
    running.push(
      streamOnce({
        port: mp.port,
        path,
        body: STREAM_REQUEST_BODY,
        deadlineMs,
        onFirstEvent: () => {
          open++;
          maxOpen = Math.max(maxOpen, open);
        },
      }).then((sample) => {
        if (sample.events > 0) open--;
        return sample;
      }),
    );
    if (i % 50 === 49) await sleep(5);
  }
  const samples = await Promise.all(running);
  const seconds = (performance.now() - started) / 1000;
  finished = true;
  await watcher;
  const peak = Math.max(memory(mp.child.pid).hwmMb, sampledPeak);
  await sleep(s.settleSeconds * 1000);
  const idleAfter = memory(mp.child.pid).rssMb;
  const fdsAfterLoad = openFds(mp.child.pid);
  const complete = samples.filter((x) => x.done && x.events === s.heldEvents && !x.error).length;
  const stalled = samples.filter((x) => !(x.done && x.events === s.heldEvents) || x.maxGapMs > STALL_MS).length;
  const result: HeldResult = {
    streams: s.heldStreams,
    complete,
    stalled,
    maxHeldAtOnce: maxOpen,
    proxyOpenStreamsMax: proxyMax,
    maxGapMs: Math.max(...samples.map((x) => x.maxGapMs)),
    idleRssAfterStartMb: idleStart,
    peakRssMb: peak,
    idleRssAfterLoadMb: idleAfter,
    fdsAfterStart,
    fdsPeak,
    fdsAfterLoad,
    seconds,
    errors: [...new Set(samples.filter((x) => x.error).map((x) => x.error!))],
  };
  log(
    `  complete ${complete}/${s.heldStreams}, stalled ${stalled}, held at once ${maxOpen} (proxy saw ${proxyMax}), ` +
      `peak RSS ${peak.toFixed(1)} MB, idle after ${idleAfter.toFixed(1)} MB`,
  );
  return result;
}

async function countFallbackLines(logFile: string): Promise<{ requests: number; fellBack: number }> {
  const text = await Deno.readTextFile(logFile);
  let requests = 0;
  let fellBack = 0;
  for (const line of text.split("\n")) {
    // Requests in flight when the load generator stops end as 499 (client gone): not answered, not counted.
    if (!line.includes(` POST ${CHAT} `) || !/ 200 [\d.]+ms /.test(line)) continue;
    requests++;
    if (/ fallback=(?!no\b)/.test(line)) fellBack++;
  }
  return { requests, fellBack };
}

async function profileUnderLoad(
  gen: LoadGenerator,
  env: Record<string, string>,
  seconds: number,
): Promise<{ summary: ProfileSummary; rps: number; file: string; command: string }> {
  const dir = `${TMP}/prof`;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  const mp = await startModelpin("profiled", env, ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
  await gen.run(mp.url + CHAT, 32, 1); // warm-up
  const res = await gen.run(mp.url + CHAT, 32, seconds);
  await mp.child.stop(30_000);
  const files = [...Deno.readDirSync(dir)].filter((f) => f.name.endsWith(".cpuprofile"));
  if (files.length === 0) throw new Error("deno --cpu-prof wrote no profile");
  const file = `${dir}/${files[0].name}`;
  return { summary: summariseProfile(await Deno.readTextFile(file)), rps: res.rps, file, command: mp.command };
}

// ---------------------------------------------------------------- report

const f0 = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : "n/a");
const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : "n/a");
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : "n/a");
const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : "n/a");
const ratio = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : "n/a");

function log(text: string): void {
  console.error(text);
}

interface TargetCheck {
  target: string;
  goal: string;
  measured: string;
  met: boolean | null;
  margin: string;
}

function check(target: string, goal: string, value: number, limit: number, lower: boolean, unit: string, digits = 2) {
  if (!Number.isFinite(value)) {
    return { target, goal, measured: "n/a", met: null, margin: "not measured" } as TargetCheck;
  }
  const met = lower ? value < limit : value >= limit;
  const diff = Math.abs(value - limit);
  const margin = met
    ? `met with ${diff.toFixed(digits)}${unit} to spare`
    : `missed by ${diff.toFixed(digits)}${unit}${
      lower && limit > 0
        ? ` (${(value / limit).toFixed(1)}x the limit)`
        : !lower && limit > 0
        ? ` (${((value / limit) * 100).toFixed(0)}% of the goal)`
        : ""
    }`;
  return { target, goal, measured: `${value.toFixed(digits)}${unit}`, met, margin } as TargetCheck;
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  await ensureOpenFiles();
  const { settings: s, out, jsonOut, useNginx, generator } = parseArgs(Deno.args);
  await Deno.mkdir(`${TMP}/logs`, { recursive: true });
  const startedAt = new Date();
  const t0 = performance.now();
  const loadAvg = Deno.loadavg();

  // Tools.
  const nginxBin = useNginx ? which("nginx") : undefined;
  const wrkBin = which("wrk");
  let gen: LoadGenerator;
  if (wrkBin && generator !== "autocannon") {
    gen = await wrkGenerator(wrkBin, TMP, (await firstLine(wrkBin, ["-v"])) ?? "wrk");
  } else {
    const npx = which("npx");
    if (!npx) {
      throw new Error("no load generator: install wrk (apt-get install wrk) or Node.js with npx (for autocannon)");
    }
    if (!wrkBin) log("wrk is not installed (apt-get install wrk); using autocannon from npm via npx");
    gen = autocannonGenerator(
      npx,
      "autocannon 8 (npm, via npx, on Node.js " + ((await firstLine("node", ["-v"])) ?? "?") + ")",
    );
  }
  const nginxVersion = nginxBin ? (await firstLine(nginxBin, ["-v"]))?.replace(/^nginx version: /, "") : undefined;
  if (!nginxBin) log("nginx is not installed: the nginx reference is skipped (install it with: apt-get install nginx)");
  log(`modelpin benchmark (${s.mode}): load generator ${gen.name}, nginx ${nginxVersion ?? "not installed"}`);

  // Backends.
  const deno = await startDenoBackend();
  let backendJson = deno.json;
  let backendFail = deno.fail;
  let backendKind = "a Deno server in its own process (bench/backend.ts), since nginx is not installed";
  let proxyPorts: NginxProxyPorts | undefined;
  if (nginxBin) {
    backendJson = freePort();
    backendFail = freePort();
    await startNginx(
      "nginx backend",
      nginxBin,
      `${TMP}/nginx-backend`,
      backendConfig(`${TMP}/nginx-backend`, backendJson, backendFail),
      `http://127.0.0.1:${backendJson}/`,
    );
    backendKind = "static nginx `return 200` JSON (worker_processes auto)";
    proxyPorts = { json: freePort(), stream: freePort(), fallback: freePort(), health: freePort() };
    await startNginx(
      "nginx proxy",
      nginxBin,
      `${TMP}/nginx-proxy`,
      proxyConfig(`${TMP}/nginx-proxy`, s.nginxWorkers, proxyPorts, {
        json: backendJson,
        stream: deno.stream,
        fail: backendFail,
      }),
      `http://127.0.0.1:${proxyPorts.health}/`,
    );
  }
  const base = (port: number) => `http://127.0.0.1:${port}/v1`;
  const mainEnv = {
    FAST_BASE_URL: base(backendJson),
    FAST_MODEL_NAME: "bench-forced-model",
    FAST_API_KEY: "bench-key",
  };

  // 1. Non-streaming.
  log("1. non-streaming chat completions");
  const mp = await startModelpin("json", mainEnv);
  const targets: Target[] = [
    { name: "direct", url: `http://127.0.0.1:${backendJson}` },
    { name: "modelpin", url: mp.url },
  ];
  if (proxyPorts) targets.push({ name: "nginx", url: `http://127.0.0.1:${proxyPorts.json}` });
  // Sanity: modelpin really forwards (and forces) before anything is timed.
  const probe = await fetch(mp.url + CHAT, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: REQUEST_BODY,
  });
  const probeBody = await probe.text();
  if (probe.status !== 200 || !probeBody.includes("chatcmpl-bench")) {
    throw new Error(`modelpin did not relay the backend's answer: ${probe.status} ${probeBody}`);
  }
  for (const t of targets.slice(1)) await gen.run(t.url + CHAT, 32, 1); // warm-up (JIT, pools)
  const thr = await throughput(gen, targets, s.levels, s.rounds, s.seconds);
  log("   latency at concurrency 1");
  const lat = (await throughput(gen, targets, [1], s.rounds, s.seconds))[1];

  // 2. Streaming.
  log(`2. streaming: ${s.streamEvents} events ${s.streamGapMs} ms apart`);
  const mpStream = await startModelpin("stream", { ...mainEnv, FAST_BASE_URL: base(deno.stream) });
  const streamTargets = [{ name: "direct", port: deno.stream }, { name: "modelpin", port: mpStream.port }];
  if (proxyPorts) streamTargets.push({ name: "nginx", port: proxyPorts.stream });
  const str = await streaming(streamTargets, s);
  await mpStream.child.stop();

  // 3. Held streams and memory (a fresh process, so its peak RSS is this load's).
  log(`3. ${s.heldStreams} concurrent slow streams (${s.heldEvents} events ${s.heldGapMs} ms apart)`);
  const mpHeld = await startModelpin("held", { ...mainEnv, FAST_BASE_URL: base(deno.stream) });
  const held = await heldStreams(mpHeld, s);
  await mpHeld.child.stop();

  // 4. Fallback.
  log("4. fallback: the primary answers 503, every request falls back to the smart route");
  const fbEnv = {
    ...mainEnv,
    FAST_BASE_URL: base(backendFail),
    SMART_BASE_URL: base(backendJson),
    SMART_MODEL_NAME: "bench-smart-model",
  };
  const mpFb = await startModelpin("fallback", { ...fbEnv, PROXY_BREAKER_FAILURES: "0" });
  const mpFbBreaker = await startModelpin("fallback-breaker", fbEnv);
  const fbTargets: Target[] = [
    { name: "modelpin (no failure)", url: mp.url },
    { name: "modelpin fallback", url: mpFb.url },
    { name: "modelpin breaker", url: mpFbBreaker.url },
  ];
  if (proxyPorts) fbTargets.push({ name: "nginx fallback", url: `http://127.0.0.1:${proxyPorts.fallback}` });
  for (const t of fbTargets.slice(1)) await gen.run(t.url + CHAT, 32, 1); // warm-up
  const fb = (await throughput(gen, fbTargets, [32], s.rounds, s.seconds))[32];
  await sleep(100);
  const fbLines = await countFallbackLines(mpFb.logFile);
  await Promise.all([mp.child.stop(), mpFb.child.stop(), mpFbBreaker.child.stop()]);

  // Profile.
  let prof: Awaited<ReturnType<typeof profileUnderLoad>> | undefined;
  if (s.profileSeconds > 0) {
    log(`profile: modelpin under ${gen.name} c=32 for ${s.profileSeconds} s with --cpu-prof`);
    prof = await profileUnderLoad(gen, mainEnv, s.profileSeconds);
  }
  await stopAll();
  const totalSeconds = (performance.now() - t0) / 1000;

  // ------------------------------------------------------------ numbers
  const med = (rs: LoadResult[], k: keyof LoadResult) => median(rs.map((r) => r[k]));
  const pairedRatio = (a: LoadResult[], b: LoadResult[] | undefined) =>
    b ? median(a.map((r, i) => r.rps / b[i].rps)) : NaN;
  const names = targets.map((t) => t.name);
  const nonStreaming = {
    rps: Object.fromEntries(
      s.levels.map((l) => [l, Object.fromEntries(names.map((n) => [n, med(thr[l][n], "rps")]))]),
    ) as Record<number, Record<string, number>>,
    ratioNginx: Object.fromEntries(
      s.levels.map((l) => [l, pairedRatio(thr[l].modelpin, thr[l].nginx)]),
    ) as Record<number, number>,
    ratioDirect: Object.fromEntries(
      s.levels.map((l) => [l, pairedRatio(thr[l].modelpin, thr[l].direct)]),
    ) as Record<number, number>,
    nginxOverDirect: Object.fromEntries(
      s.levels.map((l) => [l, pairedRatio(thr[l].nginx ?? [], thr[l].nginx ? thr[l].direct : undefined)]),
    ) as Record<number, number>,
    p50us: Object.fromEntries(names.map((n) => [n, med(lat[n], "p50us")])) as Record<string, number>,
    p99us: Object.fromEntries(names.map((n) => [n, med(lat[n], "p99us")])) as Record<string, number>,
    errors: Object.values(thr).concat([lat]).flatMap((byT) => Object.values(byT).flat()).reduce(
      (n, r) => n + r.errors + r.non2xx,
      0,
    ),
  };
  const added = (n: string, k: "p50us" | "p99us") => median(lat[n]?.map((r, i) => r[k] - lat.direct[i][k]) ?? []);
  const addedP50 = { modelpin: added("modelpin", "p50us"), nginx: proxyPorts ? added("nginx", "p50us") : NaN };
  const addedP99 = { modelpin: added("modelpin", "p99us"), nginx: proxyPorts ? added("nginx", "p99us") : NaN };

  const d = str.direct;
  const addedStream = (n: string) =>
    str[n]
      ? {
        ttfeP50: str[n].ttfeP50 - d.ttfeP50,
        ttfeP99: str[n].ttfeP99 - d.ttfeP99,
        firstEventP50: str[n].firstEventDelayP50 - d.firstEventDelayP50,
        eventP50: str[n].oneWayP50 - d.oneWayP50,
        eventP99: str[n].oneWayP99 - d.oneWayP99,
        eventMean: str[n].oneWayMean - d.oneWayMean,
      }
      : undefined;
  const streamAdded = { modelpin: addedStream("modelpin")!, nginx: addedStream("nginx") };

  const fbNames = fbTargets.map((t) => t.name);
  const fbRps = Object.fromEntries(fbNames.map((n) => [n, med(fb[n], "rps")])) as Record<string, number>;
  const fbErrors = Object.values(fb).flat().reduce((n, r) => n + r.errors + r.non2xx, 0);
  const fbRatioNormal = pairedRatio(fb["modelpin fallback"], fb["modelpin (no failure)"]);
  const fbRatioNginx = pairedRatio(fb["modelpin fallback"], fb["nginx fallback"]);

  // ------------------------------------------------------------ targets
  const checks: TargetCheck[] = [
    proxyPorts
      ? check(
        "Non-streaming throughput at 32 connections, modelpin/nginx",
        ">= 0.60x",
        nonStreaming.ratioNginx[32],
        0.6,
        false,
        "x",
      )
      : {
        target: "Non-streaming throughput at 32 connections, modelpin/nginx",
        goal: ">= 0.60x",
        measured: "n/a",
        met: null,
        margin: "nginx not installed (apt-get install nginx)",
      },
    check("Added latency at concurrency 1, p50", "< 0.150 ms", addedP50.modelpin / 1000, 0.15, true, " ms", 3),
    check("Added latency at concurrency 1, p99", "< 0.500 ms", addedP99.modelpin / 1000, 0.5, true, " ms", 3),
    check("Streaming: added time to first event, p50", "< 1.000 ms", streamAdded.modelpin.ttfeP50, 1, true, " ms", 3),
    check("Streaming: added per-event delay (p50)", "< 0.050 ms", streamAdded.modelpin.eventP50, 0.05, true, " ms", 3),
    check("Streaming: events coalesced or late", "0", str.modelpin.coalesced + str.modelpin.late, 0.5, true, "", 0),
    check(
      `${held.streams} concurrent streams: incomplete or stalled`,
      "0",
      held.streams - held.complete + held.stalled,
      0.5,
      true,
      "",
      0,
    ),
    check(`${held.streams} concurrent streams: peak RSS`, "< 150 MB", held.peakRssMb, 150, true, " MB", 1),
    check("Idle RSS after start", "< 60 MB", held.idleRssAfterStartMb, 60, true, " MB", 1),
    check("Idle RSS after the load", "< 60 MB", held.idleRssAfterLoadMb, 60, true, " MB", 1),
  ];
  for (const c of checks) if (c.goal === "0" && c.met !== null) c.measured = c.measured.trim();

  // ------------------------------------------------------------ markdown
  const cpu = (() => {
    try {
      return /model name\s*:\s*(.*)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1]?.trim() ?? "unknown";
    } catch {
      return "unknown";
    }
  })();
  const command = `deno task bench${Deno.args.length ? " " + Deno.args.join(" ") : ""}`;
  const nginxCol = proxyPorts !== undefined;
  const L: string[] = [];
  const row = (cells: (string | number)[]) => L.push(`| ${cells.join(" | ")} |`);
  L.push(
    `# modelpin benchmark results${s.mode === "quick" ? " (quick mode: smoke test, not for comparison)" : ""}`,
    "",
  );
  L.push(`- Date: ${startedAt.toISOString()} (took ${totalSeconds.toFixed(0)} s)`);
  L.push(
    `- Machine: ${navigator.hardwareConcurrency} CPUs (${cpu}), Linux ${Deno.osRelease()}, load average at start ${
      loadAvg.map((v) => v.toFixed(2)).join(" ")
    }`,
  );
  L.push(
    `- Deno ${Deno.version.deno} (V8 ${Deno.version.v8}); modelpin command: \`${mp.command}\` (flags from src/permissions.ts, request log on, to a file)`,
  );
  L.push(
    `- Load generator: ${
      gen.name === "wrk" ? `${gen.version}, 1 thread` : gen.version
    }; POST ${CHAT}, ${REQUEST_BODY.length}-byte JSON body`,
  );
  L.push(`- Backend: ${backendKind}; streaming backend: bench/backend.ts (Deno, own process)`);
  L.push(
    `- Reference proxy: ${
      nginxCol
        ? `nginx ${nginxVersion}, \`proxy_pass\` to a keep-alive upstream (keepalive 256, HTTP/1.1), worker_processes ${s.nginxWorkers}`
        : "nginx not installed, so no reference column: install it with `apt-get install nginx wrk` and run again"
    }`,
  );
  L.push(
    `- Command: \`${command}\` (mode ${s.mode}: ${s.rounds} alternating round(s) of ${s.seconds} s per target and level; all on 127.0.0.1)`,
  );
  L.push(
    "",
    "Absolute numbers depend on the machine (and on anything else running on it); the ratios measured in the same run are the headline.",
    "",
  );

  L.push("## Targets (issue 4)", "");
  row(["target", "goal", "measured", "result"]);
  row(["---", "---", "---", "---"]);
  for (const c of checks) {
    row([c.target, c.goal, c.measured, `${c.met === null ? "n/a" : c.met ? "**met**" : "**missed**"}: ${c.margin}`]);
  }
  L.push("");

  L.push("## 1. Non-streaming chat completions", "");
  row([
    "",
    "direct",
    "modelpin",
    ...(nginxCol ? ["nginx"] : []),
    "modelpin/direct",
    ...(nginxCol ? ["modelpin/nginx", "nginx/direct"] : []),
  ]);
  row(["---", "---:", "---:", ...(nginxCol ? ["---:"] : []), "---:", ...(nginxCol ? ["---:", "---:"] : [])]);
  for (const l of s.levels) {
    const r = nonStreaming.rps[l];
    row([
      `req/s, ${l} connections`,
      f0(r.direct),
      f0(r.modelpin),
      ...(nginxCol ? [f0(r.nginx)] : []),
      ratio(nonStreaming.ratioDirect[l]),
      ...(nginxCol ? [`**${ratio(nonStreaming.ratioNginx[l])}**`, ratio(nonStreaming.nginxOverDirect[l])] : []),
    ]);
  }
  row([
    "p50 latency, 1 connection (ms)",
    f3(nonStreaming.p50us.direct / 1000),
    f3(nonStreaming.p50us.modelpin / 1000),
    ...(nginxCol ? [f3(nonStreaming.p50us.nginx / 1000)] : []),
    "",
    ...(nginxCol ? ["", ""] : []),
  ]);
  row([
    "p99 latency, 1 connection (ms)",
    f3(nonStreaming.p99us.direct / 1000),
    f3(nonStreaming.p99us.modelpin / 1000),
    ...(nginxCol ? [f3(nonStreaming.p99us.nginx / 1000)] : []),
    "",
    ...(nginxCol ? ["", ""] : []),
  ]);
  row([
    "added p50 latency over direct (ms)",
    "",
    `**${f3(addedP50.modelpin / 1000)}**`,
    ...(nginxCol ? [f3(addedP50.nginx / 1000)] : []),
    "",
    ...(nginxCol ? ["", ""] : []),
  ]);
  row([
    "added p99 latency over direct (ms)",
    "",
    `**${f3(addedP99.modelpin / 1000)}**`,
    ...(nginxCol ? [f3(addedP99.nginx / 1000)] : []),
    "",
    ...(nginxCol ? ["", ""] : []),
  ]);
  L.push("");
  L.push(
    `Medians over ${s.rounds} round(s); ratios are medians of the per-round ratios. Socket errors and non-2xx responses: ${nonStreaming.errors}.`,
  );
  if (gen.name !== "wrk") {
    L.push(
      "autocannon reports latency in whole milliseconds, so the latency rows are coarse; install wrk for microseconds.",
    );
  }
  L.push("", "<details><summary>Every run</summary>", "");
  row(["round", "connections", "target", "req/s", "p50 ms", "p99 ms", "errors"]);
  row(["---", "---", "---", "---:", "---:", "---:", "---:"]);
  for (const l of [...s.levels, 1]) {
    const byT = l === 1 ? lat : thr[l];
    for (let r = 0; r < s.rounds; r++) {
      for (const n of names) {
        const x = byT[n][r];
        row([r + 1, l, n, f0(x.rps), f3(x.p50us / 1000), f3(x.p99us / 1000), x.errors + x.non2xx]);
      }
    }
  }
  L.push("", "</details>", "");

  L.push(`## 2. Streaming: ${s.streamEvents} events, ${s.streamGapMs} ms apart`, "");
  const sc = ["direct", "modelpin", ...(nginxCol ? ["nginx"] : [])];
  row(["", ...sc]);
  row(["---", ...sc.map(() => "---:")]);
  row(["streams complete", ...sc.map((n) => `${str[n].complete}/${str[n].streams}`)]);
  row(["time to first event p50 (ms)", ...sc.map((n) => f3(str[n].ttfeP50))]);
  row(["time to first event p99 (ms)", ...sc.map((n) => f3(str[n].ttfeP99))]);
  row([
    "first event: backend write -> client read, p50 (ms)",
    ...sc.map((n) => f3(str[n].firstEventDelayP50)),
  ]);
  row(["event delay p50, backend write -> client read (ms)", ...sc.map((n) => f3(str[n].oneWayP50))]);
  row(["event delay p99 (ms)", ...sc.map((n) => f3(str[n].oneWayP99))]);
  row([
    "**added** time to first event p50 (ms)",
    "",
    `**${f3(streamAdded.modelpin.ttfeP50)}**`,
    ...(nginxCol ? [f3(streamAdded.nginx!.ttfeP50)] : []),
  ]);
  row([
    "**added** time to first event p99 (ms)",
    "",
    `**${f3(streamAdded.modelpin.ttfeP99)}**`,
    ...(nginxCol ? [f3(streamAdded.nginx!.ttfeP99)] : []),
  ]);
  row([
    "added p50 of it after the backend's first write (response path; the rest is the request path)",
    "",
    f3(streamAdded.modelpin.firstEventP50),
    ...(nginxCol ? [f3(streamAdded.nginx!.firstEventP50)] : []),
  ]);
  row([
    "**added** per-event delay p50 (ms)",
    "",
    `**${f3(streamAdded.modelpin.eventP50)}**`,
    ...(nginxCol ? [f3(streamAdded.nginx!.eventP50)] : []),
  ]);
  row([
    "added per-event delay p99 (ms)",
    "",
    f3(streamAdded.modelpin.eventP99),
    ...(nginxCol ? [f3(streamAdded.nginx!.eventP99)] : []),
  ]);
  row([
    "added per-event delay, mean (ms)",
    "",
    f3(streamAdded.modelpin.eventMean),
    ...(nginxCol ? [f3(streamAdded.nginx!.eventMean)] : []),
  ]);
  row(["events coalesced (arrived in one read with an earlier one)", ...sc.map((n) => String(str[n].coalesced))]);
  row([`events late (> ${LATE_MS} ms after the backend wrote them)`, ...sc.map((n) => String(str[n].late))]);
  L.push("");
  L.push(
    `${s.streamRounds} round(s) x ${s.streamsPerRound} concurrent streams per target (started 3 ms apart), ${
      s.streamRounds * s.streamsPerRound * (s.streamEvents - 1)
    } timed events per target. The client is a raw TCP reader in the benchmark process (bench/sse_client.ts); the backend stamps each event with its wall clock (sub-millisecond), so the delay of every event is measured, not inferred from gaps.${
      str.modelpin.errors.length ? ` Errors: ${str.modelpin.errors.join("; ")}` : ""
    }`,
    "",
  );

  L.push(
    `## 3. ${held.streams} concurrent slow streams (${s.heldEvents} events, ${s.heldGapMs} ms apart, through modelpin)`,
    "",
  );
  row(["", "value"]);
  row(["---", "---:"]);
  row(["streams complete", `${held.complete}/${held.streams}`]);
  row([`stalled (incomplete, or a gap > ${STALL_MS} ms)`, String(held.stalled)]);
  row(["held at once (client side, max)", String(held.maxHeldAtOnce)]);
  row(["open streams reported by modelpin /health (max)", String(held.proxyOpenStreamsMax)]);
  row(["largest gap between two events of one stream (ms)", f1(held.maxGapMs)]);
  row(["proxy idle RSS after start (MB)", `**${f1(held.idleRssAfterStartMb)}**`]);
  row(["proxy peak RSS (VmHWM) (MB)", `**${f1(held.peakRssMb)}**`]);
  row([`proxy idle RSS ${s.settleSeconds} s after the load (MB)`, `**${f1(held.idleRssAfterLoadMb)}**`]);
  row([
    "proxy open file descriptors (sockets): after start / peak / after the load",
    `${held.fdsAfterStart} / ${held.fdsPeak} / ${held.fdsAfterLoad}`,
  ]);
  row(["wall time for all streams (s)", f2(held.seconds)]);
  L.push("");
  if (held.errors.length) L.push(`Errors: ${held.errors.join("; ")}`, "");

  L.push("## 4. Fallback cost (primary answers 503, every request retried on the smart route)", "");
  row(["", "req/s, 32 connections", "vs modelpin without failures", ...(nginxCol ? ["vs nginx fallback"] : [])]);
  row(["---", "---:", "---:", ...(nginxCol ? ["---:"] : [])]);
  for (const n of fbNames) {
    row([
      n,
      f0(fbRps[n]),
      ratio(pairedRatio(fb[n], fb["modelpin (no failure)"])),
      ...(nginxCol ? [ratio(pairedRatio(fb[n], fb["nginx fallback"]))] : []),
    ]);
  }
  L.push("");
  L.push(
    `- modelpin fallback: PROXY_BREAKER_FAILURES=0 (breaker off), so every request tries the primary first; its log shows ${fbLines.fellBack} of ${fbLines.requests} answered requests fell back.`,
    "- modelpin breaker: default breaker, so after 3 failures the cooling primary is skipped (this is what users get by default).",
    nginxCol
      ? "- nginx fallback: `proxy_next_upstream http_503 non_idempotent` to a `backup` server, `max_fails=0` (every request tries the primary)."
      : "- nginx not installed: no nginx fallback reference.",
    `- Errors or non-2xx seen by the client: ${fbErrors}. Headline: modelpin fallback/no failure ${
      ratio(fbRatioNormal)
    }${nginxCol ? `, modelpin fallback/nginx fallback ${ratio(fbRatioNginx)}` : ""}.`,
    "",
  );

  if (prof) {
    const p = prof.summary;
    L.push(
      `## Profile: modelpin under ${gen.name} 32 connections for ${s.profileSeconds} s (${
        f0(prof.rps)
      } req/s while profiled)`,
      "",
    );
    L.push(`\`${prof.command}\` (${p.samples} samples; file ${prof.file.replace(ROOT + "/", "")}).`, "");
    row(["where the main thread's time went", "% of samples"]);
    row(["---", "---:"]);
    for (const c of p.categories) row([c.name, f1(c.percent)]);
    L.push("");
    row(["function (self time)", "%"]);
    row(["---", "---:"]);
    for (const c of p.topSelf) row([`\`${c.name}\``, f1(c.percent)]);
    L.push("");
    row(["modelpin function (inclusive time)", "%"]);
    row(["---", "---:"]);
    for (const c of p.topModelpin) row([`\`${c.name}\``, f1(c.percent)]);
    L.push("");
  }
  const missed = checks.filter((c) => c.met === false);
  if (missed.length) {
    L.push("## Missed targets", "");
    for (const c of missed) L.push(`- ${c.target}: ${c.margin}.`);
    if (prof) {
      const busy = prof.summary.categories.filter((c) => !c.name.startsWith("idle"));
      L.push(
        `- Where the time goes (profile above): ${
          busy.slice(0, 4).map((c) => `${c.name} ${f1(c.percent)}%`).join(", ")
        }; top self-time functions: ${
          prof.summary.topSelf.slice(0, 4).map((c) => `\`${c.name}\` ${f1(c.percent)}%`).join(", ")
        }.`,
      );
    }
    L.push("");
  }
  // The hand-written analysis of the optimisation work travels with every results file.
  try {
    L.push((await Deno.readTextFile(new URL("./analysis.md", import.meta.url))).trimEnd(), "");
  } catch { /* no analysis written yet */ }
  const markdown = L.join("\n");
  await Deno.mkdir(out.slice(0, out.lastIndexOf("/")) || ".", { recursive: true });
  await Deno.writeTextFile(out, markdown);
  const json = {
    mode: s.mode,
    date: startedAt.toISOString(),
    generator: gen.name,
    nginx: nginxVersion ?? null,
    nonStreaming: { ...nonStreaming, addedP50us: addedP50, addedP99us: addedP99 },
    streaming: { stats: str, added: streamAdded },
    held,
    fallback: { rps: fbRps, ratioNormal: fbRatioNormal, ratioNginx: fbRatioNginx, errors: fbErrors, log: fbLines },
    targets: checks,
    profile: prof?.summary ?? null,
  };
  await Deno.writeTextFile(jsonOut, JSON.stringify(json, null, 2) + "\n");
  console.log(markdown);
  log(`\nwritten: ${out}`);
  return 0;
}

if (import.meta.main) {
  const onSignal = () => {
    stopAll().finally(() => Deno.exit(130));
  };
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
