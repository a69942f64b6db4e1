import { createHash } from 'node:crypto';

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
  /**
   * The event's id: the same on every retry, so a receiver can de-duplicate. Derived from the
   * event type and its subject, so announcing the same outcome twice queues one delivery.
   */
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
  const type = `generation.${status}` as const;
  return {
    id: eventId(type, generation.id),
    type,
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
  const type = `batch.${data.status}` as const;
  return { id: eventId(type, data.id), type, created_at: new Date().toISOString(), data };
}

/** A name-based UUID (RFC 9562 version 5 layout over SHA-1) for one outcome of one subject. */
export function eventId(type: WebhookEventType, subjectId: string): string {
  const bytes = createHash('sha1').update(`chorus:${type}:${subjectId}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
