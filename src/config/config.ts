/**
 * Configuration: the one place that reads the environment. It validates every
 * variable at once and reports every problem by name.
 *
 * @module
 */

import { parseDotenv } from "./dotenv.ts";
import { upstreamTarget } from "../upstream/upstream_url.ts";

/** Every variable modelpin reads; `--allow-env` is granted for exactly these. */
export const CONFIG_VARIABLES = [
  "FAST_BASE_URL",
  "FAST_API_KEY",
  "FAST_MODEL_NAME",
  "SMART_BASE_URL",
  "SMART_API_KEY",
  "SMART_MODEL_NAME",
  "REAL_BASE_URL",
  "REAL_API_KEY",
  "REAL_MODEL_NAME",
  "PROXY_PORT",
  "BIND_HOST",
  "PROXY_TIMEOUT",
  "PROXY_IDLE_TIMEOUT",
  "PROXY_BREAKER_FAILURES",
  "PROXY_BREAKER_COOLDOWN",
  "PROXY_SHUTDOWN_GRACE",
  "PROXY_MAX_BODY_MB",
  "PROXY_API_KEYS",
  "PROXY_LOG",
  "PROXY_UPSTREAM_CLIENT",
] as const;

/** Variables earlier versions read and this one ignores. */
export const RETIRED_VARIABLES = ["PROXY_UPSTREAM_CLIENT"] as const;

/** A name from {@linkcode CONFIG_VARIABLES}. */
export type ConfigVariable = typeof CONFIG_VARIABLES[number];

/** The raw configuration values, by variable name. */
export type ConfigSource = Partial<Record<string, string>>;

/** The two routes a request can take. */
export type RouteName = "fast" | "smart";

/** One backend: where requests go, with which key, forcing which model. */
export interface RouteConfig {
  /** "fast" or "smart". */
  name: RouteName;
  /** Backend base URL, as the OpenAI SDK's baseURL; `null` for the demo backend. */
  baseUrl: URL | null;
  /** The real key sent upstream; empty means no Authorization header. */
  apiKey: string;
  /** The model forced on every request of this route. */
  model: string;
}

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
  /** Retired variables that are still set (they are ignored, with a notice at start-up). */
  retiredSet: string[];
  /** Line numbers of `.env` that could not be parsed (reported, not fatal). */
  dotenvSkippedLines: number[];
  /** Other variables that `.env` interpolates (`${FIREWORKS_KEY}`); the sandbox grants them too. */
  envReferences: string[];
  /** Variables `.env` interpolates that are set nowhere (reported, not fatal). */
  dotenvUnresolved: string[];
}

