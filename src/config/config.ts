/**
 * The validated configuration: every variable of the table in
 * `variables.ts` read at once, every problem reported by name.
 *
 * @module
 */

import { demoRoutes, isDemo, readRoutes, type RouteConfig, routesDiffer } from "./routes.ts";
import { type ConfigSource, readConfigSource, type ReadOptions } from "./source.ts";
import { type ConfigProblem, type Problems, readSetting, textOf } from "./values.ts";
import { SETTING_VARIABLES } from "./variables.ts";

export { DEMO_MODEL, type ResponsesApi, type RouteConfig, type RouteName } from "./routes.ts";
export { CONFIG_VARIABLES, type ConfigSource, interpolatedNames, mergeSources, type ReadOptions } from "./source.ts";
export type { ConfigProblem } from "./values.ts";

/** Variables earlier versions read and this one ignores. */
const RETIRED_VARIABLES: readonly string[] = SETTING_VARIABLES.filter((v) => v.kind === "retired").map((v) => v.name);

/** The proxy's own settings: one field per row of `SETTING_VARIABLES`. */
export interface Settings {
  /** Listen port. */
  port: number;
  /** Listen address. */
  bindHost: string;
  /** Wait for a backend's first answer, in ms; 0 = none. */
  timeoutMs: number;
  /** For a stream that can fall back: wait for the head before asking the backend if it is alive, in ms; 0 = never. */
  headTimeoutMs: number;
  /** Longest silence inside a stream, in ms; 0 = none. */
  idleTimeoutMs: number;
  /** Retries on the same route after a transient failure, before falling back; 0 = none. */
  retries: number;
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
  /** The request log: one readable line per request, one JSON object, or none. */
  log: "on" | "off" | "json";
  /** On /v1/messages, model names containing one of these go to fast (lower case). */
  anthropicFastModels: string[];
  /** On /v1/messages, the largest max_tokens sent upstream; 0 = as the client asks. */
  anthropicMaxTokens: number;
}

/** The validated configuration the proxy runs with. */
export interface Config extends Settings {
  /** The fast route (also the default route). */
  fast: RouteConfig;
  /** The smart route. */
  smart: RouteConfig;
  /** True when no backend is configured and the built-in echo backend serves. */
  demo: boolean;
  /** True when the two routes differ, so a failing one can fall back. */
  fallback: boolean;
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

/**
 * Every setting of the table, read by its kind: its text, or its default
 * (its demo default in demo mode). A bad value is reported and its default
 * stands in, so every other variable is still checked.
 */
function readSettings(source: ConfigSource, demo: boolean, problems: Problems): Settings {
  const settings: Record<string, unknown> = {};
  for (const v of SETTING_VARIABLES) {
    if (v.field === undefined) continue; // retired: read only to say so
    const fallback = (demo ? v.demoDefault : undefined) ?? v.default ?? "";
    const text = textOf(source, v.name);
    settings[v.field] = (text === undefined ? undefined : readSetting(v, text, problems)) ??
      readSetting(v, fallback, []);
  }
  return settings as unknown as Settings;
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
  const settings = readSettings(source, demo, problems);
  // Still read, so that an old .env that sets one starts with a notice instead of silently.
  const retiredSet = RETIRED_VARIABLES.filter((name) => textOf(source, name) !== undefined);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...settings,
    fast,
    smart,
    demo,
    fallback: !demo && routesDiffer(fast, smart),
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
