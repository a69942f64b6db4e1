/**
 * Issue 22, items 19–25: what a new user tripped over in the dashboard, in Debian's Chromium
 * against the real API (Postgres, Redis, s3rver) with no worker, so a submitted generation stays
 * queued; finished generations and worker heartbeats are written to the record as a worker would.
 */
import { TenantRepository, WorkerRepository } from '@chorus/db';
import { ChorusClient } from '@chorus/client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiUnderTest } from '../api/api-under-test';
import { launchChromium, saveScreenshot } from './chromium';
import { toneWav } from './tone-wav';

let api: ApiUnderTest;
let browser: Browser;
let page: Page;
let client: ChorusClient;
let tenantId: string;
let apiKey: string;
let windowSeconds: number;

beforeAll(async () => {
  [api, browser] = await Promise.all([startApi('new_user'), launchChromium()]);
  // The internal team's operator key: the Farm page shows its workers table.
  const { tenant, apiKey: key } = await new TenantRepository(api.db.prisma).create({ name: 'new-user-team', operator: true });
  tenantId = tenant.id;
  apiKey = key.key;
  client = new ChorusClient({ baseUrl: api.url, apiKey });
  windowSeconds = (await client.listModels()).data[0]!.window_seconds;
  page = await browser.newPage({ viewport: { width: 1280, height: 700 } });
  page.setDefaultTimeout(30_000);
  await page.goto(api.url);
  await page.getByLabel('API key').fill(apiKey);
  await page.getByLabel('API key').press('Enter');
  await heading('Generate').waitFor();
  // The model's defaults fill the form once GET /v1/models answers; wait, so they land first.
  await page.getByText(/^Model chorus-tiny/).waitFor();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
}, 60_000);

const heading = (name: string) => page.getByRole('heading', { level: 1, name });
const focusedName = () => page.evaluate(() => document.activeElement?.getAttribute('name') ?? document.activeElement?.tagName);
const generateButton = () => page.getByRole('button', { name: 'Generate', exact: true });

/** The message a field's aria-describedby points at last (its error, after its hint). */
async function fieldMessage(label: string): Promise<string | null> {
  const describedBy = (await page.getByLabel(label, { exact: true }).getAttribute('aria-describedby')) ?? '';
  return page.locator(`[id="${describedBy.split(' ').pop()}"]`).textContent();
}

/** A finished generation as a worker leaves it: a tone in S3, the row succeeded. */
async function finishedGeneration(prompt: string): Promise<string> {
  const generation = await api.db.prisma.generation.create({
    data: {
      tenantId, prompt, secondsStart: 0, secondsTotal: 2, steps: 9, cfgScale: 6.5, sampler: 'euler', seed: 31337n,
      outputFormat: 'wav', priority: 5, status: 'succeeded', progress: 1, finishedAt: new Date(), outputSeconds: 2, sampleRate: 44_100, channels: 2,
    },
  });
  const key = `generations/${tenantId}/${generation.id}.wav`;
  const wav = toneWav(2);
  await api.s3.putObject(key, wav);
  await api.db.prisma.generation.update({ where: { id: generation.id }, data: { outputKey: key, outputBytes: wav.byteLength } });
  return generation.id;
}

describe('the Generate form', () => {
  it('refuses a number it cannot read (Steps "2e") beside the field, sends nothing, and focuses that field', async () => {
    let submitted = 0;
    page.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/v1/generations') submitted += 1;
    });
    await page.getByLabel('Prompt', { exact: true }).fill('a warm analog pad');
    const steps = page.getByLabel('Steps');
    await steps.fill('');
    await steps.pressSequentially('2e');
    expect(await steps.evaluate((input: HTMLInputElement) => input.validity.badInput)).toBe(true);
    await generateButton().click();

    await expect.poll(() => steps.getAttribute('aria-invalid')).toBe('true');
    expect(await fieldMessage('Steps')).toBe('is not a number: must be an integer from 1 to 500');
    expect(await focusedName()).toBe('steps');
    expect(submitted).toBe(0);
  });

  it('moves focus to the first field the API refused after a failed submit', async () => {
    await page.getByLabel('Steps').fill('8');
    await page.getByLabel('Prompt', { exact: true }).fill('   ');
    await generateButton().click();
    const prompt = page.getByLabel('Prompt', { exact: true });
    await expect.poll(() => prompt.getAttribute('aria-invalid')).toBe('true');
    expect(await fieldMessage('Prompt')).toMatch(/must not be empty/);
    expect(await focusedName()).toBe('prompt');
  });

  it('lets the duration slider reach the model’s exact window, and submits that', async () => {
    await page.getByLabel('Prompt', { exact: true }).fill('the whole window');
    const slider = page.getByLabel(/^Duration/);
    await slider.focus();
    await page.keyboard.press('End');
    // The element keeps the value as a decimal string of its own precision; the form sends the model's figure.
    expect(Number(await slider.inputValue())).toBeCloseTo(windowSeconds, 9);
    expect(await page.locator('label', { hasText: /^Duration/ }).textContent()).toBe(`Duration: ${Math.floor(windowSeconds * 100) / 100} s`);

    const [request, response] = await Promise.all([
      page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/v1/generations'),
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/v1/generations'),
      generateButton().click(),
    ]);
    expect((request.postDataJSON() as { seconds_total: number }).seconds_total).toBe(windowSeconds);
    expect(response.status()).toBe(202);
    expect(((await response.json()) as { seconds_total: number }).seconds_total).toBe(windowSeconds);
  });

  it('shows a queued generation as waiting, with no progress bar and no "0 %"', async () => {
    await page.getByLabel('Prompt', { exact: true }).fill('waiting for its turn');
    await page.getByLabel('Steps').fill('8');
    await generateButton().click();
    // No worker runs here: it stays queued.
    const panel = page.locator('article[data-generation-id][data-status="queued"]', { hasText: 'waiting for its turn' });
    await panel.waitFor();
    expect(await panel.locator('progress, [role=progressbar]').count()).toBe(0);
    expect(await panel.textContent()).not.toMatch(/\d\s*%/);
    expect(await panel.textContent()).toMatch(/waiting for a worker/i);
  });

  it('"Use these settings" brings the refilled form into view, focus on its prompt', async () => {
    const id = await finishedGeneration('a 440 hz tone to reuse');
    // Shown under the form, as if submitted earlier in this tab.
    await page.evaluate((generationId) => {
      const earlier = JSON.parse(sessionStorage.getItem('chorus.submitted') ?? '[]') as string[];
      sessionStorage.setItem('chorus.submitted', JSON.stringify([generationId, ...earlier]));
    }, id);
    await page.reload();
    await heading('Generate').waitFor();
    await page.getByText(/^Model chorus-tiny/).waitFor();
    const panel = page.locator(`article[data-generation-id="${id}"][data-status="succeeded"]`);
    await panel.getByRole('button', { name: /^Play/ }).waitFor();
    await panel.getByRole('button', { name: 'Use these settings' }).click();

    const prompt = page.getByLabel('Prompt', { exact: true });
    await expect.poll(() => prompt.inputValue()).toBe('a 440 hz tone to reuse');
    expect(await page.getByLabel('Seed', { exact: true }).inputValue()).toBe('31337');
    const inView = await prompt.evaluate((element) => {
      const box = element.getBoundingClientRect();
      return box.top >= 0 && box.bottom <= window.innerHeight;
    });
    expect(inView).toBe(true);
    expect(await focusedName()).toBe('prompt');
  });
});

