/**
 * The Markdown report of one run (bench/results.md): the target verdicts,
 * then one section per measurement. Pure: it only formats what
 * `BenchResults` holds, so a test can feed it fixed numbers.
 *
 * @module
 */

import type { BenchResults } from "./results.ts";
import { pairedRatio, RATIO_PAIRS, summarise, type Summary } from "./summary.ts";
import { evaluateTargets, type TargetCheck } from "./targets.ts";

const CHAT = "/v1/chat/completions";
/** An event later than this (backend write -> client read) counts as late. */
export const LATE_MS = 5;
/** A held stream with a gap longer than this between two events counts as stalled. */
export const STALL_MS = 1000;

const f0 = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : "n/a");
const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : "n/a");
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : "n/a");
const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : "n/a");
const ratio = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : "n/a");
const row = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
const table = (head: string[], align: string[], rows: (string | number)[][]) => [
  row(head),
  row(align),
  ...rows.map(row),
  "",
];

/** Human names of the targets. */
const LABEL: Record<string, string> = { direct: "direct", floor: "Deno floor", modelpin: "modelpin", nginx: "nginx" };
const label = (n: string) => LABEL[n] ?? n;

function header(r: BenchResults): string[] {
  const i = r.info;
  const s = i.settings;
  const nginx = "version" in i.nginx
    ? `nginx ${i.nginx.version}, \`proxy_pass\` to a keep-alive upstream (keepalive 256, HTTP/1.1), worker_processes ${s.nginxWorkers}`
    : i.nginx.skipped === "on request"
    ? "nginx skipped on request (--no-nginx), so no nginx column"
    : "nginx not installed, so no nginx column: install it with `apt-get install nginx wrk` and run again";
  return [
    `# modelpin benchmark results${i.mode === "quick" ? " (quick mode: smoke test, not for comparison)" : ""}`,
    "",
    `- Date: ${i.date} (took ${i.totalSeconds.toFixed(0)} s)`,
    `- Machine: ${i.machine.cpus} CPUs (${i.machine.cpu}), Linux ${i.machine.os}, load average at start ${
      i.machine.loadAvg.map((v) => v.toFixed(2)).join(" ")
    }`,
    `- Deno ${i.deno} (V8 ${i.v8}); modelpin command: \`${i.modelpinCommand}\` (flags from src/permissions.ts, as start.sh computes them; request log on, to a file)`,
    `- Deno floor: \`${i.floorCommand}\`: bench/floor.ts, the least a Deno relay can do (\`Deno.serve\`, \`req.json()\`, set \`model\`, \`fetch\`, return the upstream body as is), with the same kind of restricted flags`,
    `- Load generator: ${
      i.generator.name === "wrk" ? `${i.generator.version}, 1 thread` : i.generator.version
    }; POST ${CHAT}`,
    `- Backend: ${i.backend}; streaming backend: bench/backend.ts (Deno, own process)`,
    `- Reference proxy: ${nginx}`,
    `- Command: \`${i.command}\` (mode ${i.mode}: ${s.rounds} alternating round(s) of ${s.seconds} s per target and level; all on 127.0.0.1)`,
    "",
    "Absolute numbers depend on the machine (and on anything else running on it); the ratios measured in the same run are the headline: modelpin/Deno floor for what a Deno relay can reach, nginx as the physical reference.",
    "",
  ];
}

function targetsSection(checks: TargetCheck[]): string[] {
  const result = (c: TargetCheck) => `${c.met === null ? "n/a" : c.met ? "**met**" : "**missed**"}: ${c.margin}`;
  return [
    "## Targets",
    "",
    ...table(
      ["target", "goal", "measured", "result"],
      ["---", "---", "---", "---"],
      checks.map((c) => [c.target, c.goal, c.measured, result(c)]),
    ),
  ];
}

