import type { RequestHandler, Request, Response } from 'express';
import { match } from 'path-to-regexp';
import { ApiMetrics } from './api-metrics';

/** Requests that matched no route share one label, so scanners cannot blow up the series count. */
export const UNMATCHED_ROUTE = '(unmatched)';

/** The parts of an Express route layer the label lookup reads. */
export interface RouteLayer {
  route?: { path: string; _handlesMethod(method: string): boolean };
}

/**
 * Counts and times every HTTP request by the route pattern it was sent to (`/v1/generations/:id`).
 * Mounted first, before the body parsers, so that a 413 or an invalid-JSON 400 (answered before
 * routing) and a 404 count too. A catch-all pattern (`/{*path}`, the dashboard's) is no API route,
 * so what only it matched counts as `(unmatched)`.
 */
export function httpMetrics(metrics: ApiMetrics, routes: () => RouteLayer[]): RequestHandler {
  const patterns = new RoutePatterns(routes);
  return (request: Request, response: Response, next) => {
    const stopTimer = metrics.httpDuration.startTimer();
    // `close` also fires when the client goes away mid-response (an SSE stream ending).
    response.once('close', () => {
      const labels = { method: request.method, route: patterns.routeOf(request), status: String(response.statusCode) };
      stopTimer(labels);
      metrics.httpRequests.inc(labels);
    });
    next();
  };
}

class RoutePatterns {
  private compiled?: { pattern: string; layer: RouteLayer; matches: (path: string) => boolean }[];

  constructor(private readonly routes: () => RouteLayer[]) {}

  routeOf(request: Request): string {
    const reached = request.route?.path as string | undefined;
    if (reached && !isCatchAll(reached)) return `${request.baseUrl}${reached}`;
    // Answered before routing (a body the parser refused): the route it was sent to, if any.
    const path = request.originalUrl.split('?')[0];
    for (const { pattern, layer, matches } of this.patterns()) {
      if (layer.route?._handlesMethod(request.method) && matches(path)) return pattern;
    }
    return UNMATCHED_ROUTE;
  }

  /** Read from the router once routes exist (the first request), and kept. */
  private patterns() {
    this.compiled ??= this.routes()
      .filter((layer) => layer.route && !isCatchAll(layer.route.path))
      .map((layer) => {
        const test = match(layer.route!.path, { decode: false });
        return { pattern: layer.route!.path, layer, matches: (path: string) => test(path) !== false };
      });
    return this.compiled;
  }
}

function isCatchAll(pattern: string): boolean {
  return pattern.includes('{*') || pattern.includes('*');
}
