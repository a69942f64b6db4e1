import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { PRISMA, type PrismaClient } from '@chorus/db';
import { DependencyProbes } from '@chorus/health';
import { queueConnectionFromConfig } from '@chorus/queue';
import { ObjectStore } from '@chorus/storage';
import { WORKER_CONFIG, type WorkerConfig } from '../worker-config';
import { WorkerState } from '../worker-state';

/** A worker's readiness checks: its model is loaded and it is taking jobs, plus the shared Postgres, Redis and S3 probes. */
@Injectable()
export class WorkerProbes extends DependencyProbes {
  constructor(
    indicators: HealthIndicatorService,
    @Inject(PRISMA) prisma: PrismaClient,
    objects: ObjectStore,
    private readonly state: WorkerState,
    @Inject(WORKER_CONFIG) config: WorkerConfig,
  ) {
    super(indicators, prisma, objects, queueConnectionFromConfig(config), 'chorus-worker-health');
  }

  model(): Promise<HealthIndicatorResult> {
    return this.probe('model', async () => {
      if (this.state.phase === 'starting' || !this.state.model) throw new Error('the model is loading');
      if (this.state.phase !== 'ready') throw new Error(`the worker is ${this.state.phase}`);
    }, () => ({ model: this.state.modelLabel, provider: this.state.executionProvider }));
  }
}
