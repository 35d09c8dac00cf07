/**
 * Starts the whole proxy in-process, through `run`, on port 0.
 *
 * @module
 */

import { run } from "../../src/main.ts";
import type { RunningProxy } from "../../src/server.ts";

/** A proxy running inside the test. */
export interface TestProxy extends AsyncDisposable {
  /** `http://127.0.0.1:port`. */
  url: string;
  /** Everything written to stdout (banner and request log lines). */
  stdout: string[];
  /** Everything written to stderr. */
  stderr: string[];
  /** The running server (proxy state, shutdown). */
  server: RunningProxy;
  /** Shuts the proxy down (grace 0 unless given) and waits for `run` to return. */
  close(graceMs?: number): Promise<number>;
}

/**
 * Starts modelpin with `env` as its whole configuration (no `.env` is read),
 * bound to 127.0.0.1 on a free port, without signal handlers.
 */
export async function startProxy(env: Record<string, string>): Promise<TestProxy> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  let resolveServer!: (s: RunningProxy) => void;
  const listening = new Promise<RunningProxy>((r) => resolveServer = r);
  const done = run({
    source: { BIND_HOST: "127.0.0.1", PROXY_PORT: "0", ...env },
    stdout: (t) => void stdout.push(t),
    stderr: (t) => void stderr.push(t),
    signals: false,
    onListen: resolveServer,
  });
  const server = await Promise.race([
    listening,
    done.then((code) => {
      throw new Error(`proxy exited with ${code}: ${stderr.join("")}`);
    }),
  ]);
  const close = async (graceMs = 0) => {
    await server.shutdown(graceMs);
    return await done;
  };
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    stdout,
    stderr,
    server,
    close,
    [Symbol.asyncDispose]: async () => void await close(),
  };
}

/** POSTs JSON to the proxy. */
export function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Request log lines (not the banner) written so far. Lines are batched, so wait a turn first. */
export async function logLines(proxy: TestProxy): Promise<string[]> {
  await new Promise((r) => setTimeout(r, 0));
  return proxy.stdout.join("").split("\n").filter((l) => /^\d{4}-\d\d-\d\dT/.test(l));
}
