import { DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, envBoolean, parseEnv } from '@chorus/contracts';
import { DEFAULT_BULLMQ_PREFIX } from '@chorus/queue';
import { s3EnvShape } from '@chorus/storage';
import { z } from 'zod';

export const apiConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.string().url().default(DEFAULT_DATABASE_URL),
  REDIS_URL: z.string().url().default(DEFAULT_REDIS_URL),
  BULLMQ_PREFIX: z.string().min(1).default(DEFAULT_BULLMQ_PREFIX),
  ...s3EnvShape,
  MODEL_DIR: z.string().min(1).default('models/chorus-tiny'),
  /** Largest accepted JSON body, in body-parser's notation ("1mb", "512kb"). */
  BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/i, 'must look like 512kb or 1mb').default('1mb'),
  /** Lifetime of presigned audio URLs. */
  AUDIO_URL_TTL_SECONDS: z.coerce.number().int().min(1).max(7 * 24 * 3600).default(900),
  /** After SIGTERM: how long in-flight requests get to finish before open connections are cut. */
  API_SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).max(300_000).default(10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * How long the API reuses an API key's tenant (and its limits) before asking Postgres again: a
   * revoked key or changed limits take effect within it. 0 asks on every request.
   */
  API_KEY_CACHE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  /** The window of the requests_per_minute limit; shorter only in tests. */
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  /** Largest batch upload (JSON, CSV, JSONL or multipart), in body-parser's notation. */
  BATCH_BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/i, 'must look like 512kb or 32mb').default('32mb'),
  /** Lets webhooks reach loopback: only for the project's own tests. */
  WEBHOOK_ALLOW_LOOPBACK: envBoolean.default(false),
});

export type ApiConfig = z.infer<typeof apiConfigSchema>;

export const API_CONFIG = Symbol('API_CONFIG');

export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  return parseEnv(apiConfigSchema, env);
}
