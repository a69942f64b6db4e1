import { Inject, Injectable } from '@nestjs/common';
import { WorkerRepository } from '@chorus/db';
import { LOGGER, type Logger } from './logger';
import { WORKER_CONFIG, type WorkerConfig } from './worker-config';
import { WorkerState } from './worker-state';

/** Keeps this worker's row in the workers table fresh: who it is, what it runs, what it holds. */
@Injectable()
export class HeartbeatService {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly workers: WorkerRepository,
    private readonly state: WorkerState,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.config.WORKER_HEARTBEAT_MS);
    this.timer.unref();
  }

  /** Stops beating and removes the row: a worker that left cleanly is not a dead one. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    try {
      await this.workers.remove(this.state.workerId);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not remove the worker row');
    }
  }

  async beat(): Promise<void> {
    try {
      await this.workers.heartbeat({
        id: this.state.workerId,
        host: this.state.host,
        device: this.state.executionProvider ?? 'unknown',
        model: this.state.modelLabel,
        currentGenerationId: this.state.active.keys().next().value ?? null,
      });
      this.state.lastHeartbeatAt = new Date();
      this.state.lastHeartbeatError = undefined;
    } catch (error) {
      this.state.lastHeartbeatError = error instanceof Error ? error.message : String(error);
      this.logger.warn({ err: error }, 'heartbeat failed');
    }
  }
}
