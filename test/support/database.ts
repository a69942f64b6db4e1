/**
 * A fresh, migrated Postgres database for one test file, dropped afterwards (the database itself
 * comes from @chorus/testing, which the benchmarks share).
 *
 *   import { useTestDatabase } from '../support/database';
 *   const db = useTestDatabase('generations');   // registers beforeAll/afterAll
 *   it('…', async () => { await db.prisma.tenant.count(); db.url; });
 *
 * or, to control the lifetime yourself: `const db = await createTestDatabase('x'); … await db.drop();`
 */
import { afterAll, beforeAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@chorus/testing';

export { createTestDatabase, dropDatabase, testServerUrl, type TestDatabase } from '@chorus/testing';

/**
 * Registers beforeAll/afterAll hooks for a fresh database. The returned object's fields are filled
 * in by beforeAll, so read them inside tests and hooks, not at module load.
 */
export function useTestDatabase(label?: string): TestDatabase {
  const handle = {} as TestDatabase;
  beforeAll(async () => {
    Object.assign(handle, await createTestDatabase(label));
  });
  afterAll(async () => {
    await handle.drop?.();
  });
  return handle;
}
