/**
 * A headless Chromium driven by npm:playwright-core, answering one JSON
 * command per stdin line with one JSON result per stdout line. It runs as its
 * own process because playwright-core reads /proc and the home directory at
 * import, which the test runner's permissions do not (and should not) allow.
 *
 * Usage: deno run -A tests/support/browser_driver.ts <chromium> <profile dir> <color scheme>
 *
 * @module
 */

import { chromium } from "playwright-core";

const [executablePath, profile, colorScheme] = Deno.args;
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  colorScheme: colorScheme === "dark" ? "dark" : "light",
  viewport: { width: 1000, height: 760 },
});
const page = context.pages()[0] ?? await context.newPage();
let navigations = 0;
page.on("framenavigated", () => navigations++);

type Command = { op: string; [k: string]: unknown };

async function run(c: Command): Promise<unknown> {
  const timeout = 10_000;
  switch (c.op) {
    case "goto":
      await page.goto(String(c.url));
      navigations = 0;
      return null;
    case "wait":
      await page.waitForSelector(String(c.selector), { state: (c.state as "visible") ?? "attached", timeout });
      return null;
    case "text":
      return await page.textContent(String(c.selector), { timeout });
    case "texts":
      return await page.$$eval(String(c.selector), (els) => els.map((e) => e.textContent));
    case "visible":
      return await page.isVisible(String(c.selector));
    case "eval":
      return await page.evaluate(String(c.expr));
    case "fill":
      await page.fill(String(c.selector), String(c.value), { timeout });
      return null;
    case "click":
      await page.click(String(c.selector), { timeout });
      return null;
    case "reload":
      await page.reload();
      return null;
    case "content":
      return await page.content();
    case "navigations":
      return navigations;
    case "screenshot":
      await page.screenshot({ path: String(c.path), fullPage: true });
      return null;
    default:
      throw new Error(`unknown op ${c.op}`);
  }
}

const encoder = new TextEncoder();
const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
let buffered = "";
for await (const chunk of lines) {
  buffered += chunk;
  let nl;
  while ((nl = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    let reply: unknown;
    try {
      reply = { ok: true, value: await run(JSON.parse(line)) };
    } catch (err) {
      reply = { ok: false, error: String(err) };
    }
    await Deno.stdout.write(encoder.encode(JSON.stringify(reply) + "\n"));
  }
}
await context.close();
