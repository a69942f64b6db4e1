import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, envBoolean, ortEnvShape, parseEnv } from '@chorus/contracts';
import { DEFAULT_BULLMQ_PREFIX } from '@chorus/queue';
import { s3EnvShape } from '@chorus/storage';

const milliseconds = (fallback: number, min = 1) => z.coerce.number().int().min(min).max(3_600_000).default(fallback);

/** Every variable the worker reads; a bad one stops start-up with its name. */
export const workerConfigSchema = z.object({
  DATABASE_URL: z.string().url().default(DEFAULT_DATABASE_URL),
  REDIS_URL: z.string().url().default(DEFAULT_REDIS_URL),
  BULLMQ_PREFIX: z.string().min(1).default(DEFAULT_BULLMQ_PREFIX),
  ...s3EnvShape,
  /** Create the bucket at start-up if missing (development; production provisions it). */
  S3_CREATE_BUCKET: envBoolean.default(false),
  MODEL_DIR: z.string().min(1).default('models/chorus-tiny'),
  ...ortEnvShape,
  /** Compatible jobs sampled together in one batched pass; also the jobs a worker holds at once. */
  WORKER_MAX_BATCH: z.coerce.number().int().min(1).max(64).default(1),
  /** How long the first job of a batch waits for compatible ones to join it. */
  WORKER_BATCH_WINDOW_MS: milliseconds(20, 0),
  /** Default: <hostname>-<pid>-<random>. */
  WORKER_ID: z.string().min(1).max(200).optional(),
  WORKER_HEARTBEAT_MS: milliseconds(5_000, 100),
  /** BullMQ job lock; renewed at half of it. A worker silent for this long loses its job to another. */
  WORKER_LOCK_DURATION_MS: milliseconds(30_000, 1_000),
  WORKER_STALLED_INTERVAL_MS: milliseconds(30_000, 1_000),
  WORKER_MAX_STALLED_COUNT: z.coerce.number().int().min(0).max(100).default(2),
  /** At most one progress update (job, event, row) per this interval. */
  WORKER_PROGRESS_INTERVAL_MS: milliseconds(250, 0),
  /** After SIGTERM: how long the held jobs get to finish before they are handed back to the queue. */
  WORKER_SHUTDOWN_GRACE_MS: milliseconds(60_000, 0),
  /** The worker's HTTP port for /metrics, /health/live and /health/ready (0: any free port). */
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  WORKER_METRICS_HOST: z.string().min(1).default('0.0.0.0'),
  RECONCILE_INTERVAL_MS: milliseconds(15_000, 100),
  /** A queued row younger than this is not reconciled (its job may be being added right now). */
  RECONCILE_MIN_AGE_MS: milliseconds(10_000, 0),
  /** Lets webhooks reach loopback addresses: only for the project's own tests. */
  WEBHOOK_ALLOW_LOOPBACK: envBoolean.default(false),
  /** A webhook receiver that has not answered by then is a failed attempt. */
  WEBHOOK_TIMEOUT_MS: milliseconds(10_000, 100),
  /** Webhook deliveries in flight at once per worker process. */
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type WorkerConfig = z.infer<typeof workerConfigSchema> & { WORKER_ID: string };

export const WORKER_CONFIG = Symbol('chorus:worker-config');

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const config = parseEnv(workerConfigSchema, env);
  return { ...config, WORKER_ID: config.WORKER_ID ?? `${os.hostname()}-${process.pid}-${randomBytes(2).toString('hex')}` };
}
