/**
 * The validated configuration: every variable of the table in
 * `variables.ts` read at once, every problem reported by name.
 *
 * @module
 */

import { demoRoutes, isDemo, readRoutes, type RouteConfig, routesDiffer } from "./routes.ts";
import { type ConfigSource, readConfigSource, type ReadOptions } from "./source.ts";
import {
  type ConfigProblem,
  type Problems,
  readChoice,
  readHost,
  readInteger,
  readList,
  readMegabytes,
  readSeconds,
  textOf,
} from "./values.ts";
import { SETTING_VARIABLES, variable } from "./variables.ts";

export { DEMO_MODEL, type RouteConfig, type RouteName } from "./routes.ts";
export { CONFIG_VARIABLES, type ConfigSource, interpolatedNames, mergeSources, type ReadOptions } from "./source.ts";
export type { ConfigProblem } from "./values.ts";

/** Variables earlier versions read and this one ignores. */
export const RETIRED_VARIABLES: readonly string[] = SETTING_VARIABLES.filter((v) => v.kind === "retired").map((v) =>
  v.name
);

/** The validated configuration the proxy runs with. */
export interface Config {
  /** The fast route (also the default route). */
  fast: RouteConfig;
  /** The smart route. */
  smart: RouteConfig;
  /** True when no backend is configured and the built-in echo backend serves. */
  demo: boolean;
  /** True when the two routes differ, so a failing one can fall back. */
  fallback: boolean;
  /** Listen port. */
  port: number;
  /** Listen address. */
  bindHost: string;
  /** Wait for a backend's first answer, in ms; 0 = none. */
  timeoutMs: number;
  /** Longest silence inside a stream, in ms; 0 = none. */
  idleTimeoutMs: number;
  /** Consecutive failures that open a route's circuit breaker. */
  breakerFailures: number;
  /** How long an open breaker keeps a route cooling, in ms. */
  breakerCooldownMs: number;
  /** How long shutdown waits for open requests, in ms. */
  shutdownGraceMs: number;
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: number;
  /** Keys clients must present; empty = no inbound auth. */
  proxyApiKeys: string[];
  /** Whether to write one log line per request. */
  log: boolean;
  /** Whether that line is one JSON object (`PROXY_LOG=json`). */
  logJson: boolean;
  /** On /v1/messages, model names containing one of these go to fast (lower case). */
  anthropicFastModels: string[];
  /** On /v1/messages, the largest max_tokens sent upstream; 0 = as the client asks. */
  anthropicMaxTokens: number;
  /** Retired variables that are still set (they are ignored, with a notice at start-up). */
  retiredSet: string[];
  /** Line numbers of `.env` that could not be parsed (reported, not fatal). */
  dotenvSkippedLines: number[];
  /** Other variables that `.env` interpolates (`${FIREWORKS_KEY}`); the sandbox grants them too. */
  envReferences: string[];
  /** Variables `.env` interpolates that are set nowhere (reported, not fatal). */
  dotenvUnresolved: string[];
}

/** Thrown when the configuration is invalid; lists every problem. */
export class ConfigError extends Error {
  /** Every problem found, in variable order. */
  readonly problems: ConfigProblem[];

  /** Builds the error from its problems. */
  constructor(problems: ConfigProblem[]) {
    super(
      "invalid configuration:\n" +
        problems.map((p) => `  ${p.variable}: ${p.message}`).join("\n"),
    );
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** The demo listens on loopback only: an echo model needs no LAN. */
const DEMO_BIND_HOST = "127.0.0.1";

/** Reads a setting from the table: its text, or its default, through the reader of its kind. */
function setting<T>(
  source: ConfigSource,
  name: string,
  problems: Problems,
  read: (v: ReturnType<typeof variable>, text: string, problems: Problems) => T | undefined,
): T {
  const v = variable(name);
  const text = textOf(source, name);
  const value = text === undefined ? undefined : read(v, text, problems);
  // A bad value was reported; the default stands in so every other variable is still checked.
  return value ?? read(v, v.default ?? "", [])!;
}

/**
 * Validates a configuration source into a {@linkcode Config}.
 * Throws {@linkcode ConfigError} naming every bad variable.
 */
export function parseConfig(
  source: ConfigSource,
  dotenvSkippedLines: number[] = [],
  dotenvReferences: { references: string[]; unresolved: string[] } = { references: [], unresolved: [] },
): Config {
  const problems: Problems = [];
  const demo = isDemo(source);
  const { fast, smart } = demo ? demoRoutes() : readRoutes(source, problems);
  const port = setting(source, "PROXY_PORT", problems, readInteger);
  const bindText = textOf(source, "BIND_HOST") ?? (demo ? DEMO_BIND_HOST : variable("BIND_HOST").default!);
  const bindHost = readHost(variable("BIND_HOST"), bindText, problems);
  const timeoutMs = setting(source, "PROXY_TIMEOUT", problems, readSeconds);
  const idleTimeoutMs = setting(source, "PROXY_IDLE_TIMEOUT", problems, readSeconds);
  const breakerFailures = setting(source, "PROXY_BREAKER_FAILURES", problems, readInteger);
  const breakerCooldownMs = setting(source, "PROXY_BREAKER_COOLDOWN", problems, readSeconds);
  const shutdownGraceMs = setting(source, "PROXY_SHUTDOWN_GRACE", problems, readSeconds);
  const maxBodyBytes = setting(source, "PROXY_MAX_BODY_MB", problems, readMegabytes);
  const log = setting(source, "PROXY_LOG", problems, readChoice);
  const anthropicFast = textOf(source, "ANTHROPIC_FAST_MODELS") ?? variable("ANTHROPIC_FAST_MODELS").default;
  const anthropicMaxTokens = setting(source, "ANTHROPIC_MAX_TOKENS", problems, readInteger);
  // Still read, so that an old .env that sets one starts with a notice instead of silently.
  const retiredSet = RETIRED_VARIABLES.filter((name) => textOf(source, name) !== undefined);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    fast,
    smart,
    demo,
    fallback: !demo && routesDiffer(fast, smart),
    port,
    bindHost,
    timeoutMs,
    idleTimeoutMs,
    breakerFailures,
    breakerCooldownMs,
    shutdownGraceMs,
    maxBodyBytes,
    proxyApiKeys: readList(textOf(source, "PROXY_API_KEYS")),
    log: log !== "off",
    logJson: log === "json",
    anthropicFastModels: readList(anthropicFast).map((m) => m.toLowerCase()),
    anthropicMaxTokens,
    retiredSet,
    dotenvSkippedLines,
    envReferences: dotenvReferences.references,
    dotenvUnresolved: dotenvReferences.unresolved,
  };
}

/** Reads and validates the configuration of this process. */
export function loadConfig(options: ReadOptions = {}): Config {
  const { source, skippedLines, references, unresolved } = readConfigSource(options);
  return parseConfig(source, skippedLines, { references, unresolved });
}
