import type { DefaultJobOptions } from 'bullmq';

/** A generation job's payload. Everything else is read from Postgres, the system of record. */
export interface GenerationJobData {
  generationId: string;
  tenantId: string;
}

/** Attempts before a generation is marked failed (BullMQ counts the first run as one). */
export const GENERATION_ATTEMPTS = 3;

export const generationJobOptions: DefaultJobOptions = {
  attempts: GENERATION_ATTEMPTS,
  backoff: { type: 'exponential', delay: 2_000 },
  // Redis keeps recent history for inspection; Postgres keeps the record.
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
};
