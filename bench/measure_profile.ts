/**
 * A V8 CPU profile of one relay under load (`deno run --cpu-prof`), summarised.
 *
 * @module
 */

import type { LoadGenerator } from "./load.ts";
import { CHAT } from "./measure_load.ts";
import { summariseProfile } from "./profile.ts";
import type { ProfiledRun } from "./results.ts";
import type { Relay } from "./subjects.ts";

/**
 * Starts a relay with `start(extraDenoFlags)`, loads it at 32 connections for
 * `seconds` (after a 1 s warm-up), stops it so the profile is written, and summarises it.
 */
export async function profileUnderLoad(
  gen: LoadGenerator,
  name: string,
  dir: string,
  seconds: number,
  start: (extraDenoFlags: string[]) => Promise<Relay>,
): Promise<ProfiledRun> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  const relay = await start(["--cpu-prof", `--cpu-prof-dir=${dir}`]);
  await gen.run(relay.url + CHAT, 32, 1); // warm-up
  const res = await gen.run(relay.url + CHAT, 32, seconds);
  await relay.child.stop(30_000);
  const files = [...Deno.readDirSync(dir)].filter((f) => f.name.endsWith(".cpuprofile"));
  if (files.length === 0) throw new Error(`deno --cpu-prof wrote no profile for ${name}`);
  const file = `${dir}/${files[0].name}`;
  return { name, rps: res.rps, file, command: relay.command, summary: summariseProfile(await Deno.readTextFile(file)) };
}
