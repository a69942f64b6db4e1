import { type DynamicModule, Module } from '@nestjs/common';
import { DatabaseModule } from '@chorus/db';
import { ModelRunner } from '@chorus/inference';
import {
  AudioSecondsQuota,
  CancelBroadcast,
  createRedis,
  FairShare,
  GenerationEventPublisher,
  GenerationQueue,
  GenerationScheduler,
  queueConnectionFromConfig,
} from '@chorus/queue';
import type { Redis } from 'ioredis';
import { ObjectStore, objectStoreFromConfig } from '@chorus/storage';
import { GenerationConsumer } from './generations/generation.consumer';
import { GenerationProcessor } from './generations/generation.processor';
import { HeartbeatService } from './heartbeat.service';
import { Batcher } from './inference/batcher';
import { WorkerHealthModule } from './health/worker-health.module';
import { LOGGER, type Logger } from './logger';
import { WorkerMetrics } from './metrics/worker-metrics';
import { WorkerMetricsModule } from './metrics/worker-metrics.module';
import { Reconciler } from './reconciler.service';
import { QUEUE_CONNECTION, SCHEDULING_REDIS } from './tokens';
import { WorkerWebhooksModule } from './webhooks/worker-webhooks.module';
import { WORKER_CONFIG, type WorkerConfig } from './worker-config';
import { WorkerLifecycle } from './worker-lifecycle';
import { WorkerState } from './worker-state';

@Module({})
export class WorkerModule {
  static forRoot(config: WorkerConfig, logger: Logger): DynamicModule {
    const connection = queueConnectionFromConfig(config);
    return {
      module: WorkerModule,
      global: true,
      imports: [
        DatabaseModule.forRoot({ databaseUrl: config.DATABASE_URL }),
        WorkerMetricsModule,
        WorkerHealthModule,
        // Webhook deliveries, and the OutcomeNotifier the processor calls when a generation ends.
        WorkerWebhooksModule.forRoot(connection, logger, config),
      ],
      providers: [
        { provide: WORKER_CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: QUEUE_CONNECTION, useValue: connection },
        { provide: WorkerState, useFactory: () => new WorkerState(config.WORKER_ID) },
        {
          provide: ModelRunner,
          // Loaded once, before anything takes a job: the worker is only ready with its model warm.
          useFactory: () =>
            ModelRunner.start({
              modelDir: config.MODEL_DIR,
              executionProvider: config.ORT_EXECUTION_PROVIDER,
              requireGpu: config.ORT_REQUIRE_GPU,
            }),
        },
        {
          provide: Batcher,
          inject: [ModelRunner, WorkerMetrics],
          useFactory: (runner: ModelRunner, metrics: WorkerMetrics) =>
            new Batcher(runner, config.WORKER_MAX_BATCH, config.WORKER_BATCH_WINDOW_MS, {
              batch: (size) => metrics.observeBatch(size),
              step: (sampler, seconds) => metrics.observeStep(sampler, seconds),
            }),
        },
        {
          provide: ObjectStore,
          // 250 ms doubling over 8 tries: about 30 s of S3 outage is ridden out before the
          // attempt fails and the audio, already rendered, has to be rendered again.
          useFactory: () => objectStoreFromConfig(config, { uploadAttempts: 8 }),
        },
        { provide: GenerationQueue, useFactory: () => new GenerationQueue(connection) },
        { provide: SCHEDULING_REDIS, useFactory: () => createRedis(connection) },
        {
          // The reconciler re-adds lost jobs with the fair-share priorities the API gives fresh ones.
          provide: GenerationScheduler,
          inject: [GenerationQueue, SCHEDULING_REDIS, ModelRunner],
          useFactory: (queue: GenerationQueue, redis: Redis, runner: ModelRunner) =>
            new GenerationScheduler(queue, new FairShare(redis, queue.queue), runner.manifest.defaults.steps),
        },
        { provide: CancelBroadcast, useFactory: () => new CancelBroadcast(connection) },
        { provide: GenerationEventPublisher, useFactory: () => new GenerationEventPublisher(connection) },
        // Generations that end here without audio give their tenant's audio seconds back.
        { provide: AudioSecondsQuota, useFactory: () => new AudioSecondsQuota(connection) },
        GenerationProcessor,
        GenerationConsumer,
        HeartbeatService,
        Reconciler,
        WorkerLifecycle,
      ],
      exports: [WORKER_CONFIG, LOGGER, QUEUE_CONNECTION, WorkerState, ModelRunner, ObjectStore, GenerationConsumer, HeartbeatService, Reconciler],
    };
  }
}
