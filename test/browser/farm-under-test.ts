/**
 * The farm as the dashboard meets it: the API (serving the dashboard build) and one worker, as
 * processes from dist/ (the shared harness in @chorus/testing), with an s3rver bucket that lets
 * browsers read audio cross-origin, as a real bucket behind the dashboard must (CORS).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PutBucketCorsCommand } from '@aws-sdk/client-s3';
import type { ChorusClient } from '@chorus/client';
import { WorkerRepository } from '@chorus/db';
import { eventually, ROOT, startFarmProcesses, type TestDatabase, type TestS3 } from '@chorus/testing';

const DASHBOARD_INDEX = path.join(ROOT, 'apps/dashboard/dist/index.html');

export interface FarmUnderTest {
  url: string;
  apiKey: string;
  client: ChorusClient;
  db: TestDatabase;
  workerId: string;
  /** The last lines each process wrote, for failure messages. */
  logs(): string;
  close(): Promise<void>;
}

export async function startFarm(label: string): Promise<FarmUnderTest> {
  if (!existsSync(DASHBOARD_INDEX)) throw new Error(`${DASHBOARD_INDEX} is missing: run \`npm run build\` first (npm test does)`);
  const farm = await startFarmProcesses(label);
  try {
    await allowBrowserReads(farm.s3);
    // A key revoked mid-session must be refused by the very next request, not after the key cache's TTL.
    await farm.startApi({ API_KEY_CACHE_TTL_MS: '0' });
    const workerId = `${label}-worker-1`;
    await farm.startWorker(workerId);
    // The internal team operates the farm: its key sees the Farm view's queue and workers.
    const { apiKey, client } = await farm.createTenant(`${label}-team`, { operator: true });
    const workers = new WorkerRepository(farm.db!.prisma);
    await eventually('a worker heartbeat', async () => (await workers.listAlive(30_000)).length > 0, 120_000, 250, farm.describe);
    return { url: farm.apiUrl!, apiKey, client, db: farm.db!, workerId, logs: farm.describe, close: () => farm.close() };
  } catch (error) {
    const output = farm.describe();
    await farm.close();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${output}`);
  }
}

/** The dashboard fetches audio from a presigned URL on another origin; the bucket must allow it. */
async function allowBrowserReads(s3: TestS3): Promise<void> {
  await s3.store.client.send(
    new PutBucketCorsCommand({
      Bucket: s3.bucket,
      CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['*'], AllowedMethods: ['GET', 'HEAD'], AllowedHeaders: ['*'], MaxAgeSeconds: 3000 }] },
    }),
  );
}
