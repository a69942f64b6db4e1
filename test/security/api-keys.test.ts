/**
 * API keys are stored only as sha256 hashes — the key appears nowhere in the database — and the
 * hash is compared with crypto.timingSafeEqual on the path every key lookup takes (the API then
 * keeps a live key's tenant in memory for a few seconds, under the hash).
 */
import { createHash } from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { TenantRepository } from '@chorus/db';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { useApi } from '../api/api-under-test';

// The CommonJS face of node:crypto; after syncBuiltinESMExports() the ESM named export that
// TenantRepository imports is the same (spied) function.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cryptoModule = require('node:crypto') as typeof import('node:crypto');

const api = useApi('api_keys');

function spyOnTimingSafeEqual() {
  const original = cryptoModule.timingSafeEqual;
  const calls: [Buffer, Buffer][] = [];
  cryptoModule.timingSafeEqual = (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
    calls.push([Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)]);
    return original(a, b);
  };
  syncBuiltinESMExports();
  return {
    calls,
    restore() {
      cryptoModule.timingSafeEqual = original;
      syncBuiltinESMExports();
    },
  };
}

afterEach(() => vi.restoreAllMocks());

describe('API keys at rest', () => {
  it('stores the sha256 hash and a short display prefix, never the key', async () => {
    const key = api.tenantA.apiKey;
    const rows = await api.db.prisma.apiKey.findMany({ where: { tenantId: api.tenantA.id } });
    expect(rows).toHaveLength(1);
    expect(rows[0].keyHash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(key.startsWith(rows[0].prefix)).toBe(true);
    expect(rows[0].prefix.length).toBeLessThan(16);
  });

  it('appears in no column of any table', async () => {
    const tables = await api.db.prisma.$queryRaw<{ table_name: string }[]>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`;
    expect(tables.length).toBeGreaterThan(3);
    const secretPart = api.tenantA.apiKey.slice(16);
    for (const { table_name } of tables) {
      const hits = await api.db.prisma.$queryRawUnsafe<{ n: bigint }[]>(
        `SELECT count(*) AS n FROM "${table_name.replace(/"/g, '""')}" t WHERE row_to_json(t)::text LIKE '%' || $1 || '%'`,
        secretPart,
      );
      expect(Number(hits[0].n), table_name).toBe(0);
    }
  });
});

describe('API key comparison', () => {
  it('compares the stored hash with timingSafeEqual when a request authenticates', async () => {
    const spy = spyOnTimingSafeEqual();
    try {
      const response = await fetch(`${api.url}/v1/generations?limit=1`, { headers: api.auth(api.tenantA) });
      expect(response.status).toBe(200);
      const hash = Buffer.from(createHash('sha256').update(api.tenantA.apiKey).digest('hex'), 'hex');
      expect(spy.calls.some(([a, b]) => a.equals(hash) && b.equals(hash))).toBe(true);
    } finally {
      spy.restore();
    }
  });

  it('decides on a wrong key without comparing key characters (lookup by hash, then constant time)', async () => {
    const spy = spyOnTimingSafeEqual();
    try {
      const tenants = new TenantRepository(api.db.prisma);
      // Same prefix and length as a real key, one character off: the hashes share nothing.
      const key = api.tenantA.apiKey;
      const almost = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
      expect(await tenants.findByApiKey(almost)).toBeNull();
      expect(await tenants.findByApiKey(key)).toMatchObject({ id: api.tenantA.id });
      // Only the matching key reached a comparison, and that one was constant-time over 32 bytes.
      expect(spy.calls.map(([a, b]) => [a.length, b.length])).toEqual([[32, 32]]);
    } finally {
      spy.restore();
    }
  });

  it('answers a wrong key and a revoked key with the same 401', async () => {
    const tenants = new TenantRepository(api.db.prisma);
    const extra = await tenants.createApiKey(api.tenantB.id);
    expect(await tenants.revokeApiKey(api.tenantB.id, extra.id)).toBe(true);
    const answers = [];
    for (const key of [extra.key, `${extra.key.slice(0, -2)}xx`, 'not-even-a-chorus-key']) {
      const response = await fetch(`${api.url}/v1/generations`, { headers: { authorization: `Bearer ${key}` } });
      answers.push({ status: response.status, body: await response.text() });
    }
    expect(answers.map((answer) => answer.status)).toEqual([401, 401, 401]);
    expect(new Set(answers.map((answer) => answer.body)).size).toBe(1);
  });
});
