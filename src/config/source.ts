/**
 * Where configuration comes from: the process environment over `./.env`.
 * This is the one module that reads the environment, and it reads each
 * variable by name, because `--allow-env` grants only those names.
 *
 * @module
 */

import { parseDotenv } from "./dotenv.ts";
import { VARIABLES } from "./variables.ts";

/** The raw configuration values, by variable name. */
export type ConfigSource = Partial<Record<string, string>>;

/** Every variable modelpin reads; `--allow-env` is granted for exactly these (and what `.env` interpolates). */
export const CONFIG_VARIABLES: readonly string[] = VARIABLES.map((v) => v.name);

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
    references: named.filter((n) => !CONFIG_VARIABLES.includes(n)),
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

/**
 * Only modelpin's own variables, from the environment: what systemd's
 * `EnvironmentFile=` hands over when no file may be read (`--skip-env-file`).
 */
export function environmentSource(): ConfigSource {
  const source: ConfigSource = {};
  for (const name of CONFIG_VARIABLES) {
    const value = Deno.env.get(name);
    if (value !== undefined) source[name] = value;
  }
  return source;
}
