import { apiConfigSchema } from '../../apps/api/src/config/api-config';

/** Secret keys only KEDA's TriggerAuthentication reads (it wants Redis as host:port + password). */
export const KEDA_ONLY_SECRET_KEYS = ['REDIS_ADDRESS', 'REDIS_PASSWORD'];

// TODO(ops): replace with the worker's config schema keys once apps/worker lands.
const WORKER_VARIABLES = ['DATABASE_URL', 'REDIS_URL', 'BULLMQ_PREFIX', 'S3_ENDPOINT', 'S3_REGION', 'S3_BUCKET', 'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY', 'S3_FORCE_PATH_STYLE', 'MODEL_DIR', 'ORT_EXECUTION_PROVIDER', 'ORT_REQUIRE_GPU', 'CUDA_VISIBLE_DEVICES',
  'WORKER_MAX_BATCH', 'WORKER_METRICS_PORT', 'WORKER_SHUTDOWN_GRACE_MS', 'LOG_LEVEL'];

/** Every environment variable one of the apps validates at start-up. */
export function knownVariables(): string[] {
  return [...new Set([...Object.keys(apiConfigSchema.shape), ...WORKER_VARIABLES])].sort();
}
