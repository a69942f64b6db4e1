import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DashboardModule, findDashboardBuild, isApiPath } from './dashboard.module';

@Controller()
class ApiRoutes {
  @Get('v1/ping')
  ping() {
    return { pong: true };
  }

  @Get('health/live')
  live() {
    return { status: 'ok' };
  }
}

@Module({ controllers: [ApiRoutes] })
class ApiRoutesModule {}

describe('DashboardModule', () => {
  let app: INestApplication;
  let base: string;
  let distDir: string;

  beforeAll(async () => {
    distDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-dashboard-'));
    fs.mkdirSync(path.join(distDir, 'assets'));
    fs.writeFileSync(path.join(distDir, 'index.html'), '<!doctype html><title>Chorus</title><div id="root"></div>');
    fs.writeFileSync(path.join(distDir, 'assets', 'index-abc123.js'), 'console.log("dashboard")');
    const moduleRef = await Test.createTestingModule({ imports: [ApiRoutesModule, DashboardModule.forRoot({ distDir })] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await app?.close();
    fs.rmSync(distDir, { recursive: true, force: true });
  });

  const page = (pathname: string) => fetch(`${base}${pathname}`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });

  it('serves index.html at / without long caching', async () => {
    const response = await page('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(await response.text()).toContain('<div id="root">');
  });

  it('serves index.html for the app’s own page paths, so deep links and reloads work', async () => {
    for (const pathname of ['/history', '/farm', '/history?status=failed']) {
      const response = await page(pathname);
      expect(response.status, pathname).toBe(200);
      expect(await response.text()).toContain('<div id="root">');
    }
  });

  it('serves hashed assets as immutable files', async () => {
    const response = await fetch(`${base}/assets/index-abc123.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toContain('immutable');
    expect(await response.text()).toBe('console.log("dashboard")');
  });

  it('answers 404 for a missing asset instead of the app’s HTML', async () => {
    const response = await page('/assets/missing-123.js');
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain('<div id="root">');
  });

  it('leaves API routes to the API, known or not', async () => {
    const ping = await page('/v1/ping');
    expect(await ping.json()).toEqual({ pong: true });
    const live = await page('/health/live');
    expect(await live.json()).toEqual({ status: 'ok' });
    for (const pathname of ['/v1/unknown', '/metrics', '/docs', '/health/nothing']) {
      const response = await page(pathname);
      expect(response.status, pathname).toBe(404);
      expect(await response.text(), pathname).not.toContain('<div id="root">');
    }
  });
});

describe('isApiPath', () => {
  it('matches the API prefixes and what is under them, not look-alikes', () => {
    expect(['/v1', '/v1/generations', '/docs', '/docs-json', '/health/ready', '/metrics'].every(isApiPath)).toBe(true);
    expect(['/', '/history', '/v10', '/docsearch', '/healthy', '/metrics-page'].some(isApiPath)).toBe(false);
  });
});

describe('findDashboardBuild', () => {
  it('finds apps/dashboard/dist from a directory below the repository root', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-root-'));
    const dist = path.join(root, 'apps', 'dashboard', 'dist');
    fs.mkdirSync(dist, { recursive: true });
    fs.writeFileSync(path.join(dist, 'index.html'), '');
    const deep = path.join(root, 'dist', 'apps', 'api', 'src', 'dashboard');
    fs.mkdirSync(deep, { recursive: true });
    expect(findDashboardBuild(deep)).toBe(dist);
    fs.rmSync(root, { recursive: true, force: true });
  });
});
