import { Injectable } from '@nestjs/common';
import { TenantRepository } from '@chorus/db';
import { ApiKeyResolver, type AuthenticatedTenant } from './authenticated-tenant';

/** API keys are looked up by their sha256 hash in Postgres (see TenantRepository). */
@Injectable()
export class TenantApiKeyResolver extends ApiKeyResolver {
  constructor(private readonly tenants: TenantRepository) {
    super();
  }

  async resolve(apiKey: string): Promise<AuthenticatedTenant | null> {
    const tenant = await this.tenants.findByApiKey(apiKey);
    if (!tenant) return null;
    const { requestsPerMinute, maxConcurrent, audioSecondsPerDay } = tenant;
    return {
      id: tenant.id,
      name: tenant.name,
      defaultPriority: tenant.defaultPriority,
      limits: { requestsPerMinute, maxConcurrent, audioSecondsPerDay },
      operator: tenant.operator,
    };
  }
}
