import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import type { DestinationStream } from 'pino';
import { createWorkerLogger, NestPinoLogger } from './logger';
import type { WorkerConfig } from './worker-config';
import { WorkerModule } from './worker.module';

export interface WorkerAppOptions {
  /** Where log lines go; stdout by default (tests capture them). */
  logDestination?: DestinationStream;
}

/** The worker as a Nest application context (no HTTP): resolves once it is taking jobs. */
export async function createWorkerApp(config: WorkerConfig, options: WorkerAppOptions = {}): Promise<INestApplicationContext> {
  const logger = createWorkerLogger(config.LOG_LEVEL, config.WORKER_ID, options.logDestination);
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, logger), {
    logger: new NestPinoLogger(logger),
  });
  await app.init();
  return app;
}
