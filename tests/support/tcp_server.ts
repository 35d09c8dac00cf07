/**
 * The one raw TCP listener the raw backends share (tests/support/raw_tcp.ts and
 * tests/support/hostile_tcp.ts): accept on 127.0.0.1, port 0, hand every
 * connection to a handler, keep track of what is open, and on close stop
 * listening, close every connection still open and wait for the handlers.
 *
 * @module
 */

/** One connection a {@linkcode tcpServer} accepted, as its handler gets it. */
export interface AcceptedConn {
  /** The socket. Close it through {@linkcode AcceptedConn.close}, which the server keeps track of. */
  readonly conn: Deno.Conn;
  /** 0-based number of this connection, in accept order. */
  readonly index: number;
  /** Resolves when this side closed the connection (the handler, or the server shutting down). */
  readonly closed: Promise<void>;
  /** Closes the connection; idempotent. */
  close(): void;
}

/** A running {@linkcode tcpServer}. */
export interface TcpServer extends AsyncDisposable {
  /** Base URL to configure, e.g. `http://127.0.0.1:1234/v1`. */
  baseUrl: string;
  /** Port it listens on. */
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections open right now. */
  readonly open: number;
  /** Stops listening, closes every connection still open and waits for the handlers to end. */
  close(): Promise<void>;
}

/**
 * Starts a raw TCP server on 127.0.0.1, port 0, that runs `handle` on every
 * connection it accepts. A handler that throws (the peer went away) just ends
 * its connection; the connection is closed when the handler is done.
 */
export function tcpServer(handle: (accepted: AcceptedConn) => Promise<void>): TcpServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const open = new Set<AcceptedConn>();
  const handlers = new Set<Promise<void>>();
  let accepted = 0;

  const track = (conn: Deno.Conn): AcceptedConn => {
    let done = false;
    let resolveClosed!: () => void;
    const closed = new Promise<void>((r) => resolveClosed = r);
    const tracked: AcceptedConn = {
      conn,
      index: accepted++,
      closed,
      close() {
        if (done) return;
        done = true;
        open.delete(tracked);
        resolveClosed();
        try {
          conn.close();
        } catch { /* already gone */ }
      },
    };
    open.add(tracked);
    return tracked;
  };

  const acceptLoop = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return; // listener closed
      }
      const tracked = track(conn);
      const handler = (async () => await handle(tracked))().catch(() => {}).finally(() => tracked.close());
      handlers.add(handler);
      handler.finally(() => handlers.delete(handler));
    }
  })();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      listener.close();
      await acceptLoop;
      for (const conn of open) conn.close();
      await Promise.all(handlers);
    })();
    return closing;
  };
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    port,
    get accepted() {
      return accepted;
    },
    get open() {
      return open.size;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
