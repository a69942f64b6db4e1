/**
 * Issue 6's "done when": the dashboard in Debian's Chromium against a real farm (API + one worker
 * from dist/, Postgres, Redis, s3rver). Each page is saved as a PNG in test/browser/screenshots/.
 */
import type { ChorusApiError } from '@chorus/client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canvasesHaveInk, launchChromium, saveScreenshot, unnamedControls } from './chromium';
import { startFarm, type FarmUnderTest } from './farm-under-test';

let farm: FarmUnderTest;
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  [farm, browser] = await Promise.all([startFarm('browser'), launchChromium()]);
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(30_000);
}, 240_000);

afterEach((context) => {
  // The farm's own output says why a page waited in vain.
  if (context.task.result?.state === 'fail') console.error(farm?.logs());
});

afterAll(async () => {
  await browser?.close();
  await farm?.close();
}, 60_000);

const heading = (name: string) => page.getByRole('heading', { level: 1, name });

async function streamText(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

async function finished(id: string): Promise<void> {
  await expect.poll(async () => (await farm.client.getGeneration(id)).status, { timeout: 120_000, interval: 500 }).toMatch(/succeeded|failed|canceled/);
}

describe('the dashboard', () => {
  it('signs in by keyboard with an API key kept in sessionStorage only', async () => {
    await page.goto(farm.url);
    await expect.poll(() => heading('Sign in to Chorus').isVisible(), { timeout: 15_000 }).toBe(true);
    await saveScreenshot(page, '1-sign-in');
    expect(await unnamedControls(page), 'every control is labelled').toEqual([]);

    // A wrong key is refused on the form, in words.
    await page.keyboard.type('not-a-key');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 15_000 }).toMatch(/API key is not valid/i);

    const field = page.getByLabel('API key');
    await field.fill(farm.apiKey);
    await field.press('Enter');
    await heading('Generate').waitFor();

    const storage = await page.evaluate(() => ({ session: { ...sessionStorage }, local: { ...localStorage }, cookie: document.cookie }));
    expect(Object.values(storage.session)).toContain(farm.apiKey);
    expect(JSON.stringify(storage.local)).not.toContain(farm.apiKey);
    expect(storage.cookie).not.toContain(farm.apiKey);
  }, 60_000);

  it('shows the API’s message next to the field that caused it', async () => {
    await page.getByLabel('Prompt', { exact: true }).fill('   ');
    await page.getByRole('button', { name: 'Generate', exact: true }).click();
    const prompt = page.getByLabel('Prompt', { exact: true });
    await expect.poll(() => prompt.getAttribute('aria-invalid'), { timeout: 15_000 }).toBe('true');
    const describedBy = (await prompt.getAttribute('aria-describedby')) ?? '';
    const message = await page.locator(`[id="${describedBy.split(' ').pop()}"]`).textContent();
    expect(message).toMatch(/must not be empty/);
    expect(await page.locator('body').textContent()).not.toMatch(/\bat .+:\d+:\d+/);
  });

  it('generates a 3-second clip with live progress, then plays it and draws its waveform and spectrogram', async () => {
    await page.getByLabel('Prompt', { exact: true }).fill('a warm analog pad in c minor');
    await page.getByLabel('Negative prompt').fill('noise, clicks');
    await page.getByLabel(/^Duration/).fill('3');
    await page.getByLabel('Steps').fill('12');
    await page.getByRole('button', { name: 'Roll a random seed' }).click();
    const seed = await page.getByLabel('Seed', { exact: true }).inputValue();
    expect(Number(seed)).toBeGreaterThanOrEqual(0);

    // Record every status and progress value the panel shows, from the moment it appears.
    await page.evaluate(() => {
      const seen: { statuses: string[]; progress: number[] } = { statuses: [], progress: [] };
      (window as unknown as { seen: typeof seen }).seen = seen;
      new MutationObserver(() => {
        const article = document.querySelector('article[data-generation-id]');
        const status = article?.getAttribute('data-status');
        if (status && seen.statuses.at(-1) !== status) seen.statuses.push(status);
        const bar = article?.querySelector('progress');
        if (bar && bar.hasAttribute('value') && seen.progress.at(-1) !== bar.value) seen.progress.push(bar.value);
      }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status', 'value'] });
    });
    await page.getByRole('button', { name: 'Generate', exact: true }).click();

    const panel = page.locator('article[data-generation-id]').first();
    await panel.waitFor({ timeout: 5_000 });
    const id = (await panel.getAttribute('data-generation-id'))!;
    await page.locator(`article[data-generation-id="${id}"][data-status="succeeded"]`).waitFor({ timeout: 180_000 });
    const seen = await page.evaluate(() => (window as unknown as { seen: { statuses: string[]; progress: number[] } }).seen);
    expect(['queued', 'running']).toContain(seen.statuses[0]);
    expect(seen.statuses.at(-1)).toBe('succeeded');
    expect([...seen.progress].sort((a, b) => a - b)).toEqual(seen.progress);

    const generation = await farm.client.getGeneration(id);
    expect(generation).toMatchObject({ status: 'succeeded', seconds_total: 3, steps: 12, seed: Number(seed), negative_prompt: 'noise, clicks' });

    // The player: loaded, then playing once Play is pressed.
    const play = panel.getByRole('button', { name: /^Play/ });
    await expect.poll(() => play.isEnabled(), { timeout: 30_000 }).toBe(true);
    await play.click();
    await page.waitForFunction(
      (generationId) => {
        const audio = document.querySelector<HTMLAudioElement>(`audio[data-generation-id="${generationId}"]`);
        return audio !== null && !audio.paused && audio.currentTime > 0.25;
      },
      id,
      { timeout: 15_000 },
    );
    expect(Math.abs((await page.locator(`audio[data-generation-id="${id}"]`).evaluate((audio: HTMLAudioElement) => audio.duration)) - 3)).toBeLessThan(0.05);
    await panel.getByRole('button', { name: /^Pause/ }).click();

    await expect.poll(() => canvasesHaveInk(page, `article[data-generation-id="${id}"] [data-testid="waveform"]`), { timeout: 15_000 }).toBe(true);
    await panel.getByRole('img', { name: /^Spectrogram of/ }).waitFor();
    expect(await canvasesHaveInk(page, `article[data-generation-id="${id}"] .spectrogram`)).toBe(true);

    const download = panel.getByRole('link', { name: /^Download WAV/ });
    expect(await download.getAttribute('download')).toBe(`${id}.wav`);
    expect(await panel.getByText(seed, { exact: true }).count()).toBeGreaterThan(0);
    await saveScreenshot(page, '2-generate');
    expect(await unnamedControls(page), 'every control is labelled').toEqual([]);
  }, 240_000);

  it('shows this tab’s submissions again after leaving Generate and coming back', async () => {
    const shown = () => page.locator('article[data-generation-id]').evaluateAll((items) => items.map((item) => item.getAttribute('data-generation-id')));
    const before = await shown();
    expect(before).toHaveLength(1);
    await page.getByRole('link', { name: 'Farm' }).click();
    await heading('Farm').waitFor();
    await page.getByRole('link', { name: 'Generate' }).click();
    await heading('Generate').waitFor();
    await expect.poll(shown, { timeout: 15_000 }).toEqual(before);
    await page.locator(`article[data-generation-id="${before[0]}"][data-status="succeeded"]`).waitFor();
  });

  it('lists generations in History, filters them, compares two, and cancels a running one', async () => {
    const second = await farm.client.createGeneration({ prompt: 'a 120 bpm kick drum', seconds_total: 2, steps: 8 });
    await finished(second.id);

    await page.getByRole('link', { name: 'History' }).click();
    await heading('History').waitFor();
    const rows = page.locator('.history-list > li');
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(2);

    // Filter on prompt text.
    await page.getByLabel('Prompt contains').fill('kick');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(1);
    expect(await rows.first().getAttribute('data-generation-id')).toBe(second.id);
    await page.getByLabel('Prompt contains').fill('');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(2);

    // Select both and play them in turn.
    for (const checkbox of await page.getByRole('checkbox', { name: /Select for comparison/ }).all()) await checkbox.check();
    const comparison = page.getByRole('region', { name: 'Compare' });
    await comparison.waitFor();
    await expect.poll(() => comparison.getByRole('button', { name: /^Play/ }).evaluateAll((buttons) => buttons.every((b) => !(b as HTMLButtonElement).disabled)), { timeout: 30_000 }).toBe(true);
    await comparison.getByRole('button', { name: 'Play in turn (A, then B)' }).click();
    const playing = () =>
      page.evaluate(() => Array.from(document.querySelectorAll<HTMLAudioElement>('.comparison audio')).map((audio) => !audio.paused && audio.currentTime > 0.05));
    await expect.poll(playing, { interval: 50, timeout: 15_000 }).toEqual([true, false]);
    await saveScreenshot(page, '3-history-compare');
    expect(await unnamedControls(page), 'every control is labelled').toEqual([]);
    // When A ends, B starts.
    await expect.poll(playing, { interval: 50, timeout: 15_000 }).toEqual([false, true]);
    await comparison.getByRole('button', { name: 'Play together' }).click();
    await expect.poll(playing, { interval: 50, timeout: 15_000 }).toEqual([true, true]);
    await comparison.getByRole('button', { name: 'Stop' }).click();
    await comparison.getByRole('button', { name: 'Clear selection' }).click();

    // A long generation, canceled from the list while it runs.
    const long = await farm.client.createGeneration({ prompt: 'a long evolving drone', seconds_total: 3, steps: 500 });
    await page.reload();
    await heading('History').waitFor();
    const longRow = page.locator(`.history-list > li[data-generation-id="${long.id}"]`);
    await longRow.getByRole('button', { name: /^Cancel/ }).click();
    await expect.poll(async () => (await farm.client.getGeneration(long.id)).status, { timeout: 30_000 }).toBe('canceled');
    await expect.poll(() => longRow.locator('.badge').textContent(), { timeout: 10_000 }).toBe('canceled');
  }, 240_000);

  it('fills the Generate form from a finished generation with "Use these settings"', async () => {
    const rows = page.locator('.history-list > li');
    const kick = rows.filter({ hasText: 'a 120 bpm kick drum' });
    await kick.getByRole('button', { name: /^Show/ }).click();
    const settings = await farm.client.getGeneration((await kick.getAttribute('data-generation-id'))!);
    await kick.getByRole('button', { name: 'Use these settings' }).click();
    await heading('Generate').waitFor();
    expect(await page.getByLabel('Prompt', { exact: true }).inputValue()).toBe(settings.prompt);
    expect(await page.getByLabel('Seed', { exact: true }).inputValue()).toBe(String(settings.seed));
    expect(await page.getByLabel('Steps').inputValue()).toBe(String(settings.steps));
    expect(Number(await page.getByLabel(/^Duration/).inputValue())).toBe(settings.seconds_total);
  });

  it('refuses a batch with one bad row, naming the row, and creates nothing', async () => {
    await page.getByRole('link', { name: 'Batches' }).click();
    await heading('Batches').waitFor();
    const before = { generations: await farm.db.prisma.generation.count(), batches: await farm.db.prisma.batch.count() };
    const csv = ['prompt,seconds_total,steps', 'a soft rain texture,2,6', 'an endless drone,999,6', 'a snare roll,1.5,6'].join('\n');
    await page.getByLabel('CSV or JSONL file').setInputFiles({ name: 'prompts.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Upload batch' }).click();

    const table = page.getByRole('table', { name: /Row errors/ });
    await table.waitFor();
    const cells = await table.locator('tbody tr').evaluateAll((rows) => rows.map((row) => Array.from(row.querySelectorAll('td'), (cell) => cell.textContent)));
    expect(cells).toHaveLength(1);
    // The page shows the API's own words for the row, beside its number and field.
    const refusal = await farm.client.createBatch(csv, 'csv').then(
      () => null,
      (error: ChorusApiError) => error.problem.errors as Array<{ row: number; field: string; message: string }>,
    );
    expect(refusal).toHaveLength(1);
    expect(refusal![0]).toMatchObject({ row: 2, field: 'seconds_total' });
    expect(cells[0]).toEqual(['2', 'seconds_total', refusal![0]!.message]);
    expect(await page.getByRole('alert').first().textContent()).toMatch(/nothing was created/);
    expect({ generations: await farm.db.prisma.generation.count(), batches: await farm.db.prisma.batch.count() }).toEqual(before);
    await saveScreenshot(page, '4-batches-row-error');
    expect(await unnamedControls(page), 'every control is labelled').toEqual([]);
  }, 60_000);

  it('runs a good batch with a progress bar and downloads its manifest', async () => {
    const csv = ['prompt,seconds_total,steps', 'a soft rain texture,2,6', 'a snare roll,1.5,6'].join('\n');
    await page.getByLabel('CSV or JSONL file').setInputFiles({ name: 'prompts.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Upload batch' }).click();

    const batch = page.locator('li.batch').first();
    await batch.waitFor();
    const id = (await batch.getAttribute('data-batch-id'))!;
    expect(await page.getByRole('table', { name: /Row errors/ }).count()).toBe(0);
    const progress = batch.getByRole('progressbar', { name: `Progress of batch ${id}` });
    await expect.poll(() => progress.getAttribute('max'), { timeout: 15_000 }).toBe('2');
    await expect.poll(() => progress.getAttribute('value'), { timeout: 120_000 }).toBe('2');
    await expect.poll(() => batch.locator('.badge').textContent(), { timeout: 15_000 }).toBe('completed');

    const [download] = await Promise.all([page.waitForEvent('download'), batch.getByRole('button', { name: /^Download manifest/ }).click()]);
    const manifest = (await streamText(await download.createReadStream()))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { row: number; status: string; params: { prompt: string } });
    expect(manifest.map((line) => [line.row, line.status, line.params.prompt])).toEqual([
      [1, 'succeeded', 'a soft rain texture'],
      [2, 'succeeded', 'a snare roll'],
    ]);
    await saveScreenshot(page, '4-batches');
    expect(await unnamedControls(page), 'every control is labelled').toEqual([]);
  }, 180_000);

  it('shows the farm: queue depth, a live worker, and the last hour as charts', async () => {
    await page.getByRole('link', { name: 'Farm' }).click();
    await heading('Farm').waitFor();
    const worker = page.locator('table.workers tr[data-live="true"]', { hasText: farm.workerId });
    await worker.waitFor();
    expect(await worker.textContent()).toContain('live');
    expect(await worker.textContent()).toContain('chorus-tiny');
    // Queue depth as the API reports it (nothing is in flight now, so the numbers hold still).
    const stats = await farm.client.getStats();
    const tiles = (headingId: string) =>
      page
        .locator(`dl[aria-labelledby="${headingId}"] > div`)
        .evaluateAll((groups) => Object.fromEntries(groups.map((group) => [group.querySelector('dt')!.textContent, Number(group.querySelector('dd')!.textContent)])));
    expect(await tiles('record-heading')).toEqual({ Queued: stats.generations.queued, Running: stats.generations.running });
    expect(await tiles('jobs-heading')).toMatchObject({ Waiting: stats.queue!.waiting, Active: stats.queue!.active });
    const throughput = page.getByRole('img', { name: /Throughput/ });
    await expect.poll(() => throughput.locator('rect').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await page.getByRole('img', { name: /p50 and p95/ }).waitFor();
    await saveScreenshot(page, '5-farm');
    expect(await unnamedControls(page), 'every control is labelled').toEqual([]);
  });

  it('pages through History with the cursor, forwards and back', async () => {
    // Rows written straight to the record: paging is about the list, not about rendering.
    const tenantId = (await farm.db.prisma.generation.findFirstOrThrow()).tenantId;
    await farm.db.prisma.generation.createMany({
      data: Array.from({ length: 12 }, (_, index) => ({
        tenantId, prompt: `archived take ${index + 1}`, secondsStart: 0, secondsTotal: 1, steps: 4, cfgScale: 6,
        sampler: 'euler', seed: BigInt(index), outputFormat: 'wav', priority: 5, status: 'canceled' as const,
        createdAt: new Date(Date.now() - 86_400_000 - index * 1000),
      })),
    });
    const total = await farm.db.prisma.generation.count({ where: { tenantId } });
    await page.getByRole('link', { name: 'History' }).click();
    await heading('History').waitFor();
    await page.getByLabel('Per page').selectOption('10');
    const rows = page.locator('.history-list > li');
    const pager = page.getByRole('navigation', { name: 'Pages' });
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(10);
    const firstPage = await rows.evaluateAll((items) => items.map((item) => item.getAttribute('data-generation-id')));

    await pager.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(total - 10);
    const secondPage = await rows.evaluateAll((items) => items.map((item) => item.getAttribute('data-generation-id')));
    expect(secondPage.filter((id) => firstPage.includes(id))).toEqual([]);
    expect(await rows.last().textContent()).toContain('archived take 12');
    expect(await pager.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);

    await pager.getByRole('button', { name: 'Previous page' }).click();
    await expect.poll(() => rows.evaluateAll((items) => items.map((item) => item.getAttribute('data-generation-id'))), { timeout: 15_000 }).toEqual(firstPage);
  });

  it('moves between pages by keyboard, focus landing on the new page’s heading', async () => {
    await page.locator('body').focus();
    for (let presses = 0; presses < 10; presses++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate(() => document.activeElement?.textContent)) === 'Farm') break;
    }
    await page.keyboard.press('Enter');
    await heading('Farm').waitFor();
    expect(await page.evaluate(() => document.activeElement?.tagName + ' ' + document.activeElement?.textContent)).toBe('H1 Farm');
  });

  it('signs out, forgetting the key', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await heading('Sign in to Chorus').waitFor();
    expect(JSON.stringify(await page.evaluate(() => ({ ...sessionStorage })))).not.toContain(farm.apiKey);
    await page.reload();
    await heading('Sign in to Chorus').waitFor();
  });

  it('ends the session when the API refuses the key mid-session, saying why', async () => {
    await page.goto(`${farm.url}/generate`);
    await page.getByLabel('API key').fill(farm.apiKey);
    await page.getByLabel('API key').press('Enter');
    await heading('Generate').waitFor();
    await farm.db.prisma.apiKey.updateMany({ data: { revokedAt: new Date() } });
    await page.getByRole('link', { name: 'History' }).click();
    await heading('Sign in to Chorus').waitFor();
    expect(await page.getByRole('alert').first().textContent()).toMatch(/refused this session’s key/);
    expect(JSON.stringify(await page.evaluate(() => ({ ...sessionStorage })))).not.toContain(farm.apiKey);
  });
});
