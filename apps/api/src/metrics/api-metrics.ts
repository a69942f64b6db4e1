import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds; from a fast 404 to a slow SSE handshake or a large list page. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** BullMQ states an operator watches: runnable, running, waiting out a retry, and the terminal ones. */
export const QUEUE_STATES = ['wait', 'prioritized', 'active', 'delayed', 'waiting-children', 'completed', 'failed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** Reads the job counts of one queue when Prometheus scrapes (never on the request path). */
export type QueueCounts = () => Promise<{ queue: string; counts: Partial<Record<QueueState, number>> }>;

/**
 * The API's Prometheus series, on a registry of its own (so two apps in one test process, or a
 * second API instance, never clash on prom-client's global registry).
 */
export class ApiMetrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'chorus_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'chorus_http_request_duration_seconds',
    help: 'Time from request to the end of the response, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });

  constructor(queueCounts: QueueCounts) {
    collectDefaultMetrics({ register: this.registry, prefix: 'chorus_api_' });
    new Gauge({
      name: 'chorus_queue_jobs',
      help: 'Jobs in the queue by BullMQ state, read from Redis at scrape time.',
      labelNames: ['queue', 'state'] as const,
      registers: [this.registry],
      async collect() {
        const { queue, counts } = await queueCounts();
        for (const state of QUEUE_STATES) this.set({ queue, state }, counts[state] ?? 0);
      },
    });
  }
}
