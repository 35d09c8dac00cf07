/**
 * The processes the benchmark measures and feeds: modelpin (started as
 * start.sh starts it), the Deno floor relay, and the Deno fake backend.
 *
 * modelpin gets its sandbox flags from its own `src/permissions.ts`, run as a
 * separate step exactly as start.sh runs it, so the benchmark imports nothing
 * from src/ and follows whatever configuration variables modelpin has.
 *
 * @module
 */

import { type Child, freePort, spawn, waitForLine, waitReady } from "./procs.ts";

/** Open files a process needs for 1,000 streams (client side and upstream side). */
export const OPEN_FILES = 65536;

/** Where modelpin lives and how every instance of it runs. */
export interface ModelpinSetup {
  /** Directory holding src/main.ts and src/permissions.ts. */
  root: string;
  /** Scratch directory (bench/tmp). */
  tmp: string;
  /** Environment added to every instance (from --env). */
  env: Record<string, string>;
  /** Deno flags added to every instance (from --deno-flag). */
  denoFlags: string[];
}

/** A started relay under test. */
export interface Relay {
  /** For messages: what it is and which section started it, e.g. "modelpin (held)". */
  name: string;
  child: Child;
  port: number;
  url: string;
  logFile: string;
  /** The command line, for the report (paths relative to the repository). */
  command: string;
}

/**
 * The environment a child starts from: none of this process's variables (so
 * no configuration leaks in from the shell), only what Deno needs to find its cache.
 */
export function baseEnv(): Record<string, string> {
  const keep: Record<string, string> = {};
  for (const name of ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"]) {
    const v = Deno.env.get(name);
    if (v !== undefined) keep[name] = v;
  }
  return keep;
}

/** Thrown when modelpin's sandbox step rejects the configuration. */
export class SandboxError extends Error {
  override name = "SandboxError";
}

/** start.sh's first step: the sandbox flags modelpin computes for `env` (run in `cwd`, which has no .env). */
export async function sandboxFlags(setup: ModelpinSetup, env: Record<string, string>, cwd: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", "--allow-read=.env", "--allow-env", `${setup.root}/src/permissions.ts`],
    cwd,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new SandboxError(`src/permissions.ts failed (${out.code}): ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout).split("\n").map((l) => l.trim()).filter(Boolean);
}

/** The environment of one modelpin instance: `env` over the listening address and --env additions. */
export function modelpinEnv(setup: ModelpinSetup, port: number, env: Record<string, string>): Record<string, string> {
  return { ...baseEnv(), BIND_HOST: "127.0.0.1", PROXY_PORT: String(port), ...env, ...setup.env };
}

/** The command line of start.sh's second step. */
export function modelpinArgs(setup: ModelpinSetup, flags: string[], extra: string[] = []): string[] {
  return ["run", "--quiet", "--no-prompt", ...setup.denoFlags, ...extra, ...flags, `${setup.root}/src/main.ts`];
}

let started = 0;

/** Starts modelpin with `env` as its configuration; resolves once /health answers. */
export async function startModelpin(
  setup: ModelpinSetup,
  name: string,
  env: Record<string, string>,
  extraDenoFlags: string[] = [],
): Promise<Relay> {
  const port = freePort();
  const cwd = `${setup.tmp}/run`;
  await Deno.mkdir(cwd, { recursive: true });
  const fullEnv = modelpinEnv(setup, port, env);
  const args = modelpinArgs(setup, await sandboxFlags(setup, fullEnv, cwd), extraDenoFlags);
  const logFile = `${setup.tmp}/logs/modelpin-${++started}-${name}.log`;
  const child = spawn(`modelpin (${name})`, Deno.execPath(), args, {
    cwd,
    env: fullEnv,
    clearEnv: true,
    logFile,
    openFiles: OPEN_FILES,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/health`, child, 20_000, logFile);
  const command = `deno ${args.join(" ").replaceAll(setup.root + "/", "")}`;
  return { name: `modelpin (${name})`, child, port, url, logFile, command };
}

/** Starts the Deno floor relay (bench/floor.ts) in front of `upstreamPort`, with flags as narrow as modelpin's. */
export async function startFloor(
  benchDir: string,
  tmp: string,
  name: string,
  upstreamPort: number,
  extraDenoFlags: string[] = [],
): Promise<Relay> {
  const port = freePort();
  const env = {
    ...baseEnv(),
    FLOOR_PORT: String(port),
    FLOOR_UPSTREAM: `http://127.0.0.1:${upstreamPort}`,
    FLOOR_MODEL: "bench-forced-model",
    FLOOR_KEY: "bench-key",
  };
  const args = [
    "run",
    "--quiet",
    "--no-prompt",
    ...extraDenoFlags,
    `--allow-net=127.0.0.1:${port},127.0.0.1:${upstreamPort}`,
    "--allow-env=FLOOR_PORT,FLOOR_UPSTREAM,FLOOR_MODEL,FLOOR_KEY",
    `${benchDir}/floor.ts`,
  ];
  const logFile = `${tmp}/logs/floor-${++started}-${name}.log`;
  await Deno.writeTextFile(logFile, "");
  const child = spawn(`Deno floor (${name})`, Deno.execPath(), args, {
    env,
    clearEnv: true,
    logFile,
    openFiles: OPEN_FILES,
  });
  await waitForLine(logFile, "floor listening", child, 20_000);
  const command = `deno ${args.join(" ").replaceAll(benchDir + "/", "bench/")}`;
  return { name: `floor (${name})`, child, port, url: `http://127.0.0.1:${port}`, logFile, command };
}

/** The fake backend's ports (see backend.ts). */
export interface DenoBackend {
  child: Child;
  json: number;
  fail: number;
  stream: number;
}

/** Starts bench/backend.ts in its own process. */
export async function startDenoBackend(benchDir: string, tmp: string): Promise<DenoBackend> {
  const logFile = `${tmp}/logs/deno-backend.log`;
  await Deno.writeTextFile(logFile, "");
  const child = spawn("Deno backend", Deno.execPath(), [
    "run",
    "--quiet",
    "--no-prompt",
    "--allow-net=127.0.0.1",
    `${benchDir}/backend.ts`,
  ], { logFile, openFiles: OPEN_FILES });
  const line = await waitForLine(logFile, "{", child, 10_000);
  return { child, ...JSON.parse(line) };
}
