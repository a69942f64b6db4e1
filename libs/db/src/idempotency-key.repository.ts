import { Inject, Injectable } from '@nestjs/common';
import type { IdempotencyKey, Prisma } from './generated/client';
import type { PrismaClient } from './prisma-client';
import { PRISMA } from './tokens';

export type { IdempotencyKey };

export interface StoredResponse {
  statusCode: number;
  body: unknown;
  location?: string | null;
}

/**
 * Idempotency keys, claimed with a primary-key insert: of two requests racing with one key,
 * exactly one inserts the row and runs; the other finds it and waits for its response.
 */
@Injectable()
export class IdempotencyKeyRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /** True when this call took the key (it was free, or its previous use had expired). */
  async claim(tenantId: string, key: string, fingerprint: string, ttlMs: number): Promise<boolean> {
    const claimed = await this.prisma.$queryRaw<{ key: string }[]>`
      INSERT INTO "idempotency_keys" ("tenant_id", "key", "fingerprint", "created_at", "expires_at")
      VALUES (${tenantId}::uuid, ${key}, ${fingerprint}, now(), now() + make_interval(secs => ${ttlMs / 1000}))
      ON CONFLICT ("tenant_id", "key") DO UPDATE
        SET "fingerprint" = EXCLUDED."fingerprint", "status_code" = NULL, "body" = NULL, "location" = NULL,
            "created_at" = EXCLUDED."created_at", "expires_at" = EXCLUDED."expires_at"
        WHERE "idempotency_keys"."expires_at" <= now()
      RETURNING "key"`;
    return claimed.length === 1;
  }

  find(tenantId: string, key: string): Promise<IdempotencyKey | null> {
    return this.prisma.idempotencyKey.findUnique({ where: { tenantId_key: { tenantId, key } } });
  }

  async complete(tenantId: string, key: string, response: StoredResponse): Promise<void> {
    await this.prisma.idempotencyKey.update({
      where: { tenantId_key: { tenantId, key } },
      data: { statusCode: response.statusCode, body: response.body as Prisma.InputJsonValue, location: response.location ?? null },
    });
  }

  /** Frees a key whose request failed, so a corrected retry can use it. */
  async release(tenantId: string, key: string): Promise<void> {
    await this.prisma.idempotencyKey.deleteMany({ where: { tenantId, key, statusCode: null } });
  }

  async deleteExpired(): Promise<number> {
    const { count } = await this.prisma.idempotencyKey.deleteMany({ where: { expiresAt: { lte: new Date() } } });
    return count;
  }
}
