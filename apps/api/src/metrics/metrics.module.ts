import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { GenerationQueue } from '@chorus/queue';
import { ApiMetrics, QUEUE_STATES } from './api-metrics';
import { HttpMetricsMiddleware } from './http-metrics.middleware';
import { MetricsController } from './metrics.controller';

/** `GET /metrics`: HTTP request counts and latencies, queue depth by state, Node process metrics. */
@Module({
  controllers: [MetricsController],
  providers: [
    {
      provide: ApiMetrics,
      inject: [GenerationQueue],
      useFactory: (queue: GenerationQueue) =>
        new ApiMetrics(async () => ({ queue: queue.queue.name, counts: await queue.queue.getJobCounts(...QUEUE_STATES) })),
    },
    HttpMetricsMiddleware,
  ],
  exports: [ApiMetrics],
})
export class MetricsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes('{*path}');
  }
}
