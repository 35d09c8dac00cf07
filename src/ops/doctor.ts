/**
 * `modelpin doctor`: is this configuration usable? Validates it with
 * start-up's own messages, then probes each distinct backend (reachable, key
 * accepted, forced model listed) and, with `--live`, sends one tiny chat
 * completion per route. One line per check, never a key.
 *
 * @module
 */

import { type Config, ConfigError, type ConfigSource, loadConfig, parseConfig } from "../config/config.ts";
import { type LaunchOptions, loadLaunchConfig } from "../config/launch_options.ts";
import { type Backend, checkBackend, type CheckLine, checkLive, checkResponsesWay } from "./doctor_checks.ts";
import { KeyMasker } from "../security/key_masker.ts";

export type { CheckLine, Verdict } from "./doctor_checks.ts";

/** What the doctor needs; everything is injectable for tests. */
export interface DoctorOptions {
  /** Configuration values; by default this process's environment over `./.env` (or as `launch` says). */
  source?: ConfigSource;
  /** Where the configuration comes from when no `source` is given (`--env-file=PATH`, `--skip-env-file`). */
  launch?: LaunchOptions;
  /** Also send one `max_tokens: 1` chat completion per route (costs tokens). */
  live?: boolean;
  /** Receives output text. */
  stdout: (text: string) => void;
  /** Receives the configuration error. */
  stderr: (text: string) => void;
  /** Per-request timeout in ms (default 10 s). */
  timeoutMs?: number;
}

/** Exit codes: usable, a backend check failed, invalid configuration. */
export const DOCTOR_EXIT = { ok: 0, backendFailed: 1, invalidConfig: 2 } as const;

/** The distinct backends of a configuration. */
export function distinctBackends(config: Config): Backend[] {
  const out = new Map<string, Backend>();
  for (const route of [config.fast, config.smart]) {
    if (!route.baseUrl) continue;
    const id = `${route.baseUrl.href}\u0000${route.apiKey}`;
    const known = out.get(id);
    if (known) known.routes.push(route);
    else out.set(id, { base: route.baseUrl, key: route.apiKey, routes: [route], subject: "" });
  }
  for (const b of out.values()) b.subject = b.routes.map((r) => r.name).join("+");
  return [...out.values()];
}

/** Formats one check as its printed line. */
function formatCheck(line: CheckLine): string {
  return `${line.verdict.padEnd(4)}  ${line.subject.padEnd(10)}  ${line.text}`;
}

/** Runs the doctor; returns the exit code (0 usable, 1 a backend check failed, 2 invalid configuration). */
export async function runDoctor(options: DoctorOptions): Promise<number> {
  let config: Config;
  try {
    config = options.source
      ? parseConfig(options.source)
      : options.launch
      ? loadLaunchConfig(options.launch)
      : loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    options.stderr(`modelpin: ${err.message}\nSee README.md#configuration. Nothing was checked.\n`);
    return DOCTOR_EXIT.invalidConfig;
  }
  const masker = new KeyMasker([config.fast.apiKey, config.smart.apiKey, ...config.proxyApiKeys]);
  const mask = (s: string) => masker.text(s);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const print = (l: CheckLine) => options.stdout(formatCheck(l) + "\n");
  print({ verdict: "OK", subject: "config", text: "configuration is valid" });
  if (config.demo) {
    print({ verdict: "OK", subject: "config", text: "demo mode: no backend is configured, nothing to probe" });
    return DOCTOR_EXIT.ok;
  }
  let failed = false;
  for (const backend of distinctBackends(config)) {
    const { lines, reachable } = await checkBackend(backend, timeoutMs, mask);
    for (const l of lines) print(l);
    failed ||= lines.some((l) => l.verdict === "FAIL");
    if (reachable) { for (const route of backend.routes) print(await checkResponsesWay(route)); }
    if (!options.live) continue;
    for (const route of backend.routes) {
      if (!reachable) {
        print({ verdict: "SKIP", subject: route.name, text: "live chat completion not tried: unreachable" });
        continue;
      }
      const live = await checkLive(route, timeoutMs, mask);
      print(live);
      failed ||= live.verdict === "FAIL";
    }
  }
  const verdict = failed
    ? "some checks FAILED: fix the lines marked FAIL above, then run the doctor again"
    : "usable" + (options.live ? "" : " (run with --live to send one tiny chat completion per route)");
  options.stdout(`\nmodelpin doctor: ${verdict}\n`);
  return failed ? DOCTOR_EXIT.backendFailed : DOCTOR_EXIT.ok;
}
