/**
 * The sandbox: the Deno permission flags a configuration needs, and nothing
 * more. `start.sh` and `deno task compile` run this file to compute them.
 *
 * @module
 */

import { type Config, CONFIG_VARIABLES, ConfigError, loadConfig } from "./config/config.ts";

/** `host:port` as Deno's `--allow-net` spells it (IPv6 in brackets). */
function netGrant(host: string, port: number): string {
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  return bare.includes(":") ? `[${bare}]:${port}` : `${bare}:${port}`;
}

/**
 * The flags for running modelpin with `config`: network only to the
 * configured backends and the bind address, environment only for modelpin's
 * own variables (and any that `.env` interpolates), and reading only `.env`.
 */
export function permissionFlags(config: Config, envFile = ".env"): string[] {
  const net = new Set<string>();
  for (const route of [config.fast, config.smart]) {
    const url = route.baseUrl;
    if (!url) continue;
    const port = url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
    net.add(netGrant(url.hostname, port));
  }
  net.add(netGrant(config.bindHost, config.port));
  return [
    `--allow-net=${[...net].join(",")}`,
    `--allow-env=${[...CONFIG_VARIABLES, ...config.envReferences].join(",")}`,
    `--allow-read=${envFile}`,
  ];
}

if (import.meta.main) {
  try {
    console.log(permissionFlags(loadConfig()).join("\n"));
  } catch (err) {
    // Configuration errors name their variables; anything else (an unreadable .env) is said plainly.
    console.error(`modelpin: ${err instanceof ConfigError ? err.message : `cannot read the configuration: ${err}`}`);
    Deno.exit(2);
  }
}
