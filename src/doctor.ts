/**
 * `modelpin doctor [--live]`: checks the configuration and probes each
 * backend. Run it under the proxy's own sandbox:
 * `./start.sh doctor [--live]` (or `deno task doctor`); the installed launcher runs `modelpin doctor`.
 *
 * @module
 */

import { ConfigError } from "./config/config.ts";
import { type LaunchOptions, parseLaunchOptions } from "./config/launch_options.ts";
import { runDoctor } from "./ops/doctor.ts";

if (import.meta.main) {
  const encoder = new TextEncoder();
  const write = (file: { writeSync(p: Uint8Array): number }) => (text: string) => {
    const bytes = encoder.encode(text);
    for (let at = 0; at < bytes.length;) at += file.writeSync(bytes.subarray(at));
  };
  const known = (a: string) =>
    a === "--live" || a === "--skip-env-file" || a === "--no-demo" || a.startsWith("--env-file=");
  const unknown = Deno.args.filter((a) => !known(a));
  if (unknown.length > 0) {
    console.error(`modelpin doctor: unknown argument ${unknown[0]}; usage: doctor [--live]`);
    Deno.exit(2);
  }
  let launch: LaunchOptions;
  try {
    launch = parseLaunchOptions(Deno.args);
  } catch (err) {
    console.error(`modelpin: ${(err as ConfigError).message}`);
    Deno.exit(2);
  }
  Deno.exit(
    await runDoctor({
      live: Deno.args.includes("--live"),
      launch,
      stdout: write(Deno.stdout),
      stderr: write(Deno.stderr),
    }),
  );
}
