/**
 * The caller's handle on one inference thread: it posts requests, relays per-step progress, turns
 * AbortSignals into shared abort flags and hands back the audio (transferred, not copied).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { InferenceThreadError, InvalidRequestError, deserializeError } from './errors';
import type { GeneratedAudio, GenerationRequest } from './generation';
import type { ExecutionProviderName } from './graphs';
import type { ModelManifest } from './manifest';
import type { FromThread, ThreadOptions, ToThread } from './thread-protocol';

export interface Progress {
  step: number;
  steps: number;
}

export interface ModelRunnerOptions {
  modelDir: string;
  /** Default `cpu`. The engine reads no environment: the app passes ORT_EXECUTION_PROVIDER here. */
  executionProvider?: ExecutionProviderName;
  /** Refuse to start on a CPU fallback (the app's ORT_REQUIRE_GPU). Default false. */
  requireGpu?: boolean;
}

export interface GenerateOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export interface BatchItem extends GenerateOptions {
  request: GenerationRequest;
}

interface PendingItem {
  resolve: (audio: GeneratedAudio) => void;
  reject: (error: Error) => void;
  onProgress?: (p: Progress) => void;
  detach: () => void;
}

/**
 * Compiled, the thread is the .js file beside this one. Under vitest this module is TypeScript, so the
 * thread starts through tsx's require hook (Node checks a worker's entry extension before --import hooks run).
 */
function startThread(options: ThreadOptions): Worker {
  if (__filename.endsWith('.ts')) {
    const entry = path.join(__dirname, 'inference-thread.ts');
    const tsx = createRequire(__filename).resolve('tsx/cjs');
    return new Worker(`require(${JSON.stringify(tsx)}); require(${JSON.stringify(entry)});`, {
      eval: true,
      workerData: options,
      // tsx reads the path aliases (@chorus/*) from here, whatever the working directory.
      env: { ...process.env, TSX_TSCONFIG_PATH: path.resolve(__dirname, '../../../tsconfig.json') },
    });
  }
  return new Worker(path.join(__dirname, 'inference-thread.js'), { workerData: options });
}

