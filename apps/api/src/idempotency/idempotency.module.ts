import { Global, Module } from '@nestjs/common';
import { IdempotencyKeyRepository } from '@chorus/db';
import { IdempotencyInterceptor } from './idempotency.interceptor';

/** Lets any controller put `@UseInterceptors(IdempotencyInterceptor)` on a creating POST. */
@Global()
@Module({
  providers: [IdempotencyKeyRepository, IdempotencyInterceptor],
  exports: [IdempotencyKeyRepository, IdempotencyInterceptor],
})
export class IdempotencyModule {}
