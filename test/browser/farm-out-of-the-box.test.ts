/**
 * Issue 22, item 18: `npm run farm` exactly as the README starts it (dist/apps/farm/src/main.js:
 * its own s3rver, the API, one worker), then the dashboard in Chromium. Out of the box the
 * waveform must draw (the development bucket lets the dashboard's origin read, and no other
 * origin) and "Download WAV" must save the file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ChorusClient } from '@chorus/client';
import { TenantRepository, WorkerRepository } from '@chorus/db';
import { freePort, ROOT } from '@chorus/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createTestQueueConnection, deletePrefix } from '../support/redis';
import { canvasesHaveInk, launchChromium, saveScreenshot } from './chromium';

const FARM_ENTRY = path.join(ROOT, 'dist/apps/farm/src/main.js');

let db: TestDatabase;
let queues: ReturnType<typeof createTestQueueConnection>;
let farm: ChildProcess;
let output = '';
let dataDir: string;
let url: string;
let s3Url: string;
let apiKey: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(FARM_ENTRY)) throw new Error(`${FARM_ENTRY} is missing: run \`npm run build\` first`);
  queues = createTestQueueConnection('farm-box');
  db = await createTestDatabase('farm_box');
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'chorus-farm-box-'));
  const [port, s3Port] = [await freePort(), await freePort()];
  url = `http://127.0.0.1:${port}`;
  s3Url = `http://127.0.0.1:${s3Port}`;
  // The developer's environment, minus any object store: the farm brings its own.
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('S3_')) delete env[name];
  farm = spawn(process.execPath, [FARM_ENTRY], {
    cwd: ROOT,
    env: {
      ...env,
      DATABASE_URL: db.url,
      REDIS_URL: queues.redisUrl,
      BULLMQ_PREFIX: queues.prefix,
      PORT: String(port),
      FARM_S3_PORT: String(s3Port),
      FARM_DATA_DIR: dataDir,
      MODEL_DIR: path.join(ROOT, 'models/chorus-tiny'),
      ORT_EXECUTION_PROVIDER: 'cpu',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  farm.stdout!.on('data', (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-8000)));
  farm.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-8000)));

  apiKey = (await new TenantRepository(db.prisma).create({ name: 'farm-box-team' })).apiKey.key;
  const client = new ChorusClient({ baseUrl: url, apiKey });
  const workers = new WorkerRepository(db.prisma);
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (farm.exitCode !== null) throw new Error(`npm run farm exited (${farm.exitCode}):\n${output}`);
    const ready = await client.listModels().then(async () => (await workers.listAlive(30_000)).length > 0, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`the farm did not come up with a live worker:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(30_000);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (farm && farm.exitCode === null) {
    const exited = new Promise((resolve) => farm.once('exit', resolve));
    farm.kill('SIGINT');
    const timer = setTimeout(() => farm.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }
  await deletePrefix(queues);
  await db?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe('npm run farm, then the dashboard', () => {
  it('draws the waveform of a new clip and saves it on "Download WAV"', async () => {
    await page.goto(url);
    await page.getByLabel('API key').fill(apiKey);
    await page.getByLabel('API key').press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Generate' }).waitFor();
    await page.getByLabel('Prompt', { exact: true }).fill('a short bright pluck');
    await page.getByLabel(/^Duration/).focus();
    await page.keyboard.press('Home');
    await page.getByLabel('Steps').fill('4');
    await page.getByRole('button', { name: 'Generate', exact: true }).click();

    const panel = page.locator('article[data-generation-id]').first();
    await panel.waitFor();
    const id = (await panel.getAttribute('data-generation-id'))!;
    await page.locator(`article[data-generation-id="${id}"][data-status="succeeded"]`).waitFor({ timeout: 180_000 });

    await expect.poll(() => canvasesHaveInk(page, `article[data-generation-id="${id}"] [data-testid="waveform"]`), { timeout: 30_000 }).toBe(true);
    expect(await panel.getByRole('status').filter({ hasText: 'CORS' }).count()).toBe(0);
    await saveScreenshot(page, '7-farm-out-of-the-box');

    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), panel.getByRole('link', { name: /^Download WAV/ }).click()]);
    expect(download.suggestedFilename()).toBe(`${id}.wav`);
    const chunks: Buffer[] = [];
    for await (const chunk of await download.createReadStream()) chunks.push(Buffer.from(chunk as Buffer));
    const saved = Buffer.concat(chunks);
    expect(saved.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(saved.length).toBe((await new ChorusClient({ baseUrl: url, apiKey }).getGeneration(id)).audio!.bytes);
  }, 300_000);

  it('lets the dashboard’s origin read the bucket, and no other page', async () => {
    const bucket = `${s3Url}/chorus`;
    const asked = (origin: string) =>
      fetch(bucket, { headers: { origin } }).then((response) => response.headers.get('access-control-allow-origin'));
    expect(await asked(url)).toBe(url);
    expect(await asked(url.replace('127.0.0.1', 'localhost'))).toBe(url.replace('127.0.0.1', 'localhost'));
    expect(await asked('https://elsewhere.example')).toBeNull();
  });
});
