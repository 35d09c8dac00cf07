/**
 * The load generators: wrk (preferred, from the distribution's packages) or
 * autocannon (from npm, through npx). Both POST the same chat completion body.
 *
 * @module
 */

import { REQUEST_BODY } from "./fixtures.ts";

/** One load run's result. */
export interface LoadResult {
  /** Completed requests per second. */
  rps: number;
  /** Median latency, microseconds. */
  p50us: number;
  /** 99th percentile latency, microseconds. */
  p99us: number;
  /** Requests completed. */
  requests: number;
  /** Socket errors and timeouts. */
  errors: number;
  /** Responses that were not 2xx/3xx. */
  non2xx: number;
}

/** Which load generator runs, and how to call it. */
export interface LoadGenerator {
  /** "wrk" or "autocannon". */
  name: string;
  /** Its version line. */
  version: string;
  /** Runs `connections` connections against `url` for `seconds`. */
  run(url: string, connections: number, seconds: number): Promise<LoadResult>;
}

const WRK_SCRIPT = `
wrk.method = "POST"
wrk.body = [[${REQUEST_BODY}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer client-key"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHJSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"errors\\":%d,\\"non2xx\\":%d,\\"p50\\":%d,\\"p99\\":%d}\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
`;

async function output(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null" }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} failed (${out.code}): ${text}\n${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

/** wrk with a Lua script that prints exact numbers (latency in microseconds). */
export async function wrkGenerator(wrk: string, scriptDir: string, version: string): Promise<LoadGenerator> {
  const script = `${scriptDir}/post.lua`;
  await Deno.writeTextFile(script, WRK_SCRIPT);
  return {
    name: "wrk",
    version,
    async run(url, connections, seconds) {
      const threads = 1; // one load thread: the other core is left to the proxy and the backend
      const text = await output(
        wrk,
        ["-t", String(threads), "-c", String(connections), "-d", `${seconds}s`, "--timeout", "10s", "-s", script, url],
        (seconds + 30) * 1000,
      );
      const line = text.split("\n").find((l) => l.startsWith("BENCHJSON "));
      if (!line) throw new Error(`wrk printed no result:\n${text}`);
      const r = JSON.parse(line.slice(10));
      return {
        rps: r.requests / (r.duration_us / 1e6),
        p50us: r.p50,
        p99us: r.p99,
        requests: r.requests,
        errors: r.errors,
        non2xx: r.non2xx,
      };
    },
  };
}

/** autocannon 8 through npx (Node.js); its latencies have 1 ms resolution below ~1 ms. */
export function autocannonGenerator(npx: string, version: string): LoadGenerator {
  return {
    name: "autocannon",
    version,
    async run(url, connections, seconds) {
      const text = await output(
        npx,
        [
          "-y",
          "autocannon@8",
          "-j",
          "-c",
          String(connections),
          "-d",
          String(seconds),
          "-m",
          "POST",
          "-H",
          "content-type=application/json",
          "-H",
          "authorization=Bearer client-key",
          "-b",
          REQUEST_BODY,
          url,
        ],
        (seconds + 120) * 1000,
      );
      const r = JSON.parse(text.slice(text.indexOf("{")));
      return {
        rps: r.requests.total / r.duration,
        p50us: r.latency.p50 * 1000,
        p99us: r.latency.p99 * 1000,
        requests: r.requests.total,
        errors: r.errors + r.timeouts,
        non2xx: r.non2xx,
      };
    },
  };
}