export class ModelRunner {
  private nextJobId = 1;
  private readonly jobs = new Map<number, Map<number, PendingItem>>();
  private failure?: Error;
  private closing?: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    readonly manifest: ModelManifest,
    /** The provider actually in use. */
    readonly executionProvider: ExecutionProviderName,
    /** Milliseconds to read the manifest and open every graph. */
    readonly loadMs: number,
    /** Set when CUDA was asked for but the runner fell back to the CPU. */
    readonly fallbackReason?: string,
  ) {
    worker.on('message', (m: FromThread) => this.onMessage(m));
    worker.on('error', (error) => this.fail(new InferenceThreadError(`the inference thread crashed: ${error.message}`)));
    worker.on('exit', (code) => {
      if (!this.closing) this.fail(new InferenceThreadError(`the inference thread exited (code ${code})`));
    });
  }

  /** Starts the thread, opens every graph once and resolves when they are warm. */
  static async start(opts: ModelRunnerOptions): Promise<ModelRunner> {
    const options: ThreadOptions = {
      modelDir: path.resolve(opts.modelDir),
      executionProvider: opts.executionProvider ?? 'cpu',
      requireGpu: opts.requireGpu ?? false,
    };
    const worker = startThread(options);
    let onMessage: (m: FromThread) => void = () => {};
    let onError: (error: Error) => void = () => {};
    let onExit: (code: number) => void = () => {};
    const ready = await new Promise<Extract<FromThread, { type: 'ready' }>>((resolve, reject) => {
      onMessage = (m) => (m.type === 'ready' ? resolve(m) : m.type === 'startup-failed' && reject(deserializeError(m.error)));
      onError = (error) => reject(new InferenceThreadError(`the inference thread failed to start: ${error.message}`));
      onExit = (code) => reject(new InferenceThreadError(`the inference thread exited during start-up (code ${code})`));
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    })
      .catch(async (error: Error) => {
        await worker.terminate();
        throw error;
      })
      .finally(() => {
        // Only ours: removeAllListeners would also drop the Worker's internal ones and deafen it.
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      });
    return new ModelRunner(worker, ready.manifest, ready.executionProvider, ready.loadMs, ready.fallbackReason);
  }

  /** One generation. Rejects with an AbortError (name 'AbortError') if aborted before it completes. */
  async generate(request: GenerationRequest, opts: GenerateOptions = {}): Promise<GeneratedAudio> {
    const [result] = await this.generateBatch([{ request, ...opts }]);
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  }

  /**
   * Several generations in one batched U-Net pass per step. Items must share sampler and steps; each
   * keeps its own seed, cfg scale, timing and negative prompt, and aborting one leaves the others as
   * they would be alone.
   */
  async generateBatch(items: BatchItem[]): Promise<Array<PromiseSettledResult<GeneratedAudio>>> {
    if (items.length === 0) return [];
    const { sampler, steps } = items[0].request;
    for (const { request } of items) {
      if (request.sampler !== sampler) throw new InvalidRequestError('sampler', `the same for every item of a batch (${sampler})`, request.sampler);
      if (request.steps !== steps) throw new InvalidRequestError('steps', `the same for every item of a batch (${steps})`, request.steps);
    }
    if (this.failure) throw this.failure;
    if (this.closing) throw new InferenceThreadError('the model runner is closed');

    const jobId = this.nextJobId++;
    const cancelFlags = new SharedArrayBuffer(4 * items.length);
    const flags = new Int32Array(cancelFlags);
    const pending = new Map<number, PendingItem>();
    const results = items.map(
      (item, index) =>
        new Promise<GeneratedAudio>((resolve, reject) => {
          const { signal } = item;
          const onAbort = () => Atomics.store(flags, index, 1);
          if (signal?.aborted) onAbort();
          signal?.addEventListener('abort', onAbort, { once: true });
          pending.set(index, {
            resolve,
            reject,
            onProgress: item.onProgress,
            detach: () => signal?.removeEventListener('abort', onAbort),
          });
        }),
    );
    this.jobs.set(jobId, pending);
    this.post({ type: 'generate', jobId, requests: items.map((i) => i.request), cancelFlags });
    return Promise.allSettled(results);
  }

  /** Releases the sessions and ends the thread; pending work is rejected. */
  async close(): Promise<void> {
    this.closing ??= (async () => {
      const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      this.post({ type: 'close' });
      const timeout = setTimeout(() => void this.worker.terminate(), 10_000);
      await exited;
      clearTimeout(timeout);
      this.rejectAll(new InferenceThreadError('the model runner was closed'));
    })();
    return this.closing;
  }

  private post(message: ToThread): void {
    this.worker.postMessage(message);
  }

  private onMessage(m: FromThread): void {
    if (m.type === 'closed') {
      void this.worker.terminate();
      return;
    }
    if (!('jobId' in m)) return;
    const job = this.jobs.get(m.jobId);
    if (!job) return;
    if (m.type === 'job-done') {
      // Anything the thread did not settle (it never should) must not hang its caller.
      for (const item of job.values()) item.reject(new InferenceThreadError('the inference thread finished the job without a result'));
      this.jobs.delete(m.jobId);
      return;
    }
    const item = job.get(m.item);
    if (!item) return;
    if (m.type === 'progress') {
      item.onProgress?.({ step: m.step, steps: m.steps });
      return;
    }
    job.delete(m.item);
    item.detach();
    if (m.type === 'item-done') item.resolve(m.audio);
    else item.reject(deserializeError(m.error));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.rejectAll(error);
  }

  private rejectAll(error: Error): void {
    for (const job of this.jobs.values()) {
      for (const item of job.values()) {
        item.detach();
        item.reject(error);
      }
    }
    this.jobs.clear();
  }
}

