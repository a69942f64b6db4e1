import type { Generation } from '@chorus/db';
import { describe, expect, it } from 'vitest';
import { toGenerationResource } from './generation-view';

const queued: Generation = {
  id: '6f1c7c1e-2d7a-4a4b-9d1e-1f2a3b4c5d6e',
  tenantId: 'a1c7c1e2-2d7a-4a4b-9d1e-1f2a3b4c5d6e',
  batchId: null,
  batchIndex: null,
  prompt: 'a pad',
  negativePrompt: null,
  secondsStart: 0,
  secondsTotal: 2,
  steps: 8,
  cfgScale: 6,
  sampler: 'euler',
  seed: 4_000_000_000,
  outputFormat: 'wav',
  webhookUrl: null,
  priority: 5,
  status: 'queued',
  progress: 0,
  attempts: 0,
  error: null,
  workerId: null,
  modelName: null,
  modelVersion: null,
  cancelRequestedAt: null,
  createdAt: new Date('2026-01-01T00:00:00.000Z'),
  queuedAt: new Date('2026-01-01T00:00:00.000Z'),
  startedAt: null,
  finishedAt: null,
  queueMs: null,
  inferenceMs: null,
  encodeMs: null,
  uploadMs: null,
  outputKey: null,
  outputBytes: null,
  outputSeconds: null,
  sampleRate: null,
  channels: null,
};

describe('toGenerationResource', () => {
  it('shows a queued generation with no audio and no timings yet', () => {
    const resource = toGenerationResource(queued);
    expect(resource).toMatchObject({ status: 'queued', seed: 4_000_000_000, audio: null, started_at: null, finished_at: null });
    expect(resource.timings_ms).toEqual({ queue: null, inference: null, encode: null, upload: null, total: null });
  });

  it('shows a succeeded generation with its audio and the total time from submit to finish', () => {
    const succeeded: Generation = {
      ...queued,
      status: 'succeeded',
      progress: 1,
      workerId: 'worker-1',
      startedAt: new Date('2026-01-01T00:00:01.000Z'),
      finishedAt: new Date('2026-01-01T00:00:03.500Z'),
      queueMs: 1000,
      inferenceMs: 2000,
      encodeMs: 100,
      uploadMs: 300,
      outputKey: 'generations/t/g.wav',
      outputBytes: 352844,
      outputSeconds: 2,
      sampleRate: 44100,
      channels: 2,
    };
    const resource = toGenerationResource(succeeded, { url: 'http://s3/presigned', downloadUrl: 'http://s3/presigned-attachment' });
    expect(resource.audio).toEqual({ url: 'http://s3/presigned', download_url: 'http://s3/presigned-attachment', format: 'wav', bytes: 352844, seconds: 2, sample_rate: 44100, channels: 2 });
    expect(resource.timings_ms).toEqual({ queue: 1000, inference: 2000, encode: 100, upload: 300, total: 3500 });
    expect(resource.worker_id).toBe('worker-1');
  });

  it('never shows audio for a generation that did not succeed', () => {
    expect(toGenerationResource({ ...queued, status: 'failed', outputKey: 'k' }, { url: 'http://s3/x', downloadUrl: 'http://s3/y' }).audio).toBeNull();
  });
});
