/**
 * Audio is reached through presigned URLs that expire: the API's redirect signs for
 * AUDIO_URL_TTL_SECONDS (2 s here), the URL works at once and is refused once it has expired.
 * (s3rver checks the expiry of presigned URLs, though not their signatures; a real S3 checks both.)
 */
import { generationObjectKey } from '@chorus/storage';
import { GenerationRepository } from '@chorus/db';
import { describe, expect, it } from 'vitest';
import { useApi } from '../api/api-under-test';
import { sleep } from '@chorus/testing';

const api = useApi('presigned', { AUDIO_URL_TTL_SECONDS: '2' });

describe('presigned audio URLs', () => {
  it('work right away and are refused after they expire', async () => {
    const generation = await api.tenantA.client.createGeneration({ prompt: 'bells', seconds_total: 1, steps: 1, seed: 3 });
    const repository = new GenerationRepository(api.db.prisma);
    await repository.markRunning(generation.id, { workerId: 'presign-worker', modelName: 'chorus-tiny', modelVersion: 'test' });
    const key = generationObjectKey(api.tenantA.id, generation.id, 'wav');
    const bytes = new Uint8Array([82, 73, 70, 70, 1, 2, 3, 4]);
    await api.s3.putObject(key, bytes);
    await repository.markSucceeded(generation.id, {
      outputKey: key,
      outputBytes: bytes.length,
      outputSeconds: 1,
      sampleRate: 44_100,
      channels: 2,
      inferenceMs: 1,
      encodeMs: 1,
      uploadMs: 1,
    });

    const redirect = await fetch(`${api.url}/v1/generations/${generation.id}/audio`, { headers: api.auth(api.tenantA), redirect: 'manual' });
    expect(redirect.status).toBe(302);
    const url = new URL(redirect.headers.get('location')!);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('2');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);

    const fresh = await fetch(url);
    expect(fresh.status).toBe(200);
    expect(new Uint8Array(await fresh.arrayBuffer())).toEqual(bytes);

    await sleep(3_500);
    const stale = await fetch(url);
    expect(stale.status).toBe(403);
    expect(await stale.text()).toMatch(/expired/i);

    // The resource's own audio.url and audio.download_url, and the ?download=1 redirect, are just as short-lived.
    const resource = await api.tenantA.client.getGeneration(generation.id);
    expect(new URL(resource.audio!.url).searchParams.get('X-Amz-Expires')).toBe('2');
    expect(new URL(resource.audio!.download_url).searchParams.get('X-Amz-Expires')).toBe('2');
    const download = await fetch(`${api.url}/v1/generations/${generation.id}/audio?download=1`, { headers: api.auth(api.tenantA), redirect: 'manual' });
    expect(new URL(download.headers.get('location')!).searchParams.get('X-Amz-Expires')).toBe('2');
  });
});
