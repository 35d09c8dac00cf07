/**
 * The test side of {@link ./browser_driver.ts}: a Chromium page in its own
 * process, commanded line by line. Closing it closes the browser and removes
 * its fresh profile, even when the test failed.
 *
 * @module
 */

/** Where Debian installs Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserMissing(): string | undefined {
  try {
    if (!Deno.statSync(CHROMIUM).isFile) return `${CHROMIUM} is not a file`;
  } catch {
    return `${CHROMIUM} is missing (Debian package chromium)`;
  }
  return undefined;
}

/** A page in a headless Chromium. */
export interface BrowserPage extends AsyncDisposable {
  /** Sends one command; resolves with its result or rejects with the driver's error. */
  // deno-lint-ignore no-explicit-any
  do(op: string, args?: Record<string, unknown>): Promise<any>;
}

/** Starts Chromium with a fresh profile (light theme unless `dark`). */
export async function openBrowser(colorScheme: "light" | "dark" = "light"): Promise<BrowserPage> {
  const profile = await Deno.makeTempDir({ prefix: "modelpin-chromium-" });
  const driver = new URL("./browser_driver.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", driver, CHROMIUM, profile, colorScheme],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  async function nextLine(): Promise<string> {
    for (;;) {
      const nl = buffered.indexOf("\n");
      if (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        return line;
      }
      const r = await reader.read();
      if (r.done) throw new Error("the browser driver exited");
      buffered += r.value;
    }
  }
  const encoder = new TextEncoder();
  return {
    async do(op, args = {}) {
      await writer.write(encoder.encode(JSON.stringify({ op, ...args }) + "\n"));
      const reply = JSON.parse(await nextLine());
      if (!reply.ok) throw new Error(`browser ${op} failed: ${reply.error}`);
      return reply.value;
    },
    async [Symbol.asyncDispose]() {
      await writer.close().catch(() => {});
      const done = await Promise.race([child.status, new Promise((r) => setTimeout(() => r("slow"), 15_000))]);
      if (done === "slow") child.kill("SIGKILL");
      await child.status;
      await reader.cancel().catch(() => {});
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}
