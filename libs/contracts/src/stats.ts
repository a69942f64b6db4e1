import { z } from 'zod';

/**
 * `GET /v1/stats`: the farm's health for the dashboard's Farm view. A tenant's key sees its own
 * generations (`scope: "tenant"`); an operator's key sees every tenant's, the queue and the
 * workers (`scope: "farm"`).
 */
export const STATS_SCOPES = ['farm', 'tenant'] as const;
export type StatsScope = (typeof STATS_SCOPES)[number];

export const queueDepthSchema = z.object({
  /** BullMQ job counts by state: the queue as Redis holds it now. */
  waiting: z.number().int(),
  prioritized: z.number().int(),
  delayed: z.number().int(),
  active: z.number().int(),
  failed: z.number().int(),
});

export const workerStatsSchema = z.object({
  id: z.string(),
  host: z.string(),
  /** onnxruntime execution provider (cpu, cuda). */
  device: z.string(),
  /** name@version of the model it keeps warm. */
  model: z.string(),
  /** The generation it is running now, if any. */
  current_generation_id: z.string().nullable(),
  last_heartbeat_at: z.string(),
  /** Its last heartbeat is recent enough to count it as running. */
  live: z.boolean(),
});

/** Finished generations over a span of time. Durations run from submit to finish, succeeded only. */
export const statsTotalsSchema = z.object({
  succeeded: z.number().int(),
  failed: z.number().int(),
  canceled: z.number().int(),
  p50_ms: z.number().nullable(),
  p95_ms: z.number().nullable(),
});

export const statsBucketSchema = statsTotalsSchema.extend({ start: z.string() });

export const farmStatsSchema = z.object({
  /** Whose numbers these are: every tenant's (an operator's key) or the caller's own. */
  scope: z.enum(STATS_SCOPES),
  generated_at: z.string(),
  /** The shared queue; null in the tenant scope (BullMQ counts every tenant's jobs). */
  queue: queueDepthSchema.nullable(),
  /** Postgres, the truth: generations waiting for a worker and being sampled, in the scope. */
  generations: z.object({ queued: z.number().int(), running: z.number().int() }),
  /** Workers seen within the last hour, live ones first; null in the tenant scope (they run every tenant's work). */
  workers: z.array(workerStatsSchema).nullable(),
  /** The last hour of generations finished in the scope, in equal buckets, oldest first, for charts. */
  window: z.object({ from: z.string(), to: z.string(), bucket_seconds: z.number().int() }),
  buckets: z.array(statsBucketSchema),
  /** The whole hour as one bucket. */
  last_hour: statsTotalsSchema,
});

export type QueueDepth = z.infer<typeof queueDepthSchema>;
export type WorkerStats = z.infer<typeof workerStatsSchema>;
export type StatsTotals = z.infer<typeof statsTotalsSchema>;
export type StatsBucket = z.infer<typeof statsBucketSchema>;
export type FarmStats = z.infer<typeof farmStatsSchema>;
