import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listObjectKeys, startTestS3, type TestS3 } from '@chorus/testing';

// The fault and load tests count objects with listObjectKeys; past 1,000 keys that needs a second page.
let s3: TestS3;

beforeAll(async () => {
  s3 = await startTestS3();
});

afterAll(async () => {
  await s3?.close();
});

describe('listObjectKeys', () => {
  it('returns every key when there are more than one page (1,000) of them, each once', async () => {
    const written = Array.from({ length: 1_203 }, (_, i) => `generations/${String(i).padStart(5, '0')}.wav`);
    for (let i = 0; i < written.length; i += 50) {
      await Promise.all(written.slice(i, i + 50).map((key) => s3.putObject(key, Uint8Array.of(1))));
    }
    await s3.putObject('other/not-listed.wav', Uint8Array.of(1));
    const keys = await listObjectKeys(s3);
    expect(keys).toHaveLength(written.length);
    expect(new Set(keys)).toEqual(new Set(written));
  }, 120_000);
});
