import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

export const LOGGER = Symbol('chorus:worker-logger');

/**
 * The worker's one logger: JSON lines carrying the worker id. Field names are snake_case, as in
 * the API's lines and the HTTP JSON (`generation_id`, `tenant_id`), so one log query finds both.
 */
export function createWorkerLogger(level: string, workerId: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { service: 'worker', worker_id: workerId } }, destination);
}

/** Nest's own messages (module start-up, errors) through the same pino logger. */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}
