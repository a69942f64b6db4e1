/**
 * Proxies a fault test puts between the farm and a real server, and controls while the farm runs.
 *
 * - `startHttpFaultProxy(target)`: an HTTP proxy (for S3) that passes requests through, answers
 *   them 503 like an overloaded S3 (`<Code>SlowDown</Code>`), or refuses connections outright.
 * - `startLatencyProxy(target, ms)`: a TCP proxy (for Redis) that delays every chunk each way by
 *   `ms`, keeping the byte order.
 */
import http from 'node:http';
import net from 'node:net';

export type HttpFaultMode = 'pass' | '503' | 'refuse';

export interface HttpFaultProxy {
  url: string;
  port: number;
  mode: HttpFaultMode;
  /** Requests seen, by what happened to them: `pass PUT`, `503 POST`, …; `refused` counts connections. */
  counts: Record<string, number>;
  setMode(mode: HttpFaultMode): Promise<void>;
  close(): Promise<void>;
}

const SLOW_DOWN = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`;

export async function startHttpFaultProxy(target: string): Promise<HttpFaultProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const sockets = new Set<net.Socket>();
  const count = (what: string) => {
    proxy.counts[what] = (proxy.counts[what] ?? 0) + 1;
  };

  const server = http.createServer((request, response) => {
    if (proxy.mode === '503') {
      count(`503 ${request.method}`);
      request.resume();
      request.once('end', () => {
        response.writeHead(503, { 'content-type': 'application/xml', 'retry-after': '1' });
        response.end(SLOW_DOWN);
      });
      return;
    }
    count(`pass ${request.method}`);
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers, agent },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forward.once('error', () => response.destroy());
    request.pipe(forward);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  const port = await listen(0);

  const proxy: HttpFaultProxy = {
    url: `http://127.0.0.1:${port}`,
    port,
    mode: 'pass',
    counts: {},
    async setMode(mode) {
      if (mode === proxy.mode) return;
      const wasRefusing = proxy.mode === 'refuse';
      proxy.mode = mode;
      if (mode === 'refuse') {
        // Nobody listening on the port: clients get ECONNREFUSED, open connections are cut.
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const socket of sockets) socket.destroy();
        });
      } else if (wasRefusing) {
        await listen(port);
      }
    },
    async close() {
      agent.destroy();
      for (const socket of sockets) socket.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

export interface LatencyProxy {
  url: string;
  port: number;
  latencyMs: number;
  /** Chunks delayed, both directions. */
  chunks: number;
  close(): Promise<void>;
}

/** `target` like redis://127.0.0.1:6379; the proxy's `url` keeps the scheme. */
export async function startLatencyProxy(target: string, latencyMs: number): Promise<LatencyProxy> {
  const upstream = new URL(target);
  const sockets = new Set<net.Socket>();
  const delayed = (from: net.Socket, to: net.Socket) => {
    // Each chunk leaves `latencyMs` after it arrived, never before the chunk ahead of it.
    let last = 0;
    from.on('data', (chunk) => {
      proxy.chunks++;
      const due = Math.max(Date.now() + proxy.latencyMs, last);
      last = due;
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, due - Date.now());
    });
    from.once('close', () => setTimeout(() => to.destroy(), proxy.latencyMs));
    from.once('error', () => to.destroy());
  };
  const server = net.createServer((client) => {
    const server = net.connect(Number(upstream.port), upstream.hostname);
    for (const socket of [client, server]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    }
    delayed(client, server);
    delayed(server, client);
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  const proxy: LatencyProxy = {
    url: url.toString().replace(/\/$/, ''),
    port,
    latencyMs,
    chunks: 0,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
