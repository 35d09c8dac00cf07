/**
 * nginx for the benchmark: a static JSON backend, and the reference proxy
 * (`proxy_pass` to a keep-alive upstream). Each instance gets its own prefix
 * and configuration under bench/tmp/ and runs as a non-daemon child.
 *
 * @module
 */

import { COMPLETION_BODY, FAILURE_BODY } from "./fixtures.ts";
import { type Child, spawn, waitReady } from "./procs.ts";

function common(prefix: string, workers: number | "auto"): string {
  return `daemon off;
master_process on;
worker_processes ${workers};
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 8192; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  tcp_nodelay on;
`;
}

/** Static backend: `jsonPort` answers 200 with a chat completion, `failPort` 503. */
export function backendConfig(prefix: string, jsonPort: number, failPort: number): string {
  return common(prefix, "auto") + `
  server {
    listen 127.0.0.1:${jsonPort} reuseport;
    location / { default_type application/json; return 200 '${COMPLETION_BODY}'; }
  }
  server {
    listen 127.0.0.1:${failPort} reuseport;
    location / { default_type application/json; return 503 '${FAILURE_BODY}'; }
  }
}
`;
}

/** Ports of the reference proxy. */
export interface NginxProxyPorts {
  /** proxy_pass to the JSON backend. */
  json: number;
  /** proxy_pass to the streaming backend, unbuffered. */
  stream: number;
  /** proxy_pass to the failing primary with the JSON backend as backup (every request retried). */
  fallback: number;
  /** A plain health location. */
  health: number;
}

/** The reference proxy, forwarding to the given backend ports. */
export function proxyConfig(
  prefix: string,
  workers: number,
  ports: NginxProxyPorts,
  upstream: { json: number; stream: number; fail: number },
): string {
  const pass = `
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "Bearer bench-key";`;
  return common(prefix, workers) + `
  upstream json_backend { server 127.0.0.1:${upstream.json}; keepalive 256; }
  upstream stream_backend { server 127.0.0.1:${upstream.stream}; keepalive 256; }
  upstream fallback_backend {
    server 127.0.0.1:${upstream.fail} max_fails=0;
    server 127.0.0.1:${upstream.json} backup;
    keepalive 256;
  }
  server {
    listen 127.0.0.1:${ports.json};
    location / { proxy_pass http://json_backend;${pass} }
  }
  server {
    listen 127.0.0.1:${ports.stream};
    location / { proxy_pass http://stream_backend;${pass} proxy_buffering off; }
  }
  server {
    listen 127.0.0.1:${ports.fallback};
    location / {
      proxy_pass http://fallback_backend;${pass}
      proxy_next_upstream error timeout http_502 http_503 http_504 http_429 non_idempotent;
    }
  }
  server {
    listen 127.0.0.1:${ports.health};
    location / { default_type application/json; return 200 '{"status":"ok"}'; }
  }
}
`;
}

/** Starts nginx with `config` in its own `prefix` directory; resolves once `readyUrl` answers. */
export async function startNginx(
  name: string,
  nginx: string,
  prefix: string,
  config: string,
  readyUrl: string,
): Promise<Child> {
  await Deno.mkdir(prefix, { recursive: true });
  const confFile = `${prefix}/nginx.conf`;
  await Deno.writeTextFile(confFile, config);
  const logFile = `${prefix}/stdout.log`;
  const child = spawn(name, nginx, ["-p", prefix, "-e", `${prefix}/error.log`, "-c", confFile], {
    logFile,
    openFiles: 65536,
  });
  await waitReady(readyUrl, child, 10_000, `${prefix}/error.log`);
  return child;
}
