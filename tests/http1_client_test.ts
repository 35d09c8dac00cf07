/**
 * The HTTP/1.1 client for plain-http backends, against raw TCP servers that
 * write exactly the bytes under test.
 */
import assert from "node:assert/strict";
import { Http1Client } from "../src/http1_client.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A raw server: `answer` gets each request's head (text) and writes the reply itself. */
function rawServer(answer: (conn: Deno.Conn, head: string, index: number) => Promise<unknown> | void) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  let requests = 0;
  const loop = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      (async () => {
        let buf = new Uint8Array(0);
        const chunk = new Uint8Array(65536);
        for (;;) {
          let n: number | null;
          try {
            n = await conn.read(chunk);
          } catch {
            return;
          }
          if (n === null) return;
          const grown = new Uint8Array(buf.length + n);
          grown.set(buf);
          grown.set(chunk.subarray(0, n), buf.length);
          buf = grown;
          for (;;) {
            // Heads are ASCII, so a latin1 view finds them at the right byte offsets.
            const text = new TextDecoder("latin1").decode(buf);
            const end = text.indexOf("\r\n\r\n");
            if (end < 0) break;
            const head = text.slice(0, end);
            const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
            if (buf.length < end + 4 + length) break;
            buf = buf.slice(end + 4 + length);
            try {
              await answer(conn, head, requests++);
            } catch { /* the client went away */ }
          }
        }
      })();
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    get connections() {
      return conns.length;
    },
    get requests() {
      return requests;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await loop.catch(() => {});
    },
  };
}

const write = (conn: Deno.Conn, text: string) => conn.write(enc.encode(text));

function client() {
  const c = new Http1Client({ maxIdlePerHost: 4, idleTimeoutMs: 10_000 });
  return Object.assign(c, { [Symbol.dispose]: () => c.close() });
}

Deno.test("http1: content-length bodies, and the connection is kept alive and reused", async () => {
  await using server = rawServer((conn) =>
    write(conn, 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}')
  );
  using http = client();
  for (let i = 0; i < 3; i++) {
    const res = await http.fetch(`${server.url}/v1/x?q=1`, { method: "POST", body: '{"model":"m"}' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.deepEqual(await res.json(), { ok: true });
  }
  assert.equal(server.requests, 3);
  assert.equal(server.connections, 1, "one keep-alive connection for all three");
});

Deno.test("http1: the request goes out as sent: method, path, query, headers, body and its length", async () => {
  let seen = "";
  await using server = rawServer((conn, head) => {
    seen = head;
    return write(conn, "HTTP/1.1 204 No Content\r\n\r\n");
  });
  using http = client();
  const res = await http.fetch(`${server.url}/inference/v1/chat/completions?a=b`, {
    method: "POST",
    headers: new Headers({ authorization: "Bearer k", "content-type": "application/json" }),
    body: "héllo",
  });
  assert.equal(res.status, 204);
  assert.equal(res.body, null);
  assert.match(seen, /^POST \/inference\/v1\/chat\/completions\?a=b HTTP\/1\.1\r\n/);
  assert.match(seen, /\r\nauthorization: Bearer k(\r\n|$)/);
  assert.match(seen, /\r\ncontent-length: 6(\r\n|$)/, "length in bytes, not characters");
  assert.match(seen, /\r\nhost: 127\.0\.0\.1:\d+(\r\n|$)/);
});

Deno.test("http1: chunked bodies with extensions and trailers, chunk by chunk as they arrive", async () => {
  let next!: () => void;
  await using server = rawServer(async (conn) => {
    await write(conn, "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n");
    await write(conn, "d;ext=1\r\ndata: first\n\n\r\n");
    await new Promise<void>((r) => next = r);
    await write(conn, "d\r\ndata: second\n\r\n0\r\nx-trailer: t\r\n\r\n");
  });
  using http = client();
  const res = await http.fetch(`${server.url}/s`, { method: "GET" });
  const reader = res.body!.getReader();
  assert.equal(dec.decode((await reader.read()).value), "data: first\n\n", "the first chunk before the second exists");
  next();
  let rest = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    rest += dec.decode(value);
  }
  assert.equal(rest, "data: second\n");
});

Deno.test("http1: 1xx interim answers are skipped; a close-delimited body ends at EOF", async () => {
  await using server = rawServer(async (conn) => {
    await write(conn, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil close");
    conn.close();
  });
  using http = client();
  const res = await http.fetch(`${server.url}/`, { method: "GET" });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "until close");
});

Deno.test("http1: a body cut short is an error, not a silent success", async (t) => {
  for (
    const [name, reply] of [
      ["content-length", "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this"],
      ["chunked", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n10\r\nonly"],
    ]
  ) {
    await t.step(name, async () => {
      await using server = rawServer(async (conn) => {
        await write(conn, reply);
        conn.close();
      });
      using http = client();
      const res = await http.fetch(`${server.url}/`, { method: "GET" });
      await assert.rejects(() => res.text());
    });
  }
});

Deno.test("http1: a pooled connection the backend closed meanwhile is replaced, and the request runs once", async () => {
  await using server = rawServer(async (conn, _head, index) => {
    await write(conn, `HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n${index}`);
    if (index === 0) conn.close(); // idle connection dropped by the backend after the answer
  });
  using http = client();
  assert.equal(await (await http.fetch(`${server.url}/`, { method: "POST", body: "a" })).text(), "0");
  assert.equal(await (await http.fetch(`${server.url}/`, { method: "POST", body: "b" })).text(), "1");
  assert.equal(server.requests, 2, "each request ran exactly once");
  assert.equal(server.connections, 2);
});

Deno.test("http1: connection: close is honoured; refused connections and aborts reject", async () => {
  await using server = rawServer((conn) =>
    write(conn, "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok")
  );
  using http = client();
  assert.equal(await (await http.fetch(`${server.url}/`, { method: "GET" })).text(), "ok");
  assert.equal(await (await http.fetch(`${server.url}/`, { method: "GET" })).text(), "ok");
  assert.equal(server.connections, 2, "not reused after connection: close");

  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  await assert.rejects(() => http.fetch(`http://127.0.0.1:${port}/`, { method: "GET" }));

  await using hang = rawServer(() => new Promise(() => {}));
  const controller = new AbortController();
  const pending = http.fetch(`${hang.url}/`, { method: "GET", signal: controller.signal });
  controller.abort();
  await assert.rejects(pending, (err: unknown) => err instanceof DOMException && err.name === "AbortError");
});

Deno.test("http1: a backend that gzips despite accept-encoding: identity is decoded, as fetch would", async () => {
  const json = '{"choices":[{"message":{"content":"compressed anyway"}}]}';
  const gz = new Uint8Array(
    await new Response(new Blob([json]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
  );
  await using server = rawServer(async (conn) => {
    await write(
      conn,
      `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: ${gz.length}\r\n\r\n`,
    );
    await conn.write(gz);
  });
  using http = client();
  const res = await http.fetch(`${server.url}/`, { method: "GET" });
  assert.equal(res.headers.get("content-encoding"), null);
  assert.equal(res.headers.get("content-length"), null);
  assert.equal(await res.text(), json);
});
