import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheckService, type HealthCheckResult, type HealthIndicatorFunction } from '@nestjs/terminus';
import type { Response } from 'express';
import { DependencyProbes } from './dependency-probes';
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
    private readonly probes: DependencyProbes,
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
    try {
      return await this.health.check(checks);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      response.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }
}
