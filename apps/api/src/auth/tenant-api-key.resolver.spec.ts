import type { Tenant, TenantRepository } from '@chorus/db';
import { describe, expect, it } from 'vitest';
import { TenantApiKeyResolver } from './tenant-api-key.resolver';

const TTL_MS = 5_000;

/** The keys table, faked: keys can be revoked and limits changed, and every lookup is counted. */
class FakeTenants {
  readonly tenants = new Map<string, Tenant>();
  readonly revoked = new Set<string>();
  lookups = 0;

  add(key: string, id: string): Tenant {
    const tenant = { id, name: `tenant-${id}`, defaultPriority: 5, requestsPerMinute: null, maxConcurrent: null, audioSecondsPerDay: null, operator: false } as unknown as Tenant;
    this.tenants.set(key, tenant);
    return tenant;
  }

  async findByApiKey(key: string): Promise<Tenant | null> {
    this.lookups += 1;
    await Promise.resolve();
    return this.revoked.has(key) ? null : (this.tenants.get(key) ?? null);
  }
}

function resolverWith(ttlMs = TTL_MS) {
  const tenants = new FakeTenants();
  // Not 0: lru-cache takes a start time of 0 for "no TTL".
  const clock = { ms: 1_000, now: () => clock.ms };
  const resolver = new TenantApiKeyResolver(tenants as unknown as TenantRepository, { ttlMs, clock });
  return { tenants, clock, resolver };
}

describe('TenantApiKeyResolver', () => {
  it('looks a live key up once within the TTL, and again after it', async () => {
    const { tenants, clock, resolver } = resolverWith();
    tenants.add('chorus_a', 'a');

    expect(await resolver.resolve('chorus_a')).toMatchObject({ id: 'a' });
    clock.ms += TTL_MS - 1;
    expect(await resolver.resolve('chorus_a')).toMatchObject({ id: 'a' });
    expect(tenants.lookups).toBe(1);

    clock.ms += 2;
    expect(await resolver.resolve('chorus_a')).toMatchObject({ id: 'a' });
    expect(tenants.lookups).toBe(2);
  });

  it('refuses a revoked key once the TTL has passed', async () => {
    const { tenants, clock, resolver } = resolverWith();
    tenants.add('chorus_a', 'a');
    await resolver.resolve('chorus_a');

    tenants.revoked.add('chorus_a');
    clock.ms += TTL_MS + 1;

    expect(await resolver.resolve('chorus_a')).toBeNull();
  });

  it('sees changed limits once the TTL has passed', async () => {
    const { tenants, clock, resolver } = resolverWith();
    const tenant = tenants.add('chorus_a', 'a');
    await resolver.resolve('chorus_a');

    tenant.requestsPerMinute = 60;
    clock.ms += TTL_MS + 1;

    expect((await resolver.resolve('chorus_a'))?.limits).toMatchObject({ requestsPerMinute: 60 });
  });

  it('never remembers an unknown key, so a key created a moment later works at once', async () => {
    const { tenants, resolver } = resolverWith();

    expect(await resolver.resolve('chorus_new')).toBeNull();
    tenants.add('chorus_new', 'n');

    expect(await resolver.resolve('chorus_new')).toMatchObject({ id: 'n' });
    expect(tenants.lookups).toBe(2);
  });

  it("keeps each key's own tenant", async () => {
    const { tenants, resolver } = resolverWith();
    tenants.add('chorus_a', 'a');
    tenants.add('chorus_b', 'b');

    const answers = await Promise.all(['chorus_a', 'chorus_b', 'chorus_a', 'chorus_b'].map((key) => resolver.resolve(key)));

    expect(answers.map((tenant) => tenant?.id)).toEqual(['a', 'b', 'a', 'b']);
  });

  it('shares one lookup between concurrent requests with the same key', async () => {
    const { tenants, resolver } = resolverWith();
    tenants.add('chorus_a', 'a');

    await Promise.all(Array.from({ length: 20 }, () => resolver.resolve('chorus_a')));

    expect(tenants.lookups).toBe(1);
  });

  it('asks on every request with a TTL of 0', async () => {
    const { tenants, resolver } = resolverWith(0);
    tenants.add('chorus_a', 'a');
    await resolver.resolve('chorus_a');
    tenants.revoked.add('chorus_a');

    expect(await resolver.resolve('chorus_a')).toBeNull();
    expect(tenants.lookups).toBe(2);
  });

  it('hands out a tenant that cannot be changed by the request that holds it', async () => {
    const { tenants, resolver } = resolverWith();
    tenants.add('chorus_a', 'a');

    const tenant = await resolver.resolve('chorus_a');

    expect(Object.isFrozen(tenant)).toBe(true);
    expect(Object.isFrozen(tenant?.limits)).toBe(true);
  });
});
