/**
 * An S3-compatible server (s3rver) for one test file, in-process on a free port with a temporary
 * directory and one bucket. s3rver speaks the protocol but does not check signatures.
 *
 *   const s3 = await startTestS3();   // s3.endpoint, s3.bucket, s3.env (S3_* variables)
 *   … await s3.close();
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ListObjectsCommand } from '@aws-sdk/client-s3';
import { ObjectStore } from '@chorus/storage';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
};

export interface TestS3 {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The same, as the environment variables the apps read. */
  env: Record<string, string>;
  /** An ObjectStore on the bucket, for assertions. */
  store: ObjectStore;
  putObject(key: string, bytes: Uint8Array): Promise<void>;
  getObject(key: string): Promise<Buffer>;
  close(): Promise<void>;
}

export async function startTestS3(options: { bucket?: string; port?: number } = {}): Promise<TestS3> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'chorus-s3-'));
  const bucket = options.bucket ?? 'chorus-test';
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    directory,
    silent: true,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const store = new ObjectStore({ endpoint, region: 'us-east-1', bucket, forcePathStyle: true, ...credentials });
  return {
    endpoint,
    region: 'us-east-1',
    bucket,
    ...credentials,
    env: {
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    },
    store,
    async putObject(key, bytes) {
      await store.put(key, bytes);
    },
    getObject: (key) => store.getBytes(key),
    async close() {
      store.close();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * Every key under the prefix, a page of up to 1,000 at a time. This uses ListObjects (v1) with a Marker,
 * not V2: s3rver makes its V2 continuation tokens with DES, which the OpenSSL 3 in Node 20 lacks. So past
 * 1,000 objects, V2 answers InternalError. Real S3 serves both.
 */
export async function listObjectKeys(s3: TestS3, prefix = 'generations/'): Promise<string[]> {
  const keys: string[] = [];
  let marker: string | undefined;
  do {
    const page = await s3.store.client.send(new ListObjectsCommand({ Bucket: s3.bucket, Prefix: prefix, Marker: marker }));
    keys.push(...(page.Contents ?? []).map((object) => object.Key!));
    marker = page.IsTruncated ? keys.at(-1) : undefined;
  } while (marker);
  return keys;
}
