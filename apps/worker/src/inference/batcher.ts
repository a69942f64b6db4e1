import { AbortError, type GeneratedAudio, type GenerateOptions, type GenerationRequest, type ModelRunner } from '@chorus/inference';

/** Told about each batched pass (metrics): its size, and the time of each sampler step. */
export interface BatchObserver {
  batch(size: number): void;
  step(sampler: string, seconds: number): void;
}

interface Pending extends GenerateOptions {
  request: GenerationRequest;
  resolve: (audio: GeneratedAudio) => void;
  reject: (error: unknown) => void;
}

/**
 * Feeds the inference thread one batch at a time. Requests that wait together and share sampler and
 * steps (the model is the worker's one model) go through the U-Net in one batched pass; the first
 * request of a batch waits `windowMs` for others to join. With maxBatch 1 it simply runs requests
 * in arrival order.
 */
export class Batcher {
  private readonly waiting: Pending[] = [];
  private busy = false;
  private gathering?: NodeJS.Timeout;

  constructor(
    private readonly runner: Pick<ModelRunner, 'generateBatch'>,
    private readonly maxBatch: number,
    private readonly windowMs: number,
    private readonly observer?: BatchObserver,
  ) {}

  generate(request: GenerationRequest, options: GenerateOptions = {}): Promise<GeneratedAudio> {
    return new Promise((resolve, reject) => {
      const pending: Pending = { request, ...options, resolve, reject };
      // Aborted while still waiting: leave the line at once rather than after the running batch.
      options.signal?.addEventListener(
        'abort',
        () => {
          const index = this.waiting.indexOf(pending);
          if (index >= 0) this.waiting.splice(index, 1)[0].reject(new AbortError());
        },
        { once: true },
      );
      this.waiting.push(pending);
      this.schedule();
    });
  }

  /** Requests waiting for the thread (not counting the batch it is running). */
  get waitingCount(): number {
    return this.waiting.length;
  }

  private schedule(): void {
    if (this.busy || this.gathering || this.waiting.length === 0) return;
    if (this.maxBatch === 1 || this.windowMs === 0 || this.waiting.length >= this.maxBatch) {
      void this.runNext();
      return;
    }
    this.gathering = setTimeout(() => {
      this.gathering = undefined;
      void this.runNext();
    }, this.windowMs);
  }

  private async runNext(): Promise<void> {
    const batch = this.takeBatch();
    if (batch.length === 0) return;
    this.busy = true;
    this.observer?.batch(batch.length);
    // One U-Net pass per step serves the whole batch, so the first item's progress times the steps.
    // From one step's report to the next: the first report also holds text encoding, so it only starts the clock.
    const { sampler } = batch[0].request;
    let lastStepAt: number | undefined;
    const timeStep = () => {
      const now = performance.now();
      if (lastStepAt !== undefined) this.observer?.step(sampler, (now - lastStepAt) / 1000);
      lastStepAt = now;
    };
    try {
      const results = await this.runner.generateBatch(
        batch.map(({ request, signal, onProgress }, index) => ({
          request,
          signal,
          onProgress: index === 0 ? (p) => (timeStep(), onProgress?.(p)) : onProgress,
        })),
      );
      results.forEach((result, index) => {
        if (result.status === 'fulfilled') batch[index].resolve(result.value);
        else batch[index].reject(result.reason);
      });
    } catch (error) {
      for (const item of batch) item.reject(error);
    } finally {
      this.busy = false;
      this.schedule();
    }
  }

  /** The oldest request and the compatible ones behind it, in arrival order. */
  private takeBatch(): Pending[] {
    const first = this.waiting.shift();
    if (!first) return [];
    const batch = [first];
    for (let i = 0; i < this.waiting.length && batch.length < this.maxBatch; ) {
      const candidate = this.waiting[i];
      if (candidate.request.sampler === first.request.sampler && candidate.request.steps === first.request.steps) {
        batch.push(candidate);
        this.waiting.splice(i, 1);
      } else {
        i++;
      }
    }
    return batch;
  }
}
