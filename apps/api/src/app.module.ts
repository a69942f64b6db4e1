import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { BatchesModule } from './batches/batches.module';
import { IdempotencyModule } from './idempotency/idempotency.module';
import { LimitsModule } from './limits/limits.module';
import { RerunModule } from './rerun/rerun.module';
import { SchedulingModule } from './scheduling/scheduling.module';
import { WebhooksModule } from './webhooks/webhooks.module';
import { ApiKeyGuard } from './auth/api-key.guard';
import type { ApiConfig } from './config/api-config';
import { DashboardModule } from './dashboard/dashboard.module';
import { GenerationsModule } from './generations/generations.module';
import { HealthModule } from './health/health.module';
import { InfrastructureModule } from './infrastructure/infrastructure.module';
import { loggerParams } from './logging/logger-options';
import { MetricsModule } from './metrics/metrics.module';
import { ModelsModule } from './models/models.module';
import { ProblemFilter } from './problem/problem.filter';
import { StatsModule } from './stats/stats.module';

export interface ApiAppOptions {
  /** Where JSON logs go (stdout by default); tests pass a stream to read them. */
  logDestination?: DestinationStream;
  /**
   * Close on SIGTERM/SIGINT by itself (default). `npm run farm` turns this off and closes the API in
   * its own stop sequence: two closes racing each other closed Redis twice and logged an error.
   */
  shutdownHooks?: boolean;
}

/**
 * The feature modules are listed here; `forRoot` adds what needs the configuration
 * (logger, database, queue, object store, model) as global providers.
 */
@Module({
  imports: [
    GenerationsModule,
    ModelsModule,
    HealthModule,
    MetricsModule,
    StatsModule,
    LimitsModule,
    IdempotencyModule,
    SchedulingModule,
    WebhooksModule,
    BatchesModule,
    RerunModule,
    DashboardModule.forRoot(),
  ],
})
export class AppModule {
  static forRoot(config: ApiConfig, options: ApiAppOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [LoggerModule.forRoot(loggerParams(config.LOG_LEVEL, options.logDestination)), InfrastructureModule.forRoot(config)],
      providers: [
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
      ],
    };
  }
}
