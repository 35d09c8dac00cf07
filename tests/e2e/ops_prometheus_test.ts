/**
 * A real Prometheus server (Debian's `prometheus`) scrapes modelpin's
 * `/metrics` every second, with the proxy key as `authorization: credentials`
 * when PROXY_API_KEYS is set. Skipped, with the reason, where it is missing.
 */

import assert from "node:assert/strict";
import { completion, fakeBackend, jsonResponse } from "../support/fake_backend.ts";
import { post, startProxy } from "../support/proxy.ts";
import { closedPort } from "../support/wire.ts";

const PROXY_KEY = "sk-proxy-scrape-0011223344";

const PROMETHEUS = (() => {
  try {
    return new Deno.Command("prometheus", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();
if (!PROMETHEUS) {
  console.log("ops_prometheus: the prometheus binary is not installed (Debian package prometheus): skipped");
}

/** Asks Prometheus for an instant query's first value, or undefined. */
async function query(base: string, promql: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = await res.json();
    return body?.data?.result?.[0]?.value?.[1];
  } catch {
    return undefined; // not listening yet
  }
}

async function scrapedBy(proxyPort: number, key?: string): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "modelpin-prom-" });
  const port = closedPort();
  const auth = key ? `    authorization:\n      type: Bearer\n      credentials: ${key}\n` : "";
  await Deno.writeTextFile(
    `${dir}/prometheus.yml`,
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: modelpin\n` +
      auth + `    static_configs:\n      - targets: ["127.0.0.1:${proxyPort}"]\n`,
  );
  const child = new Deno.Command("prometheus", {
    args: [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  const drain = (async () => {
    for (let r = await stderr.read(); !r.done; r = await stderr.read()) log += r.value;
  })();
  try {
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    let up: string | undefined;
    let build: string | undefined;
    while (Date.now() < deadline) {
      up = await query(base, 'up{job="modelpin"}');
      build = await query(base, 'modelpin_build_info{job="modelpin"}');
      if (up === "1" && build === "1") break;
      await new Promise((r) => setTimeout(r, 250)); // polling an external server: no event to await
    }
    assert.equal(up, "1", `Prometheus scraped modelpin successfully\n${log.slice(-2000)}`);
    assert.equal(build, "1", "a modelpin metric is stored");
    const served = await query(base, 'sum(modelpin_requests_total{job="modelpin",route="fast"})');
    assert.equal(served, "1", "the request made before the scrape is in Prometheus");
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await drain;
    await Deno.remove(dir, { recursive: true });
  }
}

for (const withKey of [false, true]) {
  Deno.test({
    name: `prometheus e2e: a real Prometheus scrapes /metrics${withKey ? " with the proxy key as credentials" : ""}`,
    ignore: !PROMETHEUS,
    async fn() {
      await using backend = fakeBackend(() => jsonResponse(completion("hi")));
      const keys: Record<string, string> = withKey ? { PROXY_API_KEYS: PROXY_KEY } : {};
      await using proxy = await startProxy({ FAST_BASE_URL: backend.baseUrl, FAST_MODEL_NAME: "m", ...keys });
      const r = await post(
        `${proxy.url}/v1/chat/completions`,
        { model: "x", messages: [] },
        withKey
          ? {
            authorization: `Bearer ${PROXY_KEY}`,
          }
          : {},
      );
      assert.equal(r.status, 200);
      await r.body?.cancel();
      await scrapedBy(proxy.server.addr.port, withKey ? PROXY_KEY : undefined);
    },
  });
}
