import fs from 'node:fs';
import path from 'node:path';
import { type DynamicModule, Inject, Logger, type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import compression from 'compression';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';

/** Paths the API owns; the dashboard never answers under them, not even with its fallback page. */
export const API_PATH_PREFIXES = ['/v1', '/docs', '/docs-json', '/health', '/metrics'] as const;

const DASHBOARD_DIR = Symbol('chorus:dashboard-dir');

export interface DashboardOptions {
  /** The Vite build (index.html + assets/); found next to the repository's apps/dashboard by default. */
  distDir?: string;
}

/**
 * Serves the built dashboard at `/`: its files, and index.html for any other page path so the
 * app's own routes (/history, /farm…) survive a reload. API paths pass through untouched.
 */
@Module({})
export class DashboardModule implements NestModule {
  private static readonly logger = new Logger('DashboardModule');

  constructor(@Inject(DASHBOARD_DIR) private readonly distDir: string | null) {}

  static forRoot(options: DashboardOptions = {}): DynamicModule {
    return {
      module: DashboardModule,
      providers: [{ provide: DASHBOARD_DIR, useValue: options.distDir ?? findDashboardBuild(__dirname) }],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    const distDir = this.distDir;
    if (!distDir || !fs.existsSync(path.join(distDir, 'index.html'))) {
      DashboardModule.logger.warn('the dashboard is not built (npm run build:dashboard); / will answer 404');
      return;
    }
    consumer.apply(dashboardHandler(distDir)).forRoutes({ path: '{*path}', method: RequestMethod.GET }, { path: '{*path}', method: RequestMethod.HEAD });
  }
}

/** Static files, then the SPA fallback, for every GET/HEAD outside the API's paths. */
export function dashboardHandler(distDir: string): RequestHandler {
  const indexHtml = path.join(distDir, 'index.html');
  const files = express.static(distDir, {
    index: false,
    fallthrough: true,
    setHeaders(response, file) {
      // Vite content-hashes everything under assets/, so those never change; index.html must.
      const immutable = path.relative(distDir, file).startsWith(`assets${path.sep}`);
      response.setHeader('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  // gzip or brotli, as the browser's Accept-Encoding asks (the bundle shrinks to about a third);
  // only here, never on API routes, where compression would hold back the event stream.
  const compress = compression();
  return (request: Request, response: Response, next: NextFunction) => {
    if (isApiPath(request.path)) return next();
    // Source maps are for the team's debugging, not for anyone who can reach the page.
    if (path.extname(request.path) === '.map') return next();
    compress(request, response, () => files(request, response, () => {
      // A missing asset is a 404, not the app's HTML; only page navigations get index.html.
      if (path.extname(request.path) !== '' || !request.accepts('html')) return next();
      response.setHeader('cache-control', 'no-cache');
      response.sendFile(indexHtml);
    }));
  };
}

export function isApiPath(requestPath: string): boolean {
  return API_PATH_PREFIXES.some((prefix) => requestPath === prefix || requestPath.startsWith(`${prefix}/`));
}

/** apps/dashboard/dist, looked for upwards from here: this file runs from src/ in tests and from dist/ in production. */
export function findDashboardBuild(from: string): string | null {
  for (let directory = from; ; directory = path.dirname(directory)) {
    const candidate = path.join(directory, 'apps', 'dashboard', 'dist');
    if (fs.existsSync(path.join(candidate, 'index.html'))) return candidate;
    if (path.dirname(directory) === directory) return null;
  }
}
