import { Inject, Injectable, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { HealthCheckService, TerminusModule, type HealthIndicatorFunction } from '@nestjs/terminus';
import { healthAnswer } from '@chorus/health';
import { WorkerMetricsModule } from '../metrics/worker-metrics.module';
import { WorkerMetrics } from '../metrics/worker-metrics';
import { LOGGER, type Logger } from '../logger';
import { WORKER_CONFIG, type WorkerConfig } from '../worker-config';
import { ProbeServer, type ProbeAnswer } from './probe-server';
import { WorkerProbes } from './worker-probes';

/** Serves /metrics, /health/live and /health/ready on WORKER_METRICS_PORT for the worker's lifetime. */
@Injectable()
export class WorkerProbeEndpoint implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly server: ProbeServer;
  /** The port actually bound (WORKER_METRICS_PORT=0 picks a free one, as tests do). */
  port?: number;

  constructor(
    private readonly health: HealthCheckService,
    private readonly probes: WorkerProbes,
    private readonly metrics: WorkerMetrics,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.server = new ProbeServer({
      '/metrics': async () => ({ status: 200, contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() }),
      // Live: the event loop answers. Everything else (Redis down, model loading) is readiness.
      '/health/live': () => this.check([]),
      '/health/ready': () =>
        this.check([() => this.probes.model(), () => this.probes.postgres(), () => this.probes.redis(), () => this.probes.s3()]),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.port = await this.server.listen(this.config.WORKER_METRICS_PORT, this.config.WORKER_METRICS_HOST);
    this.logger.info({ port: this.port }, 'serving /metrics, /health/live and /health/ready');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server.close();
  }

  private async check(checks: HealthIndicatorFunction[]): Promise<ProbeAnswer> {
    const { status, result } = await healthAnswer(this.health, checks);
    return { status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(result) };
  }
}

@Module({
  // Terminus would log every failed probe as an error; readiness flips are the probes' job to report.
  imports: [TerminusModule.forRoot({ logger: false }), WorkerMetricsModule],
  providers: [WorkerProbes, WorkerProbeEndpoint],
  exports: [WorkerProbeEndpoint],
})
export class WorkerHealthModule {}
