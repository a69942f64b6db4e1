import { Module } from '@nestjs/common';
import { WorkerMetrics } from './worker-metrics';

/** One WorkerMetrics per worker process, injected where generations are processed and served by the probe port. */
@Module({
  providers: [{ provide: WorkerMetrics, useFactory: () => new WorkerMetrics() }],
  exports: [WorkerMetrics],
})
export class WorkerMetricsModule {}
