/**
 * `modelpin doctor [--live]`: checks the configuration and probes each
 * backend. Run it under the proxy's own sandbox:
 * `deno run $(deno run --allow-read=.env --allow-env src/permissions.ts) src/doctor.ts [--live]`.
 *
 * @module
 */

import { runDoctor } from "./ops/doctor.ts";

if (import.meta.main) {
  const encoder = new TextEncoder();
  const write = (file: { writeSync(p: Uint8Array): number }) => (text: string) => {
    const bytes = encoder.encode(text);
    for (let at = 0; at < bytes.length;) at += file.writeSync(bytes.subarray(at));
  };
  const unknown = Deno.args.filter((a) => a !== "--live");
  if (unknown.length > 0) {
    console.error(`modelpin doctor: unknown argument ${unknown[0]}; usage: doctor [--live]`);
    Deno.exit(2);
  }
  Deno.exit(
    await runDoctor({ live: Deno.args.includes("--live"), stdout: write(Deno.stdout), stderr: write(Deno.stderr) }),
  );
}
