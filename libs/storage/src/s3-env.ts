import { z } from 'zod';
import { envBoolean } from '@chorus/contracts';

/** The S3 variables every app reads (DESIGN.md's environment), spread into each app's config schema. */
export const s3EnvShape = {
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z.string().min(1).default('chorus'),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  S3_FORCE_PATH_STYLE: envBoolean.default(true),
};
