/**
 * A bucket without a CORS rule for the dashboard (as `npm run farm`'s s3rver, or a new bucket):
 * the page cannot read the bytes, so there is no waveform, but the audio still plays straight
 * from the presigned URL and the page says what to configure. The API and the object store are
 * real; the finished generation is written to them as a worker would leave it.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiUnderTest } from '../api/api-under-test';
import { launchChromium, saveScreenshot } from './chromium';

let api: ApiUnderTest;
let browser: Browser;
let page: Page;
let generationId: string;

/** Two seconds of a 440 Hz stereo tone as 16-bit PCM WAV. */
function toneWav(seconds: number, sampleRate = 44_100): Uint8Array {
  const frames = Math.round(seconds * sampleRate);
  const bytes = new Uint8Array(44 + frames * 4);
  const view = new DataView(bytes.buffer);
  const ascii = (offset: number, text: string) => [...text].forEach((char, i) => view.setUint8(offset + i, char.charCodeAt(0)));
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + frames * 4, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 2, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 4, true);
  view.setUint16(32, 4, true);
  view.setUint16(34, 16, true);
  ascii(36, 'data');
  view.setUint32(40, frames * 4, true);
  for (let i = 0; i < frames; i++) {
    const sample = Math.round(0.5 * 32767 * Math.sin((2 * Math.PI * 440 * i) / sampleRate));
    view.setInt16(44 + i * 4, sample, true);
    view.setInt16(46 + i * 4, sample, true);
  }
  return bytes;
}

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
  const wav = toneWav(2);
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
});
