import { describe, expect, it } from 'vitest';
import type { BatchItem, GeneratedAudio, GenerationRequest } from '@chorus/inference';
import { Batcher } from './batcher';

/** A stand-in for the inference thread: records each batch and finishes it when told to. */
class FakeRunner {
  readonly batches: GenerationRequest[][] = [];
  private release: Array<() => void> = [];

  async generateBatch(items: BatchItem[]): Promise<Array<PromiseSettledResult<GeneratedAudio>>> {
    this.batches.push(items.map((item) => item.request));
    await new Promise<void>((resolve) => this.release.push(resolve));
    return items.map((item) =>
      item.signal?.aborted
        ? { status: 'rejected', reason: Object.assign(new Error('aborted'), { name: 'AbortError' }) }
        : { status: 'fulfilled', value: audioFor(item.request) },
    );
  }

  /** Finishes the batch that is running. */
  finish(): void {
    this.release.shift()?.();
  }
}

function audioFor(request: GenerationRequest): GeneratedAudio {
  return { channels: [], sampleRate: 44100, frames: 0, seed: request.seed, timingsMs: { textEncoding: 0, sampling: 0, decoding: 0 } };
}

function request(seed: number, overrides: Partial<GenerationRequest> = {}): GenerationRequest {
  return { prompt: 'p', secondsStart: 0, secondsTotal: 1, steps: 8, cfgScale: 5, sampler: 'euler', seed, ...overrides };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('Batcher', () => {
  it('runs one batch at a time, gathering the compatible requests that waited meanwhile', async () => {
    const runner = new FakeRunner();
    const batcher = new Batcher(runner, 4, 0);
    const first = batcher.generate(request(1));
    const rest = [batcher.generate(request(2)), batcher.generate(request(3, { steps: 20 })), batcher.generate(request(4))];
    await tick();
    expect(runner.batches.map((batch) => batch.map((r) => r.seed))).toEqual([[1]]);

    runner.finish();
    expect((await first).seed).toBe(1);
    await tick();
    // Same sampler and steps go together; the 20-step request waits for its own pass.
    expect(runner.batches.map((batch) => batch.map((r) => r.seed))).toEqual([[1], [2, 4]]);
    runner.finish();
    await tick();
    expect(runner.batches.at(-1)!.map((r) => r.seed)).toEqual([3]);
    runner.finish();
    expect((await Promise.all(rest)).map((audio) => audio.seed)).toEqual([2, 3, 4]);
  });

  it('never puts more than maxBatch requests in one pass', async () => {
    const runner = new FakeRunner();
    const batcher = new Batcher(runner, 2, 10);
    const all = [1, 2, 3, 4, 5].map((seed) => batcher.generate(request(seed)));
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      runner.finish();
    }
    await Promise.all(all);
    expect(runner.batches.map((batch) => batch.length)).toEqual([2, 2, 1]);
  });

  it('lets a request aborted while it waits leave at once, without waiting for the running batch', async () => {
    const runner = new FakeRunner();
    const batcher = new Batcher(runner, 1, 0);
    const running = batcher.generate(request(1));
    const controller = new AbortController();
    const waiting = batcher.generate(request(2), { signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    runner.finish();
    await running;
    await tick();
    expect(runner.batches.map((batch) => batch.map((r) => r.seed))).toEqual([[1]]);
  });
});
