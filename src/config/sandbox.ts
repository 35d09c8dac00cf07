/**
 * The sandbox: the Deno permission flags a configuration needs, and nothing
 * more. `src/permissions.ts` prints them for `start.sh` and `deno task compile`.
 *
 * @module
 */

import { type Config, CONFIG_VARIABLES } from "./config.ts";

/** `host:port` as Deno's `--allow-net` spells it (IPv6 in brackets). */
function netGrant(host: string, port: number): string {
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  return bare.includes(":") ? `[${bare}]:${port}` : `${bare}:${port}`;
}

/**
 * The flags for running modelpin with `config`: network only to the
 * configured backends and the bind address, environment only for modelpin's
 * own variables (and any that `.env` interpolates), and reading only `envFile`
 * (nothing at all when it is `null`: the environment holds the configuration).
 */
export function permissionFlags(config: Config, envFile: string | null = ".env"): string[] {
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
    ...(envFile === null ? [] : [`--allow-read=${envFile}`]),
  ];
}
