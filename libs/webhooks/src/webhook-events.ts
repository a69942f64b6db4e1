import { randomUUID } from 'node:crypto';

/** What a webhook can announce. Batch events come once per batch, when every item has ended. */
export const WEBHOOK_EVENT_TYPES = [
  'generation.succeeded',
  'generation.failed',
  'generation.canceled',
  'batch.completed',
  'batch.canceled',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The JSON body every delivery carries. */
export interface WebhookEvent<T = unknown> {
  /** The event's id: the same on every retry, so a receiver can de-duplicate. */
  id: string;
  type: WebhookEventType;
  created_at: string;
  data: T;
}

/** A generation as a webhook describes it; fetch the audio through the API with your key. */
export interface GenerationEventData {
  id: string;
  status: 'succeeded' | 'failed' | 'canceled';
  batch_id: string | null;
  prompt: string;
  seed: number;
  seconds_total: number;
  steps: number;
  sampler: string;
  output_format: string;
  model: { name: string | null; version: string | null };
  audio: { path: string; bytes: number | null; seconds: number | null } | null;
  error: string | null;
  finished_at: string | null;
}

export interface BatchEventData {
  id: string;
  status: 'completed' | 'canceled';
  total: number;
  counts: Record<'queued' | 'running' | 'succeeded' | 'failed' | 'canceled', number>;
  finished_at: string | null;
}

/** The fields of a generation row the event is built from. */
export interface FinishedGeneration {
  id: string;
  status: string;
  batchId: string | null;
  prompt: string;
  seed: number;
  secondsTotal: number;
  steps: number;
  sampler: string;
  outputFormat: string;
  modelName: string | null;
  modelVersion: string | null;
  outputKey: string | null;
  outputBytes: number | null;
  outputSeconds: number | null;
  error: string | null;
  finishedAt: Date | null;
}

export function generationEvent(generation: FinishedGeneration): WebhookEvent<GenerationEventData> {
  const status = generation.status as GenerationEventData['status'];
  return {
    id: randomUUID(),
    type: `generation.${status}`,
    created_at: new Date().toISOString(),
    data: {
      id: generation.id,
      status,
      batch_id: generation.batchId,
      prompt: generation.prompt,
      seed: generation.seed,
      seconds_total: generation.secondsTotal,
      steps: generation.steps,
      sampler: generation.sampler,
      output_format: generation.outputFormat,
      model: { name: generation.modelName, version: generation.modelVersion },
      audio:
        status === 'succeeded' && generation.outputKey
          ? { path: `/v1/generations/${generation.id}/audio`, bytes: generation.outputBytes, seconds: generation.outputSeconds }
          : null,
      error: generation.error,
      finished_at: generation.finishedAt?.toISOString() ?? null,
    },
  };
}

export function batchEvent(data: BatchEventData): WebhookEvent<BatchEventData> {
  return { id: randomUUID(), type: `batch.${data.status}`, created_at: new Date().toISOString(), data };
}
