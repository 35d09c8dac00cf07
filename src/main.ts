/**
 * modelpin's entry point: reads the configuration, prints the start-up
 * banner, serves, and shuts down on SIGINT/SIGTERM. It only wires parts.
 *
 * @module
 */

import { type Config, ConfigError, type ConfigSource, parseConfig } from "./config/config.ts";
import { loadLaunchConfig, parseLaunchOptions, refuseDemo } from "./config/launch_options.ts";
import { type RunningProxy, serveProxy } from "./server.ts";
import { VERSION } from "./version.ts";

/** The version, re-exported for callers of `run`. */
export { VERSION };

/** What `run` needs from its surroundings; everything is injectable for tests. */
export interface RunOptions {
  /** Command-line arguments. */
  args?: string[];
  /** Configuration values; by default the process environment over `./.env` (or `--env-file=PATH`). */
  source?: ConfigSource;
  /** Standard output (banner and request log). */
  stdout?: (text: string) => void;
  /** Standard error (configuration errors and warnings). */
  stderr?: (text: string) => void;
  /** Install SIGINT/SIGTERM handlers (off in tests that run several servers). */
  signals?: boolean;
  /** Called once the server listens. */
  onListen?: (server: RunningProxy) => void;
}

const encoder = new TextEncoder();

/**
 * A writer for stdout or stderr that writes every byte, and goes quiet instead
 * of throwing when the reader is gone (`| head`, a restarted journald): losing
 * log lines must never take the proxy and its open streams down.
 */
function fileWriter(file: { writeSync(p: Uint8Array): number }): (text: string) => void {
  let broken = false;
  return (text) => {
    if (broken) return;
    const bytes = encoder.encode(text);
    try {
      for (let at = 0; at < bytes.length;) at += file.writeSync(bytes.subarray(at));
    } catch {
      broken = true;
    }
  };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|(0+:){7}0*1|::ffff:127\.\d+\.\d+\.\d+|localhost)$/i;

/** The start-up banner: one line per route, never a key. It ends with the "listening" line. */
export function banner(config: Config, addr: Deno.NetAddr): string {
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const lines = [`modelpin ${VERSION}`];
  for (const route of [config.fast, config.smart]) {
    const where = route.baseUrl
      ? route.baseUrl.host + route.baseUrl.pathname.replace(/\/+$/, "")
      : "built-in demo backend";
    const fallback = config.demo ? "" : `  fallback=${config.fallback ? "on" : "off"}`;
    lines.push(
      `  ${route.name.padEnd(5)} -> ${where}  model=${route.model}  key=${route.apiKey ? "set" : "none"}${fallback}`,
    );
  }
  if (config.demo) {
    lines.push(
      "",
      "  *** DEMO MODE: no backend is configured, so an echo model answers. ***",
      "  The demo has one built-in backend, so there is nothing to fall back to.",
      "  To use a real backend, copy .env.example to .env and set FAST_BASE_URL,",
      "  FAST_API_KEY and FAST_MODEL_NAME (see README.md), then restart.",
      "",
    );
  }
  lines.push(`listening on http://${host}:${addr.port}`);
  return lines.join("\n") + "\n";
}

/** Warnings about a configuration that works but is risky. */
export function warnings(config: Config): string[] {
  const out: string[] = [];
  if (!LOOPBACK.test(config.bindHost) && config.proxyApiKeys.length === 0) {
    out.push(
      `WARNING: listening on ${config.bindHost} without PROXY_API_KEYS: anyone who can reach this address can spend your backend key. Set BIND_HOST=127.0.0.1 or PROXY_API_KEYS.`,
    );
  }
  if (config.dotenvSkippedLines.length > 0) {
    out.push(`WARNING: .env lines ${config.dotenvSkippedLines.join(", ")} could not be parsed and were skipped.`);
  }
  for (const name of config.retiredSet) {
    out.push(`NOTICE: ${name} is no longer used (fetch is modelpin's only upstream client); remove it from .env.`);
  }
  for (const name of config.dotenvUnresolved) {
    out.push(`WARNING: .env uses \${${name}}, but ${name} is not set: its default, or an empty string, was used.`);
  }
  return out;
}

/**
 * Runs modelpin until it is shut down. Returns the process exit code: 0 after
 * a clean shutdown, 2 for invalid configuration.
 */
export async function run(options: RunOptions = {}): Promise<number> {
  const stdout = options.stdout ?? fileWriter(Deno.stdout);
  const stderr = options.stderr ?? fileWriter(Deno.stderr);
  const args = options.args ?? [];
  if (args.includes("--version")) {
    stdout(`modelpin ${VERSION}\n`);
    return 0;
  }
  let config: Config;
  try {
    const launch = parseLaunchOptions(args); // --env-file=PATH, --skip-env-file, --no-demo
    config = options.source ? refuseDemo(parseConfig(options.source), launch) : loadLaunchConfig(launch);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    stderr(`modelpin: ${err.message}\nSee README.md#configuration. Nothing was started.\n`);
    return 2;
  }

  let server: RunningProxy;
  try {
    server = serveProxy({ config, stdout });
  } catch (err) {
    stderr(`modelpin: cannot listen on ${config.bindHost}:${config.port}: ${(err as Error).message}\n`);
    return 1;
  }
  // Signal handlers first, then every start-up line, "listening" last: a supervisor (or a
  // test) that acts on "listening" finds the warnings written and a signal handled.
  const stopSignals = options.signals ?? true ? handleSignals(server, config, stderr) : undefined;
  for (const w of warnings(config)) stderr(w + "\n");
  stdout(banner(config, server.addr));
  options.onListen?.(server);
  await server.finished;
  stopSignals?.();
  return 0;
}

/** How long a second signal still gives open streams to receive their error event. */
const SECOND_SIGNAL_FLUSH_MS = 500;

/**
 * SIGINT/SIGTERM: the first starts the graceful shutdown; a second ends the
 * open streams with their SSE error event at once, gives those bytes a
 * moment to leave, and exits with 130. Returns a function removing the handlers.
 */
function handleSignals(server: RunningProxy, config: Config, stderr: (text: string) => void): () => void {
  let signalled = false;
  const onSignal = () => {
    if (signalled) {
      stderr("modelpin: second signal: ending open streams now\n");
      server.shutdown(0).finally(() => Deno.exit(130));
      setTimeout(() => Deno.exit(130), SECOND_SIGNAL_FLUSH_MS);
      return;
    }
    signalled = true;
    stderr(`modelpin: shutting down (up to ${config.shutdownGraceMs / 1000} s for open requests)\n`);
    server.shutdown();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  return () => {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  };
}

if (import.meta.main) {
  Deno.exit(await run({ args: Deno.args }));
}