/** One invalid variable and how to fix it. */
export interface ConfigProblem {
  /** The variable's name. */
  variable: string;
  /** What is wrong and what to do; never contains the value of a key. */
  message: string;
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

const DEFAULTS = {
  PROXY_PORT: 8086,
  BIND_HOST: "0.0.0.0",
  DEMO_BIND_HOST: "127.0.0.1",
  PROXY_TIMEOUT: 120,
  PROXY_IDLE_TIMEOUT: 60,
  PROXY_BREAKER_FAILURES: 3,
  PROXY_BREAKER_COOLDOWN: 30,
  PROXY_SHUTDOWN_GRACE: 30,
  PROXY_MAX_BODY_MB: 32,
} as const;

/** The model name used by the built-in demo backend. */
export const DEMO_MODEL = "modelpin-demo-echo";

const ROUTE_VARIABLES = [
  "FAST_BASE_URL",
  "FAST_API_KEY",
  "FAST_MODEL_NAME",
  "REAL_BASE_URL",
  "REAL_API_KEY",
  "REAL_MODEL_NAME",
  "SMART_BASE_URL",
  "SMART_API_KEY",
  "SMART_MODEL_NAME",
];

/**
 * Validates a configuration source into a {@linkcode Config}.
 * Throws {@linkcode ConfigError} naming every bad variable.
 */
export function parseConfig(
  source: ConfigSource,
  dotenvSkippedLines: number[] = [],
  dotenvReferences: { references: string[]; unresolved: string[] } = { references: [], unresolved: [] },
): Config {
  const problems: ConfigProblem[] = [];
  const get = (name: string): string | undefined => {
    const v = source[name]?.trim();
    return v === "" ? undefined : v;
  };
  const demo = ROUTE_VARIABLES.every((name) => get(name) === undefined);

  let fast: RouteConfig;
  let smart: RouteConfig;
  if (demo) {
    fast = { name: "fast", baseUrl: null, apiKey: "", model: DEMO_MODEL };
    smart = { name: "smart", baseUrl: null, apiKey: "", model: DEMO_MODEL };
  } else {
    const fastUrlVar = get("FAST_BASE_URL") !== undefined ? "FAST_BASE_URL" : "REAL_BASE_URL";
    const fastModelVar = get("FAST_MODEL_NAME") !== undefined ? "FAST_MODEL_NAME" : "REAL_MODEL_NAME";
    const fastUrlText = get(fastUrlVar);
    const fastModel = get(fastModelVar);
    const fastKeyVar = get("FAST_API_KEY") !== undefined ? "FAST_API_KEY" : "REAL_API_KEY";
    const fastKey = get(fastKeyVar) ?? "";
    if (fastUrlText === undefined) {
      problems.push({
        variable: "FAST_BASE_URL",
        message:
          "is required: set it to your backend's OpenAI-compatible base URL, e.g. https://api.fireworks.ai/inference/v1 (the old name REAL_BASE_URL works too)",
      });
    }
    if (fastModel === undefined) {
      problems.push({
        variable: "FAST_MODEL_NAME",
        message:
          "is required: set it to the model every request is forced onto, e.g. accounts/fireworks/models/deepseek-v4-pro (the old name REAL_MODEL_NAME works too)",
      });
    }
    const fastUrl = fastUrlText === undefined ? null : parseBaseUrl(fastUrlVar, fastUrlText, problems);
    const smartUrlText = get("SMART_BASE_URL");
    const smartUrl = smartUrlText === undefined ? fastUrl : parseBaseUrl("SMART_BASE_URL", smartUrlText, problems);
    fast = { name: "fast", baseUrl: fastUrl, apiKey: fastKey, model: fastModel ?? "" };
    smart = {
      name: "smart",
      baseUrl: smartUrl,
      apiKey: get("SMART_API_KEY") ?? fastKey,
      model: get("SMART_MODEL_NAME") ?? fast.model,
    };
    for (const variable of [fastKeyVar, "SMART_API_KEY"]) {
      // A key goes into a header: anything but visible ASCII (a line break, a smart quote
      // from a copy-paste) would fail every request, so say so at start-up.
      if (/[\r\n]/.test(get(variable) ?? "")) {
        problems.push({ variable, message: "contains a line break: paste the key on one line" });
      } else if (/[^\x21-\x7e]/.test(get(variable) ?? "")) {
        problems.push({
          variable,
          message: "contains a space or a character that is not plain ASCII (a smart quote?): paste the key again",
        });
      }
    }
  }

  const port = integer(source, "PROXY_PORT", DEFAULTS.PROXY_PORT, 0, 65535, problems);
  const bindHost = parseBindHost(get("BIND_HOST") ?? (demo ? DEFAULTS.DEMO_BIND_HOST : DEFAULTS.BIND_HOST), problems);
  const timeoutMs = seconds(source, "PROXY_TIMEOUT", DEFAULTS.PROXY_TIMEOUT, problems);
  const idleTimeoutMs = seconds(source, "PROXY_IDLE_TIMEOUT", DEFAULTS.PROXY_IDLE_TIMEOUT, problems);
  const breakerFailures = integer(
    source,
    "PROXY_BREAKER_FAILURES",
    DEFAULTS.PROXY_BREAKER_FAILURES,
    0,
    1_000_000,
    problems,
  );
  const breakerCooldownMs = seconds(source, "PROXY_BREAKER_COOLDOWN", DEFAULTS.PROXY_BREAKER_COOLDOWN, problems);
  const shutdownGraceMs = seconds(source, "PROXY_SHUTDOWN_GRACE", DEFAULTS.PROXY_SHUTDOWN_GRACE, problems);
  const maxBodyMb = number(source, "PROXY_MAX_BODY_MB", DEFAULTS.PROXY_MAX_BODY_MB, problems, true);
  const proxyApiKeys = (get("PROXY_API_KEYS") ?? "").split(",").map((k) => k.trim()).filter((k) => k !== "");
  const logText = (get("PROXY_LOG") ?? "on").toLowerCase();
  const log = !["off", "0", "false", "no"].includes(logText);
  if (!["on", "1", "true", "yes", "off", "0", "false", "no"].includes(logText)) {
    problems.push({ variable: "PROXY_LOG", message: `must be "on" or "off", got "${logText}"` });
  }

  // Still read, so that an old .env that sets one starts with a notice instead of silently.
  const retiredSet = RETIRED_VARIABLES.filter((name) => get(name) !== undefined);

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
    maxBodyBytes: Math.floor(maxBodyMb * 1024 * 1024),
    proxyApiKeys,
    log,
    retiredSet,
    dotenvSkippedLines,
    envReferences: dotenvReferences.references,
    dotenvUnresolved: dotenvReferences.unresolved,
  };
}

function routesDiffer(a: RouteConfig, b: RouteConfig): boolean {
  // Compare where requests really go: `https://x/v1/` and `https://x/v1` are one backend.
  const where = (u: URL | null) => u ? upstreamTarget(u).prefix + "?" + u.search : "";
  return where(a.baseUrl) !== where(b.baseUrl) || a.model !== b.model || a.apiKey !== b.apiKey;
}

