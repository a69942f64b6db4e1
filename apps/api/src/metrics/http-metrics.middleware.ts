import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { ApiMetrics } from './api-metrics';

/** Requests that matched no route share one label, so scanners cannot blow up the series count. */
export const UNMATCHED_ROUTE = '(unmatched)';

/** Counts and times every HTTP request by the route pattern it matched (`/v1/generations/:id`). */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: ApiMetrics) {}

  use(request: Request, response: Response, next: NextFunction): void {
    const stopTimer = this.metrics.httpDuration.startTimer();
    // `close` also fires when the client goes away mid-response (an SSE stream ending).
    response.once('close', () => {
      const labels = { method: request.method, route: routeOf(request), status: String(response.statusCode) };
      stopTimer(labels);
      this.metrics.httpRequests.inc(labels);
    });
    next();
  }
}

function routeOf(request: Request): string {
  const pattern = request.route?.path as string | undefined;
  return pattern ? `${request.baseUrl}${pattern}` : UNMATCHED_ROUTE;
}
