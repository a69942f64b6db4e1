/** Messages between ModelRunner (caller's thread) and the inference thread. */
import type { SerializedError } from './errors';
import type { GeneratedAudio, GenerationRequest } from './generation';
import type { ExecutionProviderName } from './graphs';
import type { ModelManifest } from './manifest';

export interface ThreadOptions {
  modelDir: string;
  executionProvider: ExecutionProviderName;
  requireGpu: boolean;
}

export type ToThread =
  | {
      type: 'generate';
      jobId: number;
      requests: GenerationRequest[];
      /** One Int32 per item; the caller stores 1 to abort it. Read between sampler steps. */
      cancelFlags: SharedArrayBuffer;
    }
  | { type: 'close' };

export type FromThread =
  | { type: 'ready'; manifest: ModelManifest; executionProvider: ExecutionProviderName; loadMs: number; fallbackReason?: string }
  | { type: 'startup-failed'; error: SerializedError }
  | { type: 'progress'; jobId: number; item: number; step: number; steps: number }
  | { type: 'item-done'; jobId: number; item: number; audio: GeneratedAudio }
  | { type: 'item-failed'; jobId: number; item: number; error: SerializedError }
  | { type: 'job-done'; jobId: number }
  | { type: 'closed' };
