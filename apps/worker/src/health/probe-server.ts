import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface ProbeAnswer {
  status: number;
  contentType: string;
  body: string;
}

export interface ProbeRoutes {
  '/metrics': () => Promise<ProbeAnswer>;
  '/health/live': () => Promise<ProbeAnswer>;
  '/health/ready': () => Promise<ProbeAnswer>;
}

/**
 * The worker's small HTTP port (WORKER_METRICS_PORT): Prometheus scrapes /metrics, Kubernetes
 * probes /health/live and /health/ready. GET only, no body, nothing else; plain node:http because
 * the worker serves no API.
 */
export class ProbeServer {
  private server?: Server;

  constructor(private readonly routes: ProbeRoutes) {}

  /** Resolves with the port it listens on (useful with port 0). */
  listen(port: number, host = '0.0.0.0'): Promise<number> {
    const server = createServer((request, response) => void this.answer(request, response));
    // Probes and scrapes are quick; a slow or stuck client must not hold a socket for long.
    server.requestTimeout = 10_000;
    server.keepAliveTimeout = 5_000;
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve((server.address() as { port: number }).port);
      });
    });
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server?.listening) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0] as keyof ProbeRoutes;
    const route = Object.hasOwn(this.routes, path) ? this.routes[path] : undefined;
    let answer: ProbeAnswer;
    if (!route) answer = text(404, 'not found: this port serves /metrics, /health/live and /health/ready\n');
    else if (request.method !== 'GET' && request.method !== 'HEAD') answer = text(405, 'method not allowed\n');
    else {
      try {
        answer = await route();
      } catch (error) {
        answer = text(500, `${error instanceof Error ? error.message : String(error)}\n`);
      }
    }
    response.writeHead(answer.status, { 'content-type': answer.contentType, 'cache-control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : answer.body);
  }
}

function text(status: number, body: string): ProbeAnswer {
  return { status, contentType: 'text/plain; charset=utf-8', body };
}
