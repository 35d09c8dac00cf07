/**
 * The command-line options that say where the configuration comes from, shared
 * by `main.ts` and `permissions.ts` so both read the same configuration:
 *
 * - `--env-file=PATH`: the configuration file (default `.env`), read over by
 *   the environment and the only file the sandbox may read;
 * - `--skip-env-file`: the file's variables are already in the environment
 *   (systemd's `EnvironmentFile=` read it as root), so it is not read and no
 *   read access is granted; PATH is still named in messages;
 * - `--no-demo`: "no backend configured" is a configuration error naming the
 *   file to edit, instead of demo mode (installed services never echo).
 *
 * Other arguments are left alone (`--version`, doctor's `--live`).
 *
 * @module
 */

import { type Config, ConfigError, loadConfig, parseConfig } from "./config.ts";
import { environmentSource } from "./source.ts";

/** Where the configuration comes from, and whether demo mode is allowed. */
export interface LaunchOptions {
  /** The configuration file: read (unless `skipEnvFile`) and named in messages. */
  envFile: string;
  /** True when the environment already holds the file's variables: nothing is read. */
  skipEnvFile: boolean;
  /** True when a configuration without any backend must not start the demo backend. */
  noDemo: boolean;
}

/** A launch option that cannot be used; reported like any configuration error (exit 2). */
export class LaunchOptionError extends ConfigError {
  /** Builds the error for one option. */
  constructor(option: string, message: string) {
    super([{ variable: option, message }]);
    this.name = "LaunchOptionError";
  }
}

/** Reads the launch options out of `args`; other arguments are ignored. */
export function parseLaunchOptions(args: readonly string[]): LaunchOptions {
  const options: LaunchOptions = { envFile: ".env", skipEnvFile: false, noDemo: false };
  for (const arg of args) {
    if (arg === "--skip-env-file") options.skipEnvFile = true;
    else if (arg === "--no-demo") options.noDemo = true;
    else if (arg === "--env-file") throw new LaunchOptionError(arg, "give the path in one argument: --env-file=PATH");
    else if (arg.startsWith("--env-file=")) options.envFile = arg.slice("--env-file=".length);
  }
  if (options.envFile === "") throw new LaunchOptionError("--env-file", "needs a path: --env-file=PATH");
  // Deno's --allow-read takes a comma-separated list: a comma would grant two other paths.
  if (options.envFile.includes(",")) throw new LaunchOptionError("--env-file", "the path must not contain a comma");
  return options;
}

/** Throws when `config` is demo mode and `options` forbid it; the message names the file to edit. */
export function refuseDemo(config: Config, options: LaunchOptions): Config {
  if (config.demo && options.noDemo) {
    throw new ConfigError([{
      variable: "FAST_BASE_URL",
      message:
        `no backend is configured, and this modelpin never starts in demo mode: set FAST_BASE_URL, FAST_API_KEY and FAST_MODEL_NAME in ${options.envFile}`,
    }]);
  }
  return config;
}

/** Loads the configuration as `options` say, refusing demo mode when asked to. */
export function loadLaunchConfig(options: LaunchOptions): Config {
  const config = options.skipEnvFile ? parseConfig(environmentSource()) : loadConfig({ envFile: options.envFile });
  return refuseDemo(config, options);
}
