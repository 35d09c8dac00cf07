/**
 * Prints the sandbox flags for this configuration, one per line: `start.sh`
 * and `deno task compile` run this before starting the proxy. An invalid
 * configuration prints why on stderr and exits 2, so nothing starts.
 *
 * @module
 */

import { ConfigError } from "./config/config.ts";
import { loadLaunchConfig, parseLaunchOptions } from "./config/launch_options.ts";
import { permissionFlags } from "./config/sandbox.ts";

export { permissionFlags };

if (import.meta.main) {
  try {
    // The same options as main.ts (--env-file=PATH, --skip-env-file, --no-demo), so both read one configuration.
    const launch = parseLaunchOptions(Deno.args);
    console.log(permissionFlags(loadLaunchConfig(launch), launch.skipEnvFile ? null : launch.envFile).join("\n"));
  } catch (err) {
    // Configuration errors name their variables; anything else (an unreadable .env) is said plainly.
    console.error(`modelpin: ${err instanceof ConfigError ? err.message : `cannot read the configuration: ${err}`}`);
    Deno.exit(2);
  }
}
