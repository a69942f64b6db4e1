/**
 * A bucket without a CORS rule for the dashboard (a new production bucket, say): the page cannot
 * read the bytes, so there is no waveform, but the audio still plays straight from the presigned
 * URL, Download still saves the file, and the page says what to configure. The API and the object store are
 * real; the finished generation is written to them as a worker would leave it.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiUnderTest } from '../api/api-under-test';
import { launchChromium, saveScreenshot } from './chromium';
import { toneWav } from './tone-wav';

let api: ApiUnderTest;
let browser: Browser;
let page: Page;
let generationId: string;
let wav: Uint8Array;

beforeAll(async () => {
  [api, browser] = await Promise.all([startApi('nocors'), launchChromium()]);
  const generation = await api.db.prisma.generation.create({
    data: {
      tenantId: api.tenantA.id, prompt: 'a 440 hz tone', secondsStart: 0, secondsTotal: 2, steps: 8, cfgScale: 6, sampler: 'euler',
      seed: 7n, outputFormat: 'wav', priority: 5, status: 'succeeded', progress: 1, finishedAt: new Date(),
      outputSeconds: 2, sampleRate: 44_100, channels: 2,
    },
  });
  const key = `generations/${api.tenantA.id}/${generation.id}.wav`;
  wav = toneWav(2);
  await api.s3.putObject(key, wav);
  await api.db.prisma.generation.update({ where: { id: generation.id }, data: { outputKey: key, outputBytes: wav.byteLength } });
  generationId = generation.id;
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(30_000);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
}, 60_000);

describe('audio from a bucket without CORS', () => {
  it('plays the file directly and says which rule the bucket needs, instead of failing', async () => {
    await page.goto(api.url);
    await page.getByLabel('API key').fill(api.tenantA.apiKey);
    await page.getByLabel('API key').press('Enter');
    await page.getByRole('link', { name: 'History' }).click();
    const row = page.locator(`.history-list > li[data-generation-id="${generationId}"]`);
    await row.getByRole('button', { name: /^Show/ }).click();

    const notice = row.getByRole('status').filter({ hasText: 'CORS' });
    await notice.waitFor();
    expect(await notice.textContent()).toContain(`allowing GET from ${api.url}`);
    await row.getByRole('button', { name: /^Play/ }).click();
    await page.waitForFunction((id) => {
      const audio = document.querySelector<HTMLAudioElement>(`audio[data-generation-id="${id}"]`);
      return audio !== null && !audio.paused && audio.currentTime > 0.2;
    }, generationId);
    expect(await row.getByRole('img', { name: /^Spectrogram/ }).count()).toBe(0);
    await saveScreenshot(page, '6-history-bucket-without-cors');
  }, 90_000);

  it('saves the file on "Download WAV" (issue 22, item 18), rather than opening the browser’s player', async () => {
    const row = page.locator(`.history-list > li[data-generation-id="${generationId}"]`);
    const pageUrl = page.url();
    const [download, request] = await Promise.all([
      page.waitForEvent('download', { timeout: 15_000 }),
      page.waitForRequest((candidate) => candidate.url().startsWith(api.s3.endpoint), { timeout: 15_000 }),
      row.getByRole('link', { name: /^Download WAV/ }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`${generationId}.wav`);
    // Saved because the store says so, as any browser honours (headless Chromium saves even a
    // plain audio response, where a desktop browser would open its player instead).
    const answer = await fetch(request.url());
    expect(answer.headers.get('content-disposition')).toBe(`attachment; filename="${generationId}.wav"`);
    await answer.arrayBuffer();
    const saved = await download.createReadStream();
    const chunks: Buffer[] = [];
    for await (const chunk of saved) chunks.push(Buffer.from(chunk as Buffer));
    expect(Buffer.concat(chunks).equals(Buffer.from(wav))).toBe(true);
    expect(page.url()).toBe(pageUrl);
  }, 60_000);
});
