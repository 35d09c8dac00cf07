/**
 * The benchmark's command line: `--quick` (a smoke run of every section, about
 * 30 s) or the full run, and the options that adjust either.
 *
 * @module
 */

/** How long and how hard each section runs. */
export interface Settings {
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
  /** Streaming: events per stream and ms between them. */
  streamEvents: number;
  streamGapMs: number;
  /** Held streams: how many, events each, ms apart. */
  heldStreams: number;
  heldEvents: number;
  heldGapMs: number;
  /** Seconds after the held load ends before the "after the load" RSS is read (the target says one minute). */
  settleSeconds: number;
  /** Start-ups timed (after one untimed warm-up that fills Deno's caches). */
  startupRuns: number;
  /** Seconds of profiled load per profiled process (0 = no profile). */
  profileSeconds: number;
  /** nginx reference proxy worker processes. */
  nginxWorkers: number;
  /** Untimed 1 s runs before timing (JIT, pools); false in quick mode, which only proves every section runs. */
  warmUp: boolean;
}

/** Everything the command line decides. */
export interface Args {
  settings: Settings;
  /** Markdown report path. */
  out: string;
  /** JSON results path. */
  jsonOut: string;
  /** False with --no-nginx: the nginx reference is skipped on request. */
  useNginx: boolean;
  /** "wrk" or "autocannon" when forced. */
  generator?: string;
  /** Extra environment for every modelpin process (--env NAME=VALUE, repeatable), e.g. to compare a setting. */
  modelpinEnv: Record<string, string>;
  /** Extra Deno flags for every modelpin process (--deno-flag FLAG, repeatable), e.g. V8 flags. */
  modelpinDenoFlags: string[];
  /** Directory holding src/main.ts and src/permissions.ts (--modelpin-root DIR), to measure a prototype. */
  modelpinRoot: string;
}

const QUICK: Settings = {
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
  settleSeconds: 2,
  startupRuns: 2,
  profileSeconds: 0,
  nginxWorkers: 1,
  warmUp: false,
};

const FULL: Settings = {
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
  settleSeconds: 60,
  startupRuns: 5,
  profileSeconds: 8,
  nginxWorkers: 1,
  warmUp: true,
};

/** Thrown for a command line that cannot be run. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Reads the command line; `root` is the repository (defaults for paths). */
export function parseArgs(args: string[], root: string): Args {
  const quick = args.includes("--quick");
  const value = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const values = (name: string) => args.flatMap((a, i) => (a === name && i + 1 < args.length ? [args[i + 1]] : []));
  const settings: Settings = { ...(quick ? QUICK : FULL) };
  if (args.includes("--no-profile")) settings.profileSeconds = 0;
  const positive = (name: string, key: "rounds" | "seconds" | "nginxWorkers" | "settleSeconds") => {
    const v = value(name);
    if (v === undefined) return;
    const n = Number(v);
    if (!Number.isFinite(n) || n < (key === "settleSeconds" ? 0 : 1)) throw new UsageError(`${name} ${v}: not a count`);
    settings[key] = n;
  };
  positive("--rounds", "rounds");
  positive("--seconds", "seconds");
  positive("--nginx-workers", "nginxWorkers");
  positive("--settle", "settleSeconds");
  const modelpinEnv: Record<string, string> = {};
  for (const pair of values("--env")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--env ${pair}: expected NAME=VALUE`);
    modelpinEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const tmp = `${root}/bench/tmp`;
  return {
    settings,
    out: value("--out") ?? (quick ? `${tmp}/results-quick.md` : `${root}/bench/results.md`),
    // The JSON form is for tools (and the test); by default it stays in the git-ignored bench/tmp/.
    jsonOut: value("--json") ?? `${tmp}/results${quick ? "-quick" : ""}.json`,
    useNginx: !args.includes("--no-nginx"),
    generator: value("--generator"),
    modelpinEnv,
    modelpinDenoFlags: values("--deno-flag"),
    modelpinRoot: (value("--modelpin-root") ?? root).replace(/\/$/, ""),
  };
}
