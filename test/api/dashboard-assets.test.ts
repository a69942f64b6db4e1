/**
 * Issue 22, item 26: the real API serving the real dashboard build (`npm run build:dashboard`)
 * compresses its JavaScript when the browser asks (brotli or gzip), and does not serve the
 * source map.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { useApi } from './api-under-test';

const api = useApi('dashboard_assets');
const DIST = path.resolve(__dirname, '../../apps/dashboard/dist');
let script: string;

/** A GET with exactly these headers (fetch would add and undo its own Accept-Encoding). */
function get(pathname: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${api.url}${pathname}`, { headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }));
        response.on('error', reject);
      })
      .on('error', reject);
  });
}

beforeAll(async () => {
  const index = await get('/', { accept: 'text/html' });
  const src = /<script[^>]+src="([^"]+\.js)"/.exec(index.body.toString('utf8'))?.[1];
  if (!src) throw new Error(`no script in the dashboard's index.html; run npm run build:dashboard\n${index.body.toString('utf8')}`);
  script = src;
});

describe('the dashboard’s JavaScript', () => {
  it('comes brotli-compressed when the browser accepts br, and decodes to the built file', async () => {
    const onDisk = fs.readFileSync(path.join(DIST, script));
    const response = await get(script, { 'accept-encoding': 'gzip, deflate, br' });
    expect(response.status).toBe(200);
    expect(response.headers['content-encoding']).toBe('br');
    expect(response.headers.vary).toMatch(/accept-encoding/i);
    expect(response.headers['content-type']).toMatch(/javascript/);
    expect(response.body.length).toBeLessThan(onDisk.length / 2);
    expect(zlib.brotliDecompressSync(response.body).equals(onDisk)).toBe(true);
  });

  it('comes gzip-compressed when the browser accepts only gzip', async () => {
    const onDisk = fs.readFileSync(path.join(DIST, script));
    const response = await get(script, { 'accept-encoding': 'gzip' });
    expect(response.headers['content-encoding']).toBe('gzip');
    expect(response.body.length).toBeLessThan(onDisk.length / 2);
    expect(zlib.gunzipSync(response.body).equals(onDisk)).toBe(true);
  });

  it('comes as it is when the client asks for no encoding', async () => {
    const response = await get(script);
    expect(response.headers['content-encoding']).toBeUndefined();
    expect(response.body.equals(fs.readFileSync(path.join(DIST, script)))).toBe(true);
  });

  it('does not point at a source map, and the map is not served', async () => {
    const response = await get(script);
    expect(response.body.toString('utf8')).not.toContain('sourceMappingURL');
    const map = await get(`${script}.map`);
    expect(map.status).toBe(404);
    expect(map.body.toString('utf8')).not.toContain('"mappings"');
  });
});

describe('the API beside it', () => {
  it('leaves JSON answers uncompressed, so the event stream and API clients are untouched', async () => {
    const response = await get('/v1/models', { 'accept-encoding': 'gzip, br', ...api.auth(api.tenantA) });
    expect(response.status).toBe(200);
    expect(response.headers['content-encoding']).toBeUndefined();
  });
});
