import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { ModelRunner } from '@chorus/inference';
import type { Redis } from 'ioredis';
import { AudioSecondsQuota, CancelBroadcast, GenerationEventPublisher, GenerationQueue } from '@chorus/queue';
import { ObjectStore } from '@chorus/storage';
import { GenerationConsumer } from './generations/generation.consumer';
import { HeartbeatService } from './heartbeat.service';
import { LOGGER, type Logger } from './logger';
import { Reconciler } from './reconciler.service';
import { SCHEDULING_REDIS } from './tokens';
import { WORKER_CONFIG, type WorkerConfig } from './worker-config';
import { WorkerState } from './worker-state';

/**
 * Start-up and shutdown in one readable order. Start: model warm (done by its provider), bucket,
 * heartbeat, reconciler, then take jobs. Stop: take no more jobs and finish (or hand back) the held
 * ones, then stop the heartbeat and reconciler, close the model and the connections.
 */
@Injectable()
export class WorkerLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    private readonly state: WorkerState,
    private readonly runner: ModelRunner,
    private readonly store: ObjectStore,
    private readonly heartbeat: HeartbeatService,
    private readonly reconciler: Reconciler,
    private readonly consumer: GenerationConsumer,
    private readonly queue: GenerationQueue,
    private readonly cancels: CancelBroadcast,
    private readonly events: GenerationEventPublisher,
    private readonly audioSeconds: AudioSecondsQuota,
    @Inject(SCHEDULING_REDIS) private readonly schedulingRedis: Redis,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { manifest } = this.runner;
    this.state.model = { name: manifest.name, version: manifest.version, loadMs: this.runner.loadMs };
    this.state.executionProvider = this.runner.executionProvider;
    if (this.runner.fallbackReason) this.logger.warn({ reason: this.runner.fallbackReason }, 'running on the CPU instead of the GPU');
    if (this.config.S3_CREATE_BUCKET) await this.store.ensureBucket();
    await this.heartbeat.start();
    this.reconciler.start();
    await this.consumer.start();
    this.state.setPhase('ready');
    this.logger.info(
      {
        model: this.state.modelLabel,
        // What was asked for and what onnxruntime actually gave: they differ on a CPU fallback.
        requested_execution_provider: this.config.ORT_EXECUTION_PROVIDER,
        execution_provider: this.state.executionProvider,
        load_ms: Math.round(this.runner.loadMs),
        max_batch: this.config.WORKER_MAX_BATCH,
        prefix: this.config.BULLMQ_PREFIX,
      },
      'worker ready',
    );
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.state.setPhase('draining');
    this.logger.info({ signal, held: this.consumer.held }, 'worker draining');
    await this.consumer.drain(this.config.WORKER_SHUTDOWN_GRACE_MS);
    await this.reconciler.stop();
    await this.heartbeat.stop();
    await Promise.allSettled([this.runner.close(), this.queue.close(), this.cancels.close(), this.events.close(), this.audioSeconds.close(), this.schedulingRedis.quit()]);
    this.store.close();
    this.state.setPhase('stopped');
    this.logger.info('worker stopped');
  }
}
