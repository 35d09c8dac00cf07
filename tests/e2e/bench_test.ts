/**
 * The benchmark still works end to end: `bench/bench.ts --quick` runs once
 * (every section, small durations) and its report has every section with
 * numbers. No assertion is made on the values: these machines are noisy.
 */

import assert from "node:assert/strict";

const ROOT = decodeURIComponent(new URL("../..", import.meta.url).pathname);
const TIMEOUT_MS = 240_000;

Deno.test({
  name: "bench: --quick runs every section end to end and reports numbers",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "modelpin-bench-test-" });
  try {
    const out = `${dir}/results.md`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", `${ROOT}bench/bench.ts`, "--quick", "--out", out, "--json", `${dir}/results.json`],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGTERM"), TIMEOUT_MS); // bench.ts stops its children on SIGTERM
    const result = await child.output();
    clearTimeout(timer);
    const stderr = new TextDecoder().decode(result.stderr);
    assert.equal(result.code, 0, `bench.ts --quick failed:\n${stderr.slice(-4000)}`);

    const md = await Deno.readTextFile(out);
    assert.equal(new TextDecoder().decode(result.stdout).trim(), md.trim(), "the report is printed as written");
    for (
      const heading of [
        "## Targets (issue 4)",
        "## 1. Non-streaming chat completions",
        "## 2. Streaming: 64 events, 20 ms apart",
        "## 3. 1000 concurrent slow streams",
        "## 4. Fallback cost",
      ]
    ) {
      assert.ok(md.includes(heading), `missing section ${heading}`);
    }
    assert.match(md, /- Machine: \d+ CPUs/);
    assert.match(md, /- Deno 2\.\d+\.\d+/);
    assert.match(md, /- Command: `deno task bench --quick/);
    assert.match(md, /- Load generator: (wrk|autocannon)/);

    const r = JSON.parse(await Deno.readTextFile(`${dir}/results.json`));
    const num = (v: unknown, what: string) => assert.ok(typeof v === "number" && Number.isFinite(v), `${what}: ${v}`);
    const pos = (v: unknown, what: string) => {
      num(v, what);
      assert.ok((v as number) > 0, `${what} > 0: ${v}`);
    };
    const nginx = r.nginx !== null;
    const targets = nginx ? ["direct", "modelpin", "nginx"] : ["direct", "modelpin"];

    // 1. Non-streaming: req/s at 32 and 128 connections, latency at 1, added latency.
    for (const level of ["32", "128"]) {
      for (const t of targets) pos(r.nonStreaming.rps[level][t], `req/s ${t} c=${level}`);
      pos(r.nonStreaming.ratioDirect[level], `modelpin/direct c=${level}`);
      if (nginx) pos(r.nonStreaming.ratioNginx[level], `modelpin/nginx c=${level}`);
    }
    for (const t of targets) {
      // autocannon (used when wrk is missing) reports whole milliseconds, so 0 is a valid latency.
      num(r.nonStreaming.p50us[t], `p50 ${t}`);
      num(r.nonStreaming.p99us[t], `p99 ${t}`);
    }
    num(r.nonStreaming.addedP50us.modelpin, "added p50");
    num(r.nonStreaming.addedP99us.modelpin, "added p99");
    assert.equal(r.nonStreaming.errors, 0, "no socket errors or non-2xx answers");

    // 2. Streaming: every stream complete, added TTFE and per-event delay, coalesced/late counts.
    for (const t of targets) {
      const s = r.streaming.stats[t];
      assert.equal(s.complete, s.streams, `${t}: every stream completed`);
      assert.equal(s.events, s.streams * 64, `${t}: every event arrived`);
      pos(s.ttfeP50, `${t} ttfe p50`);
      pos(s.ttfeP99, `${t} ttfe p99`);
      num(s.oneWayP50, `${t} event delay p50`);
      num(s.coalesced, `${t} coalesced`);
      num(s.late, `${t} late`);
    }
    for (const k of ["ttfeP50", "ttfeP99", "eventP50"]) num(r.streaming.added.modelpin[k], `added ${k}`);

    // 3. Held streams: counts and RSS.
    assert.equal(r.held.streams, 1000);
    num(r.held.complete, "held complete");
    num(r.held.stalled, "held stalled");
    pos(r.held.maxHeldAtOnce, "held at once");
    pos(r.held.idleRssAfterStartMb, "idle RSS after start");
    pos(r.held.peakRssMb, "peak RSS");
    pos(r.held.idleRssAfterLoadMb, "idle RSS after load");

    // 4. Fallback: req/s while every request falls back, and proof that they did.
    pos(r.fallback.rps["modelpin fallback"], "fallback req/s");
    pos(r.fallback.ratioNormal, "fallback/normal");
    if (nginx) pos(r.fallback.rps["nginx fallback"], "nginx fallback req/s");
    assert.equal(r.fallback.errors, 0, "every fallback request succeeded");
    assert.ok(
      r.fallback.log.requests > 0 && r.fallback.log.fellBack === r.fallback.log.requests,
      "every request fell back",
    );

    // Every target has a verdict line.
    assert.ok(r.targets.length >= 10);
    for (const c of r.targets) assert.ok(md.includes(`| ${c.target} |`), `target row ${c.target}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
