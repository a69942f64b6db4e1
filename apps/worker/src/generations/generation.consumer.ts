import { Inject, Injectable } from '@nestjs/common';
import { type Job, Worker } from 'bullmq';
import { GenerationRepository, isTerminal } from '@chorus/db';
import {
  AudioSecondsQuota,
  bullConnection,
  CancelBroadcast,
  GenerationEventPublisher,
  type GenerationJobData,
  QueueName,
  type QueueConnection,
} from '@chorus/queue';
import { OutcomeNotifier } from '@chorus/webhooks';
import { LOGGER, type Logger } from '../logger';
import { WorkerMetrics } from '../metrics/worker-metrics';
import { QUEUE_CONNECTION } from '../tokens';
import { WORKER_CONFIG, type WorkerConfig } from '../worker-config';
import { AbortReason } from './abort-reasons';
import { GenerationProcessor, type GenerationJobResult } from './generation.processor';

/** After the grace period, time for held jobs to be handed back before shutdown stops waiting. */
const HAND_BACK_MS = 10_000;

/**
 * The BullMQ side of the worker: takes generation jobs (as many at once as a batch holds), gives
 * each an AbortController that the cancel broadcast, BullMQ's own signal, a lost lock and shutdown
 * can all abort, and hands the job to the processor.
 */
@Injectable()
export class GenerationConsumer {
  private worker?: Worker<GenerationJobData, GenerationJobResult>;
  private readonly controllers = new Map<string, AbortController>();
  private stopListening?: () => void;

  constructor(
    private readonly processor: GenerationProcessor,
    private readonly cancels: CancelBroadcast,
    private readonly generations: GenerationRepository,
    private readonly events: GenerationEventPublisher,
    @Inject(QUEUE_CONNECTION) private readonly connection: QueueConnection,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly metrics: WorkerMetrics,
    private readonly outcomes: OutcomeNotifier,
    private readonly audioSeconds: AudioSecondsQuota,
  ) {}

  /** Subscribes to cancels first, so none is missed for a job taken right after. */
  async start(): Promise<void> {
    this.stopListening = await this.cancels.subscribe((generationId) => this.abort(generationId, AbortReason.Canceled));
    const worker = new Worker<GenerationJobData, GenerationJobResult>(
      QueueName.Generations,
      (job, token, signal) => this.run(job, token, signal),
      {
        connection: bullConnection(this.connection),
        prefix: this.connection.prefix,
        concurrency: this.config.WORKER_MAX_BATCH,
        lockDuration: this.config.WORKER_LOCK_DURATION_MS,
        stalledInterval: this.config.WORKER_STALLED_INTERVAL_MS,
        maxStalledCount: this.config.WORKER_MAX_STALLED_COUNT,
        name: this.config.WORKER_ID,
      },
    );
    worker.on('failed', (job, error) => void this.onFailed(job, error));
    worker.on('lockRenewalFailed', (jobIds) => {
      for (const id of jobIds) this.abort(id, AbortReason.LockLost);
    });
    worker.on('error', (error) => this.logger.error({ err: error }, 'queue worker error'));
    this.worker = worker;
    await worker.waitUntilReady();
  }

  /** Aborts the generation if this worker holds it; ignored otherwise. */
  abort(generationId: string, reason: AbortReason): boolean {
    const controller = this.controllers.get(generationId);
    if (!controller || controller.signal.aborted) return false;
    controller.abort(reason);
    return true;
  }

  /** Generation ids this worker is running now. */
  get held(): string[] {
    return [...this.controllers.keys()];
  }

  /**
   * Stops taking jobs and lets the held ones finish; after `graceMs` the rest are handed back to
   * the queue for another worker.
   */
  async drain(graceMs: number): Promise<void> {
    if (!this.worker) return;
    const closing = this.worker.close();
    const handBack = setTimeout(() => {
      for (const id of this.controllers.keys()) this.abort(id, AbortReason.Shutdown);
    }, graceMs);
    // BullMQ 6.7's graceful close waits for its blocking fetch to end, which never happens while
    // Redis is down or reconnecting (a SIGTERM during a failover): past the grace and the hand-back
    // time, stop waiting. Held jobs are handed back by then, or their locks lapse and the stalled
    // check gives them to another worker.
    let giveUp: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      giveUp = setTimeout(() => resolve('deadline'), graceMs + HAND_BACK_MS);
    });
    try {
      if ((await Promise.race([closing, deadline])) === 'deadline') {
        this.logger.warn({ held: this.held }, 'the queue worker did not close in time (is Redis reachable?); shutting down anyway');
      }
    } finally {
      clearTimeout(handBack);
      clearTimeout(giveUp);
      this.stopListening?.();
    }
  }

  private async run(job: Job<GenerationJobData>, token: string | undefined, queueSignal?: AbortSignal): Promise<GenerationJobResult> {
    const { generationId } = job.data;
    const controller = new AbortController();
    // BullMQ's signal fires on this instance's worker.cancelJob: a cancel all the same.
    const onQueueAbort = () => controller.abort(AbortReason.Canceled);
    queueSignal?.addEventListener('abort', onQueueAbort, { once: true });
    this.controllers.set(generationId, controller);
    const jobEnded = this.metrics.jobStarted();
    try {
      return await this.processor.process(job, token, controller.signal);
    } finally {
      jobEnded();
      this.controllers.delete(generationId);
      queueSignal?.removeEventListener('abort', onQueueAbort);
    }
  }

  /**
   * A job BullMQ failed for good, whatever the cause (including "stalled too many times", which
   * never reaches the processor), must not leave its row queued or running.
   */
  private async onFailed(job: Job<GenerationJobData> | undefined, error: Error): Promise<void> {
    if (!job) return;
    try {
      if (!(await job.isFailed())) return;
      const row = await this.generations.findById(job.data.generationId);
      if (row && !isTerminal(row.status)) {
        const failed = await this.generations.markFailed(row.id, error.message);
        await this.events.publish({ id: row.id, status: 'failed', progress: row.progress, error: error.message });
        // Its webhook and, for a batch's last row, the batch's completion, as the processor does.
        if (failed) await this.outcomes.generationFinished(failed);
        if (failed) await this.audioSeconds.refundUnrendered([failed]);
        this.logger.error({ generation_id: row.id, tenant_id: row.tenantId, err: error }, 'job failed for good; generation marked failed');
      }
    } catch (failure) {
      this.logger.error({ generation_id: job.data.generationId, tenant_id: job.data.tenantId, err: failure }, 'could not record a failed job');
    }
  }
}
