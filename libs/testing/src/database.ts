/**
 * A fresh, migrated Postgres database for a test file or a benchmark, dropped afterwards:
 * `const db = await createTestDatabase('x'); … await db.drop();` (tests usually call
 * test/support/database.ts's `useTestDatabase`, which wraps this in beforeAll/afterAll).
 *
 * The server comes from TEST_DATABASE_URL (any database on it; only host, port and credentials
 * are used), else postgresql://postgres@127.0.0.1:5432. Names are `chorus_test_<label>_<random>`.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DEFAULT_DATABASE_URL } from '@chorus/contracts';
import { createPrismaClient, migrate, type PrismaClient } from '@chorus/db';

export interface TestDatabase {
  /** Connection URL of the new database: pass it as DATABASE_URL to anything under test. */
  url: string;
  name: string;
  /** A Prisma client connected to it (disconnected by drop()). */
  prisma: PrismaClient;
  drop(): Promise<void>;
}

export function testServerUrl(): string {
  return process.env.TEST_DATABASE_URL || DEFAULT_DATABASE_URL;
}

export async function createTestDatabase(label = 'db', server = testServerUrl()): Promise<TestDatabase> {
  const name = `chorus_test_${label.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const url = new URL(server);
  url.pathname = `/${name}`;
  await migrate(url.toString());
  const prisma = createPrismaClient(url.toString(), { maxConnections: 5 });
  return {
    url: url.toString(),
    name,
    prisma,
    async drop() {
      await prisma.$disconnect();
      await dropDatabase(url.toString());
    },
  };
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    // FORCE ends connections that a test left open (a worker under test, say) instead of failing.
    await admin.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
