import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { farmStatsSchema, type FarmStats } from '@chorus/contracts';
import { CurrentTenant, type AuthenticatedTenant } from '../auth/authenticated-tenant';
import { TenantRoutes, openApiSchema } from '../openapi';
import { StatsService } from './stats.service';

@ApiTags('stats')
@TenantRoutes()
@Controller('v1/stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get()
  @ApiOperation({
    summary: "The farm's health",
    description:
      'Generations queued and running, and the last hour of finished ones in one-minute buckets (counts by status, ' +
      'p50/p95 submit-to-finish time). With a tenant\'s key: its own generations, `scope: "tenant"`, `queue` and `workers` null. ' +
      'With an operator\'s key (`chorus tenants create NAME --operator`): every tenant\'s, plus queue depth by state and ' +
      'the workers with their last heartbeat, `scope: "farm"`.',
  })
  @ApiOkResponse({ schema: openApiSchema(farmStatsSchema) })
  get(@CurrentTenant() tenant: AuthenticatedTenant): Promise<FarmStats> {
    return this.stats.farmStats(tenant.operator ? { scope: 'farm' } : { scope: 'tenant', tenantId: tenant.id });
  }
}
