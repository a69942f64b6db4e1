/**
 * The worker_threads entry that owns the ONNX sessions. `session.run` blocks the thread it runs on,
 * so inference lives here and the caller's thread stays free for HTTP, queue locks and heartbeats.
 * Jobs run one at a time, in arrival order; abort flags are shared memory, read between steps.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { serializeError } from './errors';
import { GenerationPipeline } from './pipeline';
import type { FromThread, ThreadOptions, ToThread } from './thread-protocol';

if (!parentPort) throw new Error('inference-thread must run in a worker thread');
const port = parentPort;

const post = (message: FromThread, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

async function main(options: ThreadOptions): Promise<void> {
  let pipeline: GenerationPipeline;
  try {
    pipeline = await GenerationPipeline.load(options.modelDir, options);
  } catch (error) {
    post({ type: 'startup-failed', error: serializeError(error) });
    return;
  }
  post({
    type: 'ready',
    manifest: pipeline.manifest,
    executionProvider: pipeline.executionProvider,
    loadMs: pipeline.loadMs,
    ...(pipeline.fallbackReason && { fallbackReason: pipeline.fallbackReason }),
  });

  let queue = Promise.resolve();
  port.on('message', (message: ToThread) => {
    queue = queue.then(() => handle(pipeline, message));
  });
}

async function handle(pipeline: GenerationPipeline, message: ToThread): Promise<void> {
  if (message.type === 'close') {
    await pipeline.release();
    post({ type: 'closed' });
    port.close();
    return;
  }
  const { jobId, requests } = message;
  const flags = new Int32Array(message.cancelFlags);
  const settled = new Set<number>();
  try {
    await pipeline.run(
      requests.map((request, item) => ({
        request,
        isAborted: () => Atomics.load(flags, item) !== 0,
        onProgress: (step, steps) => post({ type: 'progress', jobId, item, step, steps }),
      })),
      (item, outcome) => {
        settled.add(item);
        if (outcome.ok) {
          const buffers = outcome.audio.channels.map((c) => c.buffer as ArrayBuffer);
          post({ type: 'item-done', jobId, item, audio: outcome.audio }, buffers);
        } else {
          post({ type: 'item-failed', jobId, item, error: serializeError(outcome.error) });
        }
      },
    );
  } catch (error) {
    // The thread stays up for the next job; this one's unsettled items get the error.
    requests.forEach((_, item) => settled.has(item) || post({ type: 'item-failed', jobId, item, error: serializeError(error) }));
  }
  post({ type: 'job-done', jobId });
}

void main(workerData as ThreadOptions);