/** A URL as it may appear in a message: any credentials in it are hidden. */
function shown(text: string): string {
  return text.replace(/\/\/[^/?#]*@/, "//***@");
}

function parseBaseUrl(variable: string, rawText: string, problems: ConfigProblem[]): URL | null {
  const text = shown(rawText);
  let url: URL;
  try {
    url = new URL(rawText);
  } catch {
    problems.push({
      variable,
      message: `"${text}" is not a URL: use the form https://host[:port]/path, e.g. https://api.openai.com/v1`,
    });
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    problems.push({
      variable,
      message: `"${text}" must start with http:// or https://`,
    });
    return null;
  }
  if (url.username !== "" || url.password !== "") {
    problems.push({
      variable,
      message: "must not contain credentials: put the key in the matching _API_KEY variable",
    });
    return null;
  }
  url.hash = "";
  return url;
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function parseBindHost(text: string, problems: ConfigProblem[]): string {
  const host = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (host.includes(":")) {
    try {
      new URL(`http://[${host}]/`);
      return host;
    } catch { /* reported below */ }
  } else if (/^[\d.]+$/.test(host)) {
    // All digits and dots: it must be a real IPv4 address, not a hostname.
    const parts = host.split(".");
    if (parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return host;
  } else if (HOSTNAME.test(host)) {
    return host;
  }
  problems.push({
    variable: "BIND_HOST",
    message: `"${text}" is not an IPv4 address, IPv6 address or hostname (e.g. 0.0.0.0, 192.168.1.2, ::1)`,
  });
  return host;
}

function number(
  source: ConfigSource,
  variable: string,
  fallback: number,
  problems: ConfigProblem[],
  positive = false,
): number {
  const text = source[variable]?.trim();
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(value) || (positive && value <= 0)) {
    problems.push({
      variable,
      message: `must be a ${positive ? "positive" : "non-negative"} number, got "${text}"`,
    });
    return fallback;
  }
  return value;
}

// Timers take at most 2^31-1 ms; a larger value would fire at once instead of never.
const MAX_SECONDS = 2_147_483;

function seconds(source: ConfigSource, variable: string, fallback: number, problems: ConfigProblem[]): number {
  const value = number(source, variable, fallback, problems);
  if (value > MAX_SECONDS) {
    problems.push({ variable, message: `must be at most ${MAX_SECONDS} seconds (about 24 days); use 0 for none` });
    return fallback * 1000;
  }
  // A tiny positive value still means "a timeout", never "none".
  return value > 0 ? Math.max(1, Math.round(value * 1000)) : 0;
}

function integer(
  source: ConfigSource,
  variable: string,
  fallback: number,
  min: number,
  max: number,
  problems: ConfigProblem[],
): number {
  const text = source[variable]?.trim();
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    problems.push({ variable, message: `must be a whole number from ${min} to ${max}, got "${text}"` });
    return fallback;
  }
  return value;
}

/**
 * Merges the process environment over `.env` text: a variable set in the
 * environment wins, as with python-dotenv.
 */
export function mergeSources(
  env: ConfigSource,
  dotenvText: string | undefined,
): { source: ConfigSource; skippedLines: number[]; references: string[]; unresolved: string[] } {
  if (dotenvText === undefined) return { source: { ...env }, skippedLines: [], references: [], unresolved: [] };
  const parsed = parseDotenv(dotenvText, (name) => env[name]);
  const source: ConfigSource = {};
  for (const [name, value] of parsed.values) source[name] = value;
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined) source[name] = value;
  }
  const named = interpolatedNames(dotenvText);
  return {
    source,
    skippedLines: parsed.skippedLines,
    references: named.filter((n) => !(CONFIG_VARIABLES as readonly string[]).includes(n)),
    unresolved: named.filter((n) => env[n] === undefined && !parsed.values.has(n)),
  };
}

/** The variable names a `.env` text interpolates with `${NAME}`. */
export function interpolatedNames(dotenvText: string): string[] {
  const names = new Set<string>();
  for (const m of dotenvText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g)) names.add(m[1]);
  return [...names];
}

/** Where configuration is read from; defaults to this process and `./.env`. */
export interface ReadOptions {
  /** Path of the `.env` file. */
  envFile?: string;
}

/**
 * Reads this process's own variables and the `.env` file. Each variable is
 * read by name because `--allow-env` grants only these names.
 */
export function readConfigSource(options: ReadOptions = {}): ReturnType<typeof mergeSources> {
  let text: string | undefined;
  try {
    text = Deno.readTextFileSync(options.envFile ?? ".env");
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const env: ConfigSource = {};
  // Variables that .env interpolates are read too, as python-dotenv would; the
  // sandbox grants exactly those (see permissions.ts).
  for (const name of [...CONFIG_VARIABLES, ...(text ? interpolatedNames(text) : [])]) {
    try {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotCapable)) throw err;
    }
  }
  return mergeSources(env, text);
}

/** Reads and validates the configuration of this process. */
export function loadConfig(options: ReadOptions = {}): Config {
  const { source, skippedLines, references, unresolved } = readConfigSource(options);
  return parseConfig(source, skippedLines, { references, unresolved });
}
