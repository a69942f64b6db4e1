import { Global, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { IdempotencyKeyRepository } from '@chorus/db';
import { PinoLogger } from 'nestjs-pino';
import { IdempotencyInterceptor } from './idempotency.interceptor';

/** Expired keys are reused in place when they come back; the rest are swept this often. */
const SWEEP_INTERVAL_MS = 3600 * 1000;

/** Lets any controller put `@UseInterceptors(IdempotencyInterceptor)` on a creating POST. */
@Global()
@Module({
  providers: [IdempotencyInterceptor],
  exports: [IdempotencyInterceptor],
})
export class IdempotencyModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly keys: IdempotencyKeyRepository,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext(IdempotencyModule.name);
  }

  onApplicationBootstrap(): void {
    this.sweeper = setInterval(() => {
      this.keys
        .deleteExpired()
        .then((count) => count > 0 && this.logger.info({ count }, 'expired idempotency keys deleted'))
        .catch((error: unknown) => this.logger.warn({ err: error }, 'sweeping expired idempotency keys failed'));
    }, SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
  }
}
