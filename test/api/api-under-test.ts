/**
 * The API started in-process against real services: a fresh migrated Postgres database, a unique
 * BullMQ prefix on the local Redis, and an s3rver. Two tenants are created, each with a key.
 *
 *   const api = useApi('generations');   // registers beforeAll/afterAll
 *   it('…', async () => { await fetch(`${api.url}/v1/models`, { headers: api.auth(api.tenantA) }) });
 */
import { Writable } from 'node:stream';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ChorusClient } from '@chorus/client';
import { TenantRepository } from '@chorus/db';
import { afterAll, beforeAll } from 'vitest';
import { createApiApp } from '../../apps/api/src/app';
import { loadApiConfig, type ApiConfig } from '../../apps/api/src/config/api-config';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createTestQueueConnection, deletePrefix } from '../support/redis';
import { startTestS3, type TestS3 } from '@chorus/testing';

export interface TestTenant {
  id: string;
  name: string;
  apiKey: string;
  client: ChorusClient;
}

export interface ApiUnderTest {
  url: string;
  config: ApiConfig;
  app: NestExpressApplication;
  db: TestDatabase;
  s3: TestS3;
  tenantA: TestTenant;
  tenantB: TestTenant;
  /** Every JSON log line the API wrote so far. */
  logLines: string[];
  /** `{ authorization: 'Bearer …' }` for a tenant. */
  auth(tenant: TestTenant): Record<string, string>;
  close(): Promise<void>;
}

export async function startApi(label: string, env: NodeJS.ProcessEnv = {}): Promise<ApiUnderTest> {
  const db = await createTestDatabase(`api_${label}`);
  const s3 = await startTestS3();
  const queues = createTestQueueConnection(`api-${label}`);
  const config = loadApiConfig({
    DATABASE_URL: db.url,
    REDIS_URL: queues.redisUrl,
    BULLMQ_PREFIX: queues.prefix,
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: s3.bucket,
    S3_REGION: s3.region,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    PORT: '0',
    LOG_LEVEL: 'debug',
    ...env,
  });
  const logLines: string[] = [];
  const logDestination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const app = await createApiApp(config, { logDestination });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;

  const tenants = new TenantRepository(db.prisma);
  const makeTenant = async (name: string): Promise<TestTenant> => {
    const { tenant, apiKey } = await tenants.create({ name });
    return { id: tenant.id, name, apiKey: apiKey.key, client: new ChorusClient({ baseUrl: url, apiKey: apiKey.key }) };
  };
  const tenantA = await makeTenant('tenant-a');
  const tenantB = await makeTenant('tenant-b');

  return {
    url,
    config,
    app,
    db,
    s3,
    tenantA,
    tenantB,
    logLines,
    auth: (tenant) => ({ authorization: `Bearer ${tenant.apiKey}` }),
    async close() {
      await app.close();
      await deletePrefix(queues);
      await s3.close();
      await db.drop();
    },
  };
}

/** Registers hooks that start the API before the file's tests and stop it after. */
export function useApi(label: string, env?: NodeJS.ProcessEnv): ApiUnderTest {
  const handle = {} as ApiUnderTest;
  beforeAll(async () => {
    Object.assign(handle, await startApi(label, env));
  });
  afterAll(async () => {
    await handle.close?.();
  });
  return handle;
}

