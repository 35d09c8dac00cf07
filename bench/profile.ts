/**
 * Summarises a V8 `.cpuprofile` (from `deno run --cpu-prof`): where the
 * samples landed, by function (self time) and by kind of code.
 *
 * @module
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

/** One line of the summary. */
export interface ProfileRow {
  /** Function and where it is. */
  name: string;
  /** Share of all samples, percent. */
  percent: number;
}

/** The summary of one profile. */
export interface ProfileSummary {
  /** Samples taken. */
  samples: number;
  /** Share of samples per kind of code (idle, GC, native, Deno runtime JS, modelpin, ...). */
  categories: ProfileRow[];
  /** Functions with the most self time (idle excluded). */
  topSelf: ProfileRow[];
  /** modelpin functions with the most inclusive time (their own plus what they call). */
  topModelpin: ProfileRow[];
}

function shortUrl(url: string): string {
  const src = url.lastIndexOf("/src/");
  if (src >= 0) return url.slice(src + 1);
  if (url.startsWith("ext:")) return url;
  return url.split("/").slice(-1)[0] ?? url;
}

function category(node: ProfileNode): string {
  const { functionName, url } = node.callFrame;
  if (functionName === "(idle)") return "idle (waiting for I/O)";
  if (functionName === "(garbage collector)") return "garbage collection";
  if (functionName === "(program)") return "native: Rust runtime, V8 internals, syscalls";
  if (url.includes("/src/")) return "modelpin (src/)";
  if (functionName.startsWith("op_")) return "Deno ops: Rust called from JS (fetch send, body reads, ...)";
  if (url.startsWith("ext:deno_http") || url.startsWith("ext:deno_net")) {
    return "Deno JS: HTTP server (ext:deno_http, deno_net)";
  }
  if (url.startsWith("ext:deno_fetch")) return "Deno JS: fetch, Headers, Request/Response (ext:deno_fetch)";
  if (url.startsWith("ext:deno_web")) return "Deno JS: streams, encoding, timers, events (ext:deno_web)";
  if (url.startsWith("ext:")) return "Deno JS: other runtime code";
  if (url === "") return "native builtins (JSON, RegExp, ...)";
  return "other";
}

/** Reads and summarises a profile file. */
export function summariseProfile(text: string, top = 15): ProfileSummary {
  const profile = JSON.parse(text) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const selfCount = new Map<number, number>();
  for (const id of profile.samples) selfCount.set(id, (selfCount.get(id) ?? 0) + 1);
  const total = profile.samples.length || 1;
  const pct = (n: number) => Math.round((n / total) * 1000) / 10;

  const categories = new Map<string, number>();
  const self = new Map<string, number>();
  for (const [id, count] of selfCount) {
    const node = byId.get(id)!;
    const cat = category(node);
    categories.set(cat, (categories.get(cat) ?? 0) + count);
    if (node.callFrame.functionName === "(idle)") continue;
    const f = node.callFrame;
    const key = `${f.functionName || "(anonymous)"} ${f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : ""}`.trim();
    self.set(key, (self.get(key) ?? 0) + count);
  }

  // Inclusive time of modelpin functions: a sample counts once per function on its stack.
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const inclusive = new Map<string, number>();
  for (const [id, count] of selfCount) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (!f.url.includes("/src/")) continue;
      const key = `${f.functionName || "(anonymous)"} ${shortUrl(f.url)}:${f.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + count);
    }
  }
  const rows = (m: Map<string, number>, n: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, count]) => ({ name, percent: pct(count) }));
  return {
    samples: profile.samples.length,
    categories: rows(categories, 20),
    topSelf: rows(self, top),
    topModelpin: rows(inclusive, 10),
  };
}
