import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { farmStatsSchema, type FarmStats } from '@chorus/contracts';
import { openApiSchema } from '../openapi';
import { StatsService } from './stats.service';

@ApiTags('stats')
@ApiBearerAuth()
@Controller('v1/stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get()
  @ApiOperation({
    summary: "The farm's health",
    description:
      'Queue depth by state, workers with their last heartbeat, and the last hour of finished generations in one-minute buckets ' +
      '(counts by status, p50/p95 submit-to-finish time). Farm-wide: every tenant shares the queue and the workers.',
  })
  @ApiOkResponse({ schema: openApiSchema(farmStatsSchema) })
  get(): Promise<FarmStats> {
    return this.stats.farmStats();
  }
}
