import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generationObjectKey, ObjectStore } from '@chorus/storage';
import { freePort, startTestS3, type TestS3 } from '@chorus/testing';

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(() => s3?.close());

function storeFor(server: { endpoint: string }, bucket: string, extra: Partial<ConstructorParameters<typeof ObjectStore>[0]> = {}) {
  return new ObjectStore({
    endpoint: server.endpoint,
    region: 'us-east-1',
    bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    forcePathStyle: true,
    ...extra,
  });
}

describe('ObjectStore', () => {
  it('names generation objects generations/<tenant>/<id>.<ext>', () => {
    expect(generationObjectKey('t1', 'g1', 'flac')).toBe('generations/t1/g1.flac');
  });

  it('uploads an object that head() then reports with its size and type', async () => {
    const bytes = randomBytes(1000);
    await s3.store.put('generations/t/small.wav', bytes, 'audio/wav');
    expect(await s3.store.head('generations/t/small.wav')).toEqual({ bytes: 1000, contentType: 'audio/wav' });
    expect(await s3.store.getBytes('generations/t/small.wav')).toEqual(bytes);
  });

  it('answers null from head() for an object that does not exist', async () => {
    expect(await s3.store.head('generations/t/missing.wav')).toBeNull();
  });

  it('uploads a large object in parts and reads back the same bytes', async () => {
    const bytes = randomBytes(11 * 1024 * 1024 + 17);
    const store = storeFor(s3, s3.bucket, { multipartPartBytes: 5 * 1024 * 1024 });
    await store.put('generations/t/large.wav', bytes, 'audio/wav');
    expect((await store.head('generations/t/large.wav'))?.bytes).toBe(bytes.length);
    expect((await store.getBytes('generations/t/large.wav')).equals(bytes)).toBe(true);
    store.close();
  });

  it('gives a presigned URL that downloads the object without credentials and expires in 15 minutes', async () => {
    const bytes = randomBytes(4096);
    await s3.store.put('generations/t/presigned.mp3', bytes, 'audio/mpeg');
    const url = await s3.store.presignedGetUrl('generations/t/presigned.mp3');
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('900');
    expect(new URL(url).pathname).toBe(`/${s3.bucket}/generations/t/presigned.mp3`);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(bytes);
  });

  it('creates a missing bucket, and checkBucket() fails before and passes after', async () => {
    const store = storeFor(s3, 'fresh-bucket');
    await expect(store.checkBucket()).rejects.toThrow();
    await store.ensureBucket();
    await store.ensureBucket();
    await expect(store.checkBucket()).resolves.toBeUndefined();
    store.close();
  });

  it('retries an upload while the store is unreachable and succeeds once it comes up', async () => {
    const port = await freePort();
    const store = storeFor({ endpoint: `http://127.0.0.1:${port}` }, 'late-bucket', { uploadAttempts: 6, uploadBackoffMs: 100 });
    const upload = store.put('generations/t/late.wav', randomBytes(100));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const late = await startTestS3({ bucket: 'late-bucket', port });
    try {
      await expect(upload).resolves.toEqual({ bytes: 100, contentType: undefined });
      expect((await late.store.head('generations/t/late.wav'))?.bytes).toBe(100);
    } finally {
      store.close();
      await late.close();
    }
  });
});
