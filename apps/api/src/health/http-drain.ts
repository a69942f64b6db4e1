import type { Server } from 'node:http';
import { type BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { PinoLogger } from 'nestjs-pino';
import { API_CONFIG, type ApiConfig } from '../config/api-config';

/**
 * SIGTERM (Nest's shutdown hooks) → readiness turns false, the server stops accepting
 * connections, idle keep-alive connections close, in-flight requests finish; whatever is still
 * open at the deadline (an SSE stream: its EventSource reconnects elsewhere) is cut. Only then do
 * the shutdown hooks close Postgres, Redis and S3 clients, so no request loses them halfway.
 */
@Injectable()
export class HttpDrain implements BeforeApplicationShutdown {
  private draining = false;
  private readonly drainMs: number;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly logger: PinoLogger,
    @Inject(API_CONFIG) config: ApiConfig,
  ) {
    this.drainMs = config.API_SHUTDOWN_DRAIN_MS;
    logger.setContext(HttpDrain.name);
  }

  get isDraining(): boolean {
    return this.draining;
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.draining = true;
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server?.listening) return;
    const started = Date.now();
    this.logger.info({ signal, drain_ms: this.drainMs }, 'shutting down: no new connections, draining in-flight requests');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive sockets become idle as their responses end; close each as soon as it does.
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    server.closeIdleConnections();
    const deadline = setTimeout(() => {
      this.logger.warn('drain deadline reached: closing the connections still open');
      server.closeAllConnections();
    }, this.drainMs);
    await closed;
    clearInterval(sweep);
    clearTimeout(deadline);
    this.logger.info({ drained_in_ms: Date.now() - started }, 'HTTP server drained');
  }
}
