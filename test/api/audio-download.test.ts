/**
 * Issue 22, item 18: "Download" must save a file. The presigned URL plays in the browser; the
 * download URL (`GET /v1/generations/:id/audio?download=1`, and the resource's
 * `audio.download_url`) makes the store answer `Content-Disposition: attachment`. Real API,
 * Postgres, Redis and s3rver.
 */
import { GenerationRepository } from '@chorus/db';
import { GenerationQueue } from '@chorus/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useApi } from './api-under-test';

const api = useApi('audio_download');
let queue: GenerationQueue;
const bytes = new Uint8Array([82, 73, 70, 70, 9, 8, 7, 6]);
let id: string;

beforeAll(async () => {
  queue = new GenerationQueue({ redisUrl: api.config.REDIS_URL, prefix: api.config.BULLMQ_PREFIX });
  id = (await api.tenantA.client.createGeneration({ prompt: 'a kick to keep', seconds_total: 1 })).id;
  // The worker's part: the object lands in S3, then the row succeeds.
  const repository = new GenerationRepository(api.db.prisma);
  const key = `generations/${api.tenantA.id}/${id}.wav`;
  await api.s3.putObject(key, bytes);
  await queue.remove(id);
  await repository.markRunning(id, { workerId: 'test-worker', modelName: 'chorus-tiny', modelVersion: 'test' });
  await repository.markSucceeded(id, { outputKey: key, outputBytes: bytes.length, outputSeconds: 1, sampleRate: 44100, channels: 2, inferenceMs: 1, encodeMs: 1, uploadMs: 1 });
});

afterAll(async () => {
  await queue?.close();
});

const audioRoute = (query = '') => fetch(`${api.url}/v1/generations/${id}/audio${query}`, { headers: api.auth(api.tenantA), redirect: 'manual' });

describe('GET /v1/generations/:id/audio?download=1', () => {
  it('redirects to a URL whose answer is an attachment named <id>.<format>, with the file’s bytes', async () => {
    const response = await audioRoute('?download=1');
    expect(response.status).toBe(302);
    const object = await fetch(response.headers.get('location')!);
    expect(object.status).toBe(200);
    expect(object.headers.get('content-disposition')).toBe(`attachment; filename="${id}.wav"`);
    expect(new Uint8Array(await object.arrayBuffer())).toEqual(bytes);
  });

  it('still redirects to a URL the browser plays (no attachment) without download=1', async () => {
    for (const query of ['', '?download=0']) {
      const response = await audioRoute(query);
      expect(response.status, query).toBe(302);
      const object = await fetch(response.headers.get('location')!);
      expect(object.headers.get('content-disposition'), query).toBeNull();
    }
  });

  it('refuses any other download value with a 400 that says what is allowed', async () => {
    const response = await audioRoute('?download=yes');
    expect(response.status).toBe(400);
    const problem = (await response.json()) as { code: string; detail: string; errors: Array<{ field: string; message: string }> };
    expect(problem.code).toBe('validation_error');
    expect(problem.errors).toEqual([{ field: 'download', message: 'must be 1 (save as a file) or 0 (play), got "yes"' }]);
  });
});

describe('the generation resource', () => {
  it('gives audio.download_url beside audio.url: the same bytes, as an attachment', async () => {
    const { audio } = await api.tenantA.client.getGeneration(id);
    const download = await fetch(audio!.download_url);
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="${id}.wav"`);
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(bytes);
    const play = await fetch(audio!.url);
    expect(play.headers.get('content-disposition')).toBeNull();
  });
});
