import { hashApiKey, TenantRepository } from '@chorus/db';
import { LRUCache } from 'lru-cache';
import { ApiKeyResolver, type AuthenticatedTenant } from './authenticated-tenant';

/** Keys remembered at once; beyond this the least recently used is looked up again. */
const MAX_CACHED_KEYS = 10_000;

export interface ApiKeyCacheOptions {
  /**
   * How long an answer "this key belongs to that tenant" is reused before Postgres is asked again;
   * 0 asks on every request. A revoked key, or a tenant's changed limits, take effect within it.
   */
  ttlMs: number;
  /** Milliseconds for the cache's expiry (tests move it by hand); performance.now by default. */
  clock?: { now(): number };
}

/**
 * API keys are looked up by their sha256 hash in Postgres (see TenantRepository). Every request
 * carries one, so a live key's tenant is kept in memory for a few seconds, under the key's hash.
 * Unknown and revoked keys are never remembered: a key created a moment ago works at once.
 */
export class TenantApiKeyResolver extends ApiKeyResolver {
  private readonly cache: LRUCache<string, AuthenticatedTenant, string> | null;

  constructor(
    private readonly tenants: TenantRepository,
    options: ApiKeyCacheOptions,
  ) {
    super();
    this.cache =
      options.ttlMs > 0
        ? new LRUCache<string, AuthenticatedTenant, string>({
            max: MAX_CACHED_KEYS,
            ttl: options.ttlMs,
            ttlResolution: 0,
            perf: options.clock,
            // Resolving to undefined caches nothing; concurrent requests with one key share one lookup.
            fetchMethod: async (_hash, _stale, { context: apiKey }) => (await this.lookUp(apiKey)) ?? undefined,
          })
        : null;
  }

  async resolve(apiKey: string): Promise<AuthenticatedTenant | null> {
    if (!this.cache) return this.lookUp(apiKey);
    return (await this.cache.fetch(hashApiKey(apiKey), { context: apiKey })) ?? null;
  }

  private async lookUp(apiKey: string): Promise<AuthenticatedTenant | null> {
    const tenant = await this.tenants.findByApiKey(apiKey);
    if (!tenant) return null;
    const { requestsPerMinute, maxConcurrent, audioSecondsPerDay } = tenant;
    // Frozen: one cached object is shared by every request with this key.
    return Object.freeze({
      id: tenant.id,
      name: tenant.name,
      defaultPriority: tenant.defaultPriority,
      limits: Object.freeze({ requestsPerMinute, maxConcurrent, audioSecondsPerDay }),
      operator: tenant.operator,
    });
  }
}