function nonStreamingSection(r: BenchResults, s: Summary): string[] {
  const names = r.nonStreaming.names;
  const pairs = RATIO_PAIRS.filter(([a, b]) => names.includes(a) && names.includes(b));
  const blank = pairs.map(() => "");
  const levels = Object.keys(r.nonStreaming.runs);
  const rows: (string | number)[][] = levels.map((l) => [
    `req/s, ${l} connections`,
    ...names.map((n) => f0(s.rps[l][n])),
    ...pairs.map(([a, b]) => {
      const v = ratio(s.ratios[l][`${a}/${b}`]);
      return a === "modelpin" && b === "floor" ? `**${v}**` : v;
    }),
  ]);
  const latencyRow = (what: string, by: Record<string, number>, bold = false) => [
    what,
    ...names.map((n) => (n in by ? (bold && n === "modelpin" ? `**${f3(by[n] / 1000)}**` : f3(by[n] / 1000)) : "")),
    ...blank,
  ];
  rows.push(
    latencyRow("p50 latency, 1 connection (ms)", s.p50us),
    latencyRow("p99 latency, 1 connection (ms)", s.p99us),
    latencyRow("added p50 latency over direct (ms)", s.addedP50us, true),
    latencyRow("added p99 latency over direct (ms)", s.addedP99us, true),
  );
  const notes = [
    `Medians over ${r.info.settings.rounds} round(s); ratios are medians of the per-round ratios. Socket errors and non-2xx responses: ${s.errors}.`,
  ];
  if (r.info.generator.name !== "wrk") {
    notes.push("autocannon reports latency in whole milliseconds, so the latency rows are coarse; install wrk.");
  }
  return [
    "## 1. Non-streaming chat completions",
    "",
    ...table(
      ["", ...names.map(label), ...pairs.map(([a, b]) => `${label(a)}/${label(b)}`)],
      ["---", ...names.map(() => "---:"), ...pairs.map(() => "---:")],
      rows,
    ),
    ...notes,
    "",
    ...everyRun(r),
  ];
}

function everyRun(r: BenchResults): string[] {
  const { names, runs, latency } = r.nonStreaming;
  const rows: (string | number)[][] = [];
  const all: [
    string,
    Record<string, { rps: number; p50us: number; p99us: number; errors: number; non2xx: number }[]>,
  ][] = [...Object.entries(runs), ["1", latency]];
  for (const [level, byName] of all) {
    for (let round = 0; round < r.info.settings.rounds; round++) {
      for (const n of names) {
        const x = byName[n]?.[round];
        if (x) rows.push([round + 1, level, n, f0(x.rps), f3(x.p50us / 1000), f3(x.p99us / 1000), x.errors + x.non2xx]);
      }
    }
  }
  return [
    "<details><summary>Every run</summary>",
    "",
    ...table(
      ["round", "connections", "target", "req/s", "p50 ms", "p99 ms", "errors"],
      ["---", "---", "---", "---:", "---:", "---:", "---:"],
      rows,
    ),
    "</details>",
    "",
  ];
}

function streamingSection(r: BenchResults, s: Summary): string[] {
  const set = r.info.settings;
  const names = r.streaming.names;
  const st = r.streaming.stats;
  const each = (what: string, f: (n: string) => string) => [what, ...names.map(f)];
  const added = (what: string, k: keyof Summary["streamAdded"][string], bold: boolean) =>
    each(what, (n) => {
      const v = s.streamAdded[n]?.[k];
      if (v === undefined) return "";
      const text = k === "extraCoalesced" ? f0(v) : f3(v);
      return bold && n === "modelpin" ? `**${text}**` : text;
    });
  const rows = [
    each("streams complete", (n) => `${st[n].complete}/${st[n].streams}`),
    each("time to first event p50 (ms)", (n) => f3(st[n].ttfeP50)),
    each("time to first event p99 (ms)", (n) => f3(st[n].ttfeP99)),
    each("first event: backend write -> client read, p50 (ms)", (n) => f3(st[n].firstEventDelayP50)),
    each("event delay p50, backend write -> client read (ms)", (n) => f3(st[n].oneWayP50)),
    each("event delay p99 (ms)", (n) => f3(st[n].oneWayP99)),
    added("**added** time to first event p50 (ms)", "ttfeP50", true),
    added("added time to first event p99 (ms)", "ttfeP99", false),
    added("added p50 of it after the backend's first write (response path)", "firstEventP50", false),
    added("**added** per-event delay p50 (ms)", "eventP50", true),
    added("added per-event delay p99 (ms)", "eventP99", false),
    added("added per-event delay, mean (ms)", "eventMean", false),
    each("events coalesced (arrived in one read with an earlier one)", (n) => String(st[n].coalesced)),
    added("**coalesced beyond direct**", "extraCoalesced", true),
    each(`events late (> ${LATE_MS} ms after the backend wrote them)`, (n) => String(st[n].late)),
  ];
  const errors = names.flatMap((n) => st[n].errors.map((e) => `${n}: ${e}`));
  return [
    `## 2. Streaming: ${set.streamEvents} events, ${set.streamGapMs} ms apart`,
    "",
    ...table(["", ...names.map(label)], ["---", ...names.map(() => "---:")], rows),
    `${set.streamRounds} round(s) x ${set.streamsPerRound} concurrent streams per target (started 3 ms apart), ${
      set.streamRounds * set.streamsPerRound * (set.streamEvents - 1)
    } timed events per target. The client is a raw TCP reader in the benchmark process (bench/sse_client.ts); the backend stamps each event with its wall clock, so the delay of every event is measured, not inferred from gaps.${
      errors.length ? ` Errors: ${errors.join("; ")}` : ""
    }`,
    "",
  ];
}

