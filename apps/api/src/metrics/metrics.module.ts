import { Module } from '@nestjs/common';
import { GenerationQueue } from '@chorus/queue';
import { ApiMetrics, QUEUE_STATES } from './api-metrics';
import { MetricsController } from './metrics.controller';

/**
 * `GET /metrics`: HTTP request counts and latencies, queue depth by state, Node process metrics.
 * The request counter is mounted by createApiApp (app.ts) ahead of the body parsers.
 */
@Module({
  controllers: [MetricsController],
  providers: [
    {
      provide: ApiMetrics,
      inject: [GenerationQueue],
      useFactory: (queue: GenerationQueue) =>
        new ApiMetrics(async () => ({ queue: queue.queue.name, counts: await queue.queue.getJobCounts(...QUEUE_STATES) })),
    },
  ],
  exports: [ApiMetrics],
})
export class MetricsModule {}