describe('History', () => {
  it('shows no bar for a queued generation, and a bar with its progress once it runs', async () => {
    const queued = (await client.listGenerations({ status: 'queued', q: 'waiting for its turn' })).data[0]!;
    await page.getByRole('link', { name: 'History' }).click();
    await heading('History').waitFor();
    const row = page.locator(`.history-list > li[data-generation-id="${queued.id}"]`);
    await row.waitFor();
    expect(await row.locator('.badge').textContent()).toBe('queued');
    expect(await row.locator('progress, [role=progressbar]').count()).toBe(0);

    await api.db.prisma.generation.update({ where: { id: queued.id }, data: { status: 'running', progress: 0.5, startedAt: new Date() } });
    const bar = row.getByRole('progressbar');
    await expect.poll(() => bar.count(), { timeout: 15_000 }).toBe(1);
    expect(await bar.getAttribute('value')).toBe('0.5');
  });
});

describe('Batches', () => {
  it('reports a row with an empty prompt as empty, not as missing', async () => {
    await page.getByRole('link', { name: 'Batches' }).click();
    await heading('Batches').waitFor();
    const csv = ['prompt,seconds_total', ',2', 'a snare roll,1'].join('\n');
    await page.getByLabel('CSV or JSONL file').setInputFiles({ name: 'prompts.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Upload batch' }).click();
    const table = page.getByRole('table', { name: /Row errors/ });
    await table.waitFor();
    const cells = await table.locator('tbody tr').evaluateAll((rows) => rows.map((row) => Array.from(row.querySelectorAll('td'), (cell) => cell.textContent)));
    expect(cells).toEqual([['1', 'prompt', 'must not be empty']]);
  });
});

describe('at 390 px wide (a phone)', () => {
  it('never scrolls sideways: Generate, History with its pager, Batches, Farm with its workers table', async () => {
    // A worker as the Farm page lists it, busy on a generation (its id is the widest cell).
    const busyOn = (await client.listGenerations({ limit: 1 })).data[0]!.id;
    await new WorkerRepository(api.db.prisma).heartbeat({ id: 'gpu-node-07.render.internal-48213-a9f3', host: 'gpu-node-07.render.internal', device: 'cuda', model: 'chorus-tiny@0.4.0', currentGenerationId: busyOn });
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = () =>
      page.evaluate(() => {
        const width = document.documentElement.clientWidth;
        const wide = Array.from(document.querySelectorAll('body *'))
          .filter((element) => element.getBoundingClientRect().right > width + 0.5 && !element.closest('.table-scroll'))
          .map((element) => `${element.tagName.toLowerCase()}.${String(element.className).split(' ')[0]} ${(element.textContent ?? '').trim().slice(0, 30)}`);
        return { scroll: document.documentElement.scrollWidth - width, wide: wide.slice(0, 8) };
      });
    for (const [link, ready] of [
      ['Generate', 'form.generate-form'],
      ['History', 'nav.pager'],
      ['Batches', 'form.upload-form'],
      ['Farm', 'table.workers'],
    ] as const) {
      await page.getByRole('link', { name: link }).click();
      await heading(link).waitFor();
      await page.locator(ready).waitFor();
      await saveScreenshot(page, `8-390px-${link.toLowerCase()}`);
      expect(await overflow(), link).toEqual({ scroll: 0, wide: [] });
    }
    // The table keeps every column: it scrolls inside its own box, which a keyboard can reach.
    const box = page.locator('.table-scroll');
    expect(await box.evaluate((element) => element.scrollWidth > element.clientWidth)).toBe(true);
    expect(await box.getAttribute('tabindex')).toBe('0');
  });
});
