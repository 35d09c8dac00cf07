/**
 * The benchmark still works end to end: `bench/bench.ts --quick` runs once
 * (every section, small durations) and its report has every section with
 * numbers, for the Deno floor as for modelpin. No assertion is made on the values: these machines are noisy.
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
        "## Targets",
        "## 1. Non-streaming chat completions",
        "## 2. Streaming: 64 events, 20 ms apart",
        "## 3. 1000 concurrent slow streams",
        "## 4. Fallback cost",
        "## 5. Start-up to first answered request",
      ]
    ) {
      assert.ok(md.includes(heading), `missing section ${heading}`);
    }
    assert.match(md, /- Machine: \d+ CPUs/);
    assert.match(md, /- Deno 2\.\d+\.\d+/);
    assert.match(md, /- Command: `deno task bench --quick/);
    assert.match(md, /- Load generator: (wrk|autocannon)/);
    assert.match(md, /- Deno floor: `deno run .*bench\/floor\.ts`/);

    const r = JSON.parse(await Deno.readTextFile(`${dir}/results.json`));
    const num = (v: unknown, what: string) => assert.ok(typeof v === "number" && Number.isFinite(v), `${what}: ${v}`);
    const pos = (v: unknown, what: string) => {
      num(v, what);
      assert.ok((v as number) > 0, `${what} > 0: ${v}`);
    };
    const nginx = "version" in r.info.nginx;
    const targets = nginx ? ["direct", "floor", "modelpin", "nginx"] : ["direct", "floor", "modelpin"];
    assert.deepEqual(r.nonStreaming.names, targets);
    const sm = r.summary;

    // 1. Non-streaming: req/s at 32 and 128 connections, latency at 1, added latency.
    for (const level of ["32", "128"]) {
      for (const t of targets) pos(sm.rps[level][t], `req/s ${t} c=${level}`);
      pos(sm.ratios[level]["modelpin/floor"], `modelpin/floor c=${level}`);
      pos(sm.ratios[level]["modelpin/direct"], `modelpin/direct c=${level}`);
      if (nginx) pos(sm.ratios[level]["modelpin/nginx"], `modelpin/nginx c=${level}`);
    }
    for (const t of targets) {
      // autocannon (used when wrk is missing) reports whole milliseconds, so 0 is a valid latency.
      num(sm.p50us[t], `p50 ${t}`);
      num(sm.p99us[t], `p99 ${t}`);
    }
    num(sm.addedP50us.modelpin, "added p50");
    num(sm.addedP99us.modelpin, "added p99");
    num(sm.addedP50us.floor, "floor added p50");
    assert.equal(sm.errors, 0, "no socket errors or non-2xx answers");

    // 2. Streaming: every stream complete, added TTFE and per-event delay, coalesced/late counts.
    assert.deepEqual(r.streaming.names, targets);
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
    for (const k of ["ttfeP50", "ttfeP99", "eventP50", "extraCoalesced"]) num(sm.streamAdded.modelpin[k], `added ${k}`);

    // 3. Held streams through modelpin and through the floor: counts and RSS.
    for (const t of ["modelpin", "floor"]) {
      const h = r.held[t];
      assert.equal(h.streams, 1000);
      num(h.complete, `${t} held complete`);
      num(h.stalled, `${t} held stalled`);
      pos(h.maxHeldAtOnce, `${t} held at once`);
      pos(h.idleRssAfterStartMb, `${t} idle RSS after start`);
      pos(h.peakRssMb, `${t} peak RSS`);
      pos(h.rssAfterLoadMb, `${t} RSS after load`);
    }

    // 4. Fallback: req/s while every request falls back, and proof that they did.
    pos(sm.fallback.rps["modelpin fallback"], "fallback req/s");
    pos(sm.fallback.ratioNormal, "fallback/normal");
    if (nginx) pos(sm.fallback.rps["nginx fallback"], "nginx fallback req/s");
    assert.equal(sm.fallback.errors, 0, "every fallback request succeeded");
    assert.ok(
      r.fallback.log.requests > 0 && r.fallback.log.fellBack === r.fallback.log.requests,
      "every request fell back",
    );

    // 5. Start-up: every timed start-up answered.
    assert.equal(r.startup.totalMs.length, r.info.settings.startupRuns);
    for (const ms of r.startup.totalMs) pos(ms, "start-up ms");
    pos(sm.startupP50Ms, "start-up p50");

    // Every target has a verdict line.
    assert.ok(r.targets.length >= 11);
    for (const c of r.targets) assert.ok(md.includes(`| ${c.target} |`), `target row ${c.target}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
