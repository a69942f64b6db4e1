import { z } from 'zod';

/** Start-up configuration is wrong: the message names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses environment variables with a zod object schema whose keys are the variable names,
 * so each app has one validated configuration object and a bad variable stops start-up by name.
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`),
  );
}

/** Environment booleans: "1", "true", "yes" are true; "0", "false", "no", "" are false. */
export const envBoolean = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', ''], { message: 'must be one of 1, 0, true, false, yes, no' })
  .transform((value) => value === '1' || value === 'true' || value === 'yes');

export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/chorus';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** onnxruntime's variables, read by the apps that run the model (worker, `chorus generate`) and passed to the engine. */
export const ortEnvShape = {
  ORT_EXECUTION_PROVIDER: z.enum(['cpu', 'cuda'], { message: 'must be cpu or cuda' }).default('cpu'),
  ORT_REQUIRE_GPU: envBoolean.default(false),
};
