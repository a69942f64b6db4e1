import { ServiceUnavailableException } from '@nestjs/common';
import type { HealthCheckResult, HealthCheckService, HealthIndicatorFunction } from '@nestjs/terminus';

/** Terminus's JSON and the HTTP status to answer it with: terminus signals "down" by throwing a 503. */
export async function healthAnswer(health: HealthCheckService, checks: HealthIndicatorFunction[]): Promise<{ status: 200 | 503; result: HealthCheckResult }> {
  try {
    return { status: 200, result: await health.check(checks) };
  } catch (error) {
    if (!(error instanceof ServiceUnavailableException)) throw error;
    return { status: 503, result: error.getResponse() as HealthCheckResult };
  }
}
