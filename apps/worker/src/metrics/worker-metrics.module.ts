import { Module } from '@nestjs/common';
import { WORKER_CONFIG, type WorkerConfig } from '../worker-config';
import { WorkerState } from '../worker-state';
import { WorkerMetrics } from './worker-metrics';

/**
 * One WorkerMetrics per worker process. It follows WorkerState's events (attempts ending, the
 * model becoming ready); the batcher and the consumer report batches, steps and busy time into it.
 */
@Module({
  providers: [
    {
      provide: WorkerMetrics,
      inject: [WorkerState, WORKER_CONFIG],
      useFactory: (state: WorkerState, config: WorkerConfig) => {
        const metrics = new WorkerMetrics();
        state.on('attempt-finished', (attempt) => metrics.attemptEnded(attempt));
        state.on('phase', (phase) => {
          if (phase !== 'ready' || !state.model) return;
          metrics.modelLoaded({
            model: state.model.name,
            version: state.model.version,
            requestedProvider: config.ORT_EXECUTION_PROVIDER,
            provider: state.executionProvider ?? 'unknown',
            loadSeconds: state.model.loadMs / 1000,
          });
        });
        return metrics;
      },
    },
  ],
  exports: [WorkerMetrics],
})
export class WorkerMetricsModule {}
