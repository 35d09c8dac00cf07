/**
 * Serving: binds the listener, owns the upstream connection pool and the
 * log, and shuts down gracefully.
 *
 * @module
 */

import type { Config } from "./config/config.ts";
import { TABLE } from "./endpoints.ts";
import { createProxy, type Proxy } from "./proxy/handler.ts";
import { BatchedLog, type LineSink } from "./ops/request_log.ts";
import { pooledTransports } from "./upstream/transport.ts";

/** What a running proxy server depends on. */
export interface ServeOptions {
  /** The validated configuration (port 0 picks a free port). */
  config: Config;
  /** Where request log lines go. */
  stdout: LineSink;
}

/** A proxy that is listening. */
export interface RunningProxy {
  /** The bound address (read the port from here when binding port 0). */
  addr: Deno.NetAddr;
  /** The handler and its state. */
  proxy: Proxy;
  /**
   * Stops accepting, lets open requests finish for `graceMs` (default
   * PROXY_SHUTDOWN_GRACE), then ends what is left. Resolves when closed.
   * Called with 0 while a shutdown is under way, it ends the grace period now.
   */
  shutdown: (graceMs?: number) => Promise<void>;
  /** Resolves when the server has closed. */
  finished: Promise<void>;
}

/** How long shutdown still waits, after the grace period, for the final error events to leave. */
const FINAL_FLUSH_MS = 2000;

/** Starts the proxy on the configured address. */
export function serveProxy(options: ServeOptions): RunningProxy {
  const { config } = options;
  // The server owns the upstream pool, so it decides how each route reaches its backend.
  const transports = pooledTransports();
  const log = new BatchedLog(options.stdout);
  const proxy = createProxy({ config, transports, table: TABLE, log: (line) => log.line(line) });
  const server = Deno.serve({
    port: config.port,
    hostname: config.bindHost,
    onListen() {},
    handler: proxy.handler,
  });
  let closing: Promise<void> | undefined;
  let markDone!: () => void;
  const done = new Promise<void>((resolve) => markDone = resolve);
  let cutGrace!: () => void;
  const graceCut = new Promise<void>((resolve) => cutGrace = resolve);
  const shutdown = (graceMs = config.shutdownGraceMs): Promise<void> => {
    // A shutdown already under way is cut short by a call with no grace (a second signal).
    if (graceMs === 0) cutGrace();
    closing ??= (async () => {
      const closed = server.shutdown();
      await within(Promise.race([closed, graceCut]), graceMs);
      // Whatever is still open after the grace period is ended, not abandoned:
      // streams get an SSE error event, waiting requests a 503.
      proxy.relays.terminateAll();
      proxy.abortAll();
      // A client that reads nothing (or still trickles its upload) cannot hold the
      // exit hostage: give the last bytes a moment to leave, then stop waiting.
      await within(closed, FINAL_FLUSH_MS);
      transports.close();
      log.flush();
      markDone();
    })();
    return closing;
  };
  // Done when the server has closed, or when shutdown gave up on a stuck connection.
  const finished = Promise.race([server.finished, done]).then(() => closing);
  return { addr: server.addr, proxy, shutdown, finished };
}

/** Waits for `promise`, but no longer than `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => timer = setTimeout(resolve, ms))]);
  clearTimeout(timer);
}
