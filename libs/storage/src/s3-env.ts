import { z } from 'zod';
import { envBoolean } from '@chorus/contracts';
import { ObjectStore, type ObjectStoreConfig } from './object-store';

/** The S3 variables every app reads (the fixed environment in docs/architecture.md and docs/operations.md), spread into each app's config schema. */
export const s3EnvShape = {
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z.string().min(1).default('chorus'),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  S3_FORCE_PATH_STYLE: envBoolean.default(true),
};

/** The S3 settings as an app's config holds them (what `s3EnvShape` parses). */
export type S3Config = z.infer<z.ZodObject<typeof s3EnvShape>>;

/** The one ObjectStore of an app, from its config; `options` adds what only that app sets. */
export function objectStoreFromConfig(config: S3Config, options: Partial<ObjectStoreConfig> = {}): ObjectStore {
  return new ObjectStore({
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    bucket: config.S3_BUCKET,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    ...options,
  });
}