function heldSection(r: BenchResults): string[] {
  const set = r.info.settings;
  const names = Object.keys(r.held);
  const h = r.held;
  const each = (what: string, f: (n: string) => string) => [what, ...names.map(f)];
  const bold = (n: string, v: string) => (n === "modelpin" ? `**${v}**` : v);
  const rows = [
    each("streams complete", (n) => `${h[n].complete}/${h[n].streams}`),
    each(`stalled (incomplete, or a gap > ${STALL_MS} ms)`, (n) => String(h[n].stalled)),
    each("held at once (client side, max)", (n) => String(h[n].maxHeldAtOnce)),
    each("open streams reported by /health (max)", (n) => (n === "modelpin" ? String(h[n].proxyOpenStreamsMax) : "")),
    each("largest gap between two events of one stream (ms)", (n) => f1(h[n].maxGapMs)),
    each("idle RSS after start (MB)", (n) => bold(n, f1(h[n].idleRssAfterStartMb))),
    each("peak RSS (VmHWM) (MB)", (n) => bold(n, f1(h[n].peakRssMb))),
    each(`RSS ${set.settleSeconds} s after the load (MB)`, (n) => bold(n, f1(h[n].rssAfterLoadMb))),
    each(
      "open file descriptors: after start / peak / after the load",
      (n) => `${h[n].fdsAfterStart} / ${h[n].fdsPeak} / ${h[n].fdsAfterLoad}`,
    ),
    each("wall time for all streams (s)", (n) => f2(h[n].seconds)),
  ];
  const errors = names.flatMap((n) => h[n].errors.map((e) => `${n}: ${e}`));
  return [
    `## 3. ${
      h.modelpin?.streams ?? set.heldStreams
    } concurrent slow streams (${set.heldEvents} events, ${set.heldGapMs} ms apart)`,
    "",
    ...table(["", ...names.map(label)], ["---", ...names.map(() => "---:")], rows),
    ...(errors.length ? [`Errors: ${errors.join("; ")}`, ""] : []),
  ];
}

function fallbackSection(r: BenchResults, s: Summary): string[] {
  const { names, runs, log } = r.fallback;
  const nginx = names.includes("nginx fallback");
  const rows = names.map((n) => [
    n,
    f0(s.fallback.rps[n]),
    ratio(pairedRatio(runs[n], runs["modelpin (no failure)"])),
    ...(nginx ? [ratio(pairedRatio(runs[n], runs["nginx fallback"]))] : []),
  ]);
  return [
    "## 4. Fallback cost (primary answers 503, every request retried on the smart route)",
    "",
    ...table(
      ["", "req/s, 32 connections", "vs modelpin without failures", ...(nginx ? ["vs nginx fallback"] : [])],
      ["---", "---:", "---:", ...(nginx ? ["---:"] : [])],
      rows,
    ),
    `- modelpin fallback: PROXY_BREAKER_FAILURES=0 (breaker off), so every request tries the primary first; its log shows ${log.fellBack} of ${log.requests} answered requests fell back.`,
    "- modelpin breaker: default breaker, so after 3 failures the cooling primary is skipped (what users get by default).",
    nginx
      ? "- nginx fallback: `proxy_next_upstream http_503 non_idempotent` to a `backup` server, `max_fails=0` (every request tries the primary)."
      : "- no nginx column: no nginx fallback reference.",
    `- Errors or non-2xx seen by the client: ${s.fallback.errors}. Headline: modelpin fallback/no failure ${
      ratio(s.fallback.ratioNormal)
    }${nginx ? `, modelpin fallback/nginx fallback ${ratio(s.fallback.ratioNginx)}` : ""}.`,
    "",
  ];
}

