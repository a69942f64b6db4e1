import { Inject, Injectable } from '@nestjs/common';
import type { WebhookDelivery } from './generated/client';
import type { PrismaClient } from './prisma-client';
import { PRISMA } from './tokens';

export type { WebhookDelivery };

export interface WebhookAttempt {
  eventId: string;
  tenantId: string;
  event: string;
  generationId?: string | null;
  batchId?: string | null;
  url: string;
  attempt: number;
  address?: string | null;
  statusCode?: number | null;
  error?: string | null;
  durationMs?: number | null;
  succeeded: boolean;
}

/** Every attempt to deliver a webhook, successful or not: the record a tenant's support case needs. */
@Injectable()
export class WebhookDeliveryRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  async record(attempt: WebhookAttempt): Promise<void> {
    await this.prisma.webhookDelivery.create({
      data: {
        eventId: attempt.eventId,
        tenantId: attempt.tenantId,
        event: attempt.event,
        generationId: attempt.generationId ?? null,
        batchId: attempt.batchId ?? null,
        url: attempt.url,
        attempt: attempt.attempt,
        address: attempt.address ?? null,
        statusCode: attempt.statusCode ?? null,
        error: attempt.error?.slice(0, 2000) ?? null,
        durationMs: attempt.durationMs ?? null,
        succeeded: attempt.succeeded,
      },
    });
  }

  forGeneration(generationId: string): Promise<WebhookDelivery[]> {
    return this.prisma.webhookDelivery.findMany({ where: { generationId }, orderBy: [{ createdAt: 'asc' }, { attempt: 'asc' }] });
  }

  forBatch(batchId: string): Promise<WebhookDelivery[]> {
    return this.prisma.webhookDelivery.findMany({ where: { batchId }, orderBy: [{ createdAt: 'asc' }, { attempt: 'asc' }] });
  }
}
