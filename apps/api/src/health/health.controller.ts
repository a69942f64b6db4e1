import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheckService, type HealthCheckResult, type HealthIndicatorFunction } from '@nestjs/terminus';
import { healthAnswer } from '@chorus/health';
import type { Response } from 'express';
import { ApiProbes } from './api-probes';
import { HttpDrain } from './http-drain';

/**
 * Kubernetes probes. Live: the process answers HTTP (a restart would not help otherwise).
 * Ready: Postgres, Redis and S3 answer and the API is not shutting down.
 */
@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly probes: ApiProbes,
    private readonly drain: HttpDrain,
  ) {}

  @Get('live')
  live(@Res({ passthrough: true }) response: Response): Promise<HealthCheckResult> {
    return this.answer(response, []);
  }

  @Get('ready')
  ready(@Res({ passthrough: true }) response: Response): Promise<HealthCheckResult> {
    return this.answer(response, [
      async () => (this.drain.isDraining ? { shutdown: { status: 'down', message: 'draining for shutdown' } } : { shutdown: { status: 'up' } }),
      () => this.probes.postgres(),
      () => this.probes.redis(),
      () => this.probes.s3(),
    ]);
  }

  /** Terminus signals "down" with a 503 exception; answer it here as terminus's JSON, not a problem document. */
  private async answer(response: Response, checks: HealthIndicatorFunction[]): Promise<HealthCheckResult> {
    response.setHeader('Cache-Control', 'no-store');
    const { status, result } = await healthAnswer(this.health, checks);
    response.status(status);
    return result;
  }
}
