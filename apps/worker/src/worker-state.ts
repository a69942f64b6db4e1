import { EventEmitter } from 'node:events';
import os from 'node:os';
import { Injectable } from '@nestjs/common';
import type { GenerationStatus } from '@chorus/contracts';

export type WorkerPhase = 'starting' | 'ready' | 'draining' | 'stopped';

export interface ActiveGeneration {
  generationId: string;
  tenantId: string;
  startedAt: Date;
  step: number;
  steps: number;
}

/** What a finished attempt reports, for metrics. Durations are absent when it did not get that far. */
export interface FinishedAttempt {
  generationId: string;
  tenantId: string;
  status: Extract<GenerationStatus, 'succeeded' | 'failed' | 'canceled' | 'queued'>;
  queueMs?: number;
  inferenceMs?: number;
  encodeMs?: number;
  uploadMs?: number;
  outputSeconds?: number;
  /** Inside the model, when it ran to the end: text encoding, sampling, VAE decoding. */
  modelMs?: { textEncoding: number; sampling: number; decoding: number };
  /** The attempt failed (final or to be retried): the error's name, a bounded label for metrics. */
  failure?: string;
  /** Queued again because this worker shut down, not because the attempt failed. */
  handedBack?: boolean;
}

interface WorkerStateEvents {
  /** Every attempt that ended: succeeded, failed, canceled, or queued again for a retry. */
  'attempt-finished': [FinishedAttempt];
  phase: [WorkerPhase];
}

/**
 * The worker's observable state, in one injectable: what health checks, metrics and the heartbeat
 * read, and the events they can hook. Only the worker's own services write it.
 */
@Injectable()
export class WorkerState extends EventEmitter<WorkerStateEvents> {
  readonly host = os.hostname();
  readonly startedAt = new Date();
  phase: WorkerPhase = 'starting';
  model?: { name: string; version: string; loadMs: number };
  executionProvider?: string;
  readonly active = new Map<string, ActiveGeneration>();
  readonly totals = { succeeded: 0, failed: 0, canceled: 0, retried: 0 };
  lastHeartbeatAt?: Date;
  lastHeartbeatError?: string;

  constructor(readonly workerId: string) {
    super();
  }

  setPhase(phase: WorkerPhase): void {
    this.phase = phase;
    this.emit('phase', phase);
  }

  attemptFinished(attempt: FinishedAttempt): void {
    this.active.delete(attempt.generationId);
    if (attempt.status === 'queued') this.totals.retried++;
    else this.totals[attempt.status]++;
    this.emit('attempt-finished', attempt);
  }

  /** name@version of the warm model, as the workers table records it. */
  get modelLabel(): string {
    return this.model ? `${this.model.name}@${this.model.version}` : 'loading';
  }
}