function startupSection(r: BenchResults, s: Summary): string[] {
  const ms = r.startup.totalMs;
  return [
    "## 5. Start-up to first answered request",
    "",
    ...table(["", "ms"], ["---", "---:"], [
      [
        "sandbox step (src/permissions.ts) + main.ts until the first chat completion answered 200, p50",
        `**${f0(s.startupP50Ms)}**`,
      ],
      ["the same, slowest run", f0(s.startupMaxMs)],
      ["of which the sandbox step, p50", f0(s.sandboxP50Ms)],
    ]),
    `${ms.length} timed start-up(s) after one untimed warm-up (Deno's caches filled), the two steps start.sh runs; every run: ${
      ms.map(f0).join(", ")
    } ms.`,
    "",
  ];
}

function profileSections(r: BenchResults): string[] {
  const out: string[] = [];
  for (const p of r.profiles) {
    const sm = p.summary;
    out.push(
      `## Profile: ${
        label(p.name)
      } under ${r.info.generator.name} 32 connections for ${r.info.settings.profileSeconds} s (${
        f0(p.rps)
      } req/s while profiled)`,
      "",
      `\`${p.command}\` (${sm.samples} samples; file ${p.file}).`,
      "",
      ...table(
        ["where the main thread's time went", "% of samples"],
        ["---", "---:"],
        sm.categories.map((c) => [c.name, f1(c.percent)]),
      ),
      ...table(["function (self time)", "%"], ["---", "---:"], sm.topSelf.map((c) => [`\`${c.name}\``, f1(c.percent)])),
    );
    if (sm.topModelpin.length) {
      out.push(
        ...table(
          ["modelpin function (inclusive time)", "%"],
          ["---", "---:"],
          sm.topModelpin.map((c) => [`\`${c.name}\``, f1(c.percent)]),
        ),
      );
    }
  }
  return out;
}

function missedSection(r: BenchResults, checks: TargetCheck[]): string[] {
  const missed = checks.filter((c) => c.met === false);
  if (!missed.length) return [];
  const out = ["## Missed targets", "", ...missed.map((c) => `- ${c.target}: ${c.margin}.`)];
  const prof = r.profiles.find((p) => p.name === "modelpin");
  if (prof) {
    const busy = prof.summary.categories.filter((c) => !c.name.startsWith("idle"));
    out.push(
      `- Where modelpin's time goes (profile above): ${
        busy.slice(0, 4).map((c) => `${c.name} ${f1(c.percent)}%`).join(", ")
      }; top self-time functions: ${
        prof.summary.topSelf.slice(0, 4).map((c) => `\`${c.name}\` ${f1(c.percent)}%`).join(", ")
      }.`,
    );
  }
  out.push("");
  return out;
}

/** The whole report, with the summary and the verdicts it was built from. */
export function renderReport(r: BenchResults): { markdown: string; summary: Summary; checks: TargetCheck[] } {
  const summary = summarise(r);
  const checks = evaluateTargets(r, summary);
  const lines = [
    ...header(r),
    ...targetsSection(checks),
    ...nonStreamingSection(r, summary),
    ...streamingSection(r, summary),
    ...heldSection(r),
    ...fallbackSection(r, summary),
    ...startupSection(r, summary),
    ...profileSections(r),
    ...missedSection(r, checks),
    ...(r.analysis.trim() ? [r.analysis.trimEnd(), ""] : []),
  ];
  return { markdown: lines.join("\n"), summary, checks };
}
