import { apiConfigSchema } from '../../apps/api/src/config/api-config';
import { workerConfigSchema } from '../../apps/worker/src/worker-config';

/** Secret keys only KEDA's TriggerAuthentication reads (it wants Redis as host:port + password). */
export const KEDA_ONLY_SECRET_KEYS = ['REDIS_ADDRESS', 'REDIS_PASSWORD'];

/** Read by CUDA itself (which GPU the process sees), not by our configuration. */
const CUDA_VARIABLES = ['CUDA_VISIBLE_DEVICES'];

/** Every environment variable one of the apps validates at start-up, plus CUDA's own. */
export function knownVariables(): string[] {
  const schemas = [apiConfigSchema, workerConfigSchema];
  return [...new Set([...schemas.flatMap((schema) => Object.keys(schema.shape)), ...CUDA_VARIABLES])].sort();
}
