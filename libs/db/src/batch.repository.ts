import { Inject, Injectable } from '@nestjs/common';
import { GENERATION_STATUSES, type GenerationStatus } from '@chorus/contracts';
import type { Batch } from './generated/client';
import { toGeneration, type Generation, type NewGeneration } from './generation.repository';
import type { PrismaClient } from './prisma-client';
import { PRISMA } from './tokens';

export type { Batch };

export type StatusCounts = Record<GenerationStatus, number>;

export interface NewBatch {
  tenantId: string;
  webhookUrl?: string | null;
  /** Every row, already valid and with defaults resolved; ids chosen by the caller. */
  items: (Omit<NewGeneration, 'tenantId' | 'batchId'> & { id: string })[];
}

/** Rows written per INSERT, so no statement carries 10,000 rows' parameters at once. */
const INSERT_CHUNK = 250;

/** Batches and the generations they hold. */
@Injectable()
export class BatchRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /**
   * Writes the batch and all its generations (queued, row numbers from 1) in one transaction:
   * either the whole batch exists or none of it does. Yields to the event loop between chunks.
   */
  async create(input: NewBatch): Promise<Batch> {
    return this.prisma.$transaction(
      async (tx) => {
        const batch = await tx.batch.create({
          data: { tenantId: input.tenantId, webhookUrl: input.webhookUrl ?? null, total: input.items.length },
        });
        for (let start = 0; start < input.items.length; start += INSERT_CHUNK) {
          const chunk = input.items.slice(start, start + INSERT_CHUNK);
          const column = <T>(pick: (item: (typeof chunk)[number], i: number) => T): T[] => chunk.map(pick);
          // One INSERT … SELECT FROM unnest(arrays) per chunk: a handful of parameters instead of
          // one per cell, which keeps both Postgres and the query builder fast for 10,000 rows.
          await tx.$executeRaw`
            INSERT INTO "generations" ("id", "tenant_id", "batch_id", "batch_index", "prompt", "negative_prompt",
              "seconds_start", "seconds_total", "steps", "cfg_scale", "sampler", "seed", "output_format", "webhook_url", "priority")
            SELECT r.id, ${input.tenantId}::uuid, ${batch.id}::uuid, r.batch_index, r.prompt, r.negative_prompt,
                   r.seconds_start, r.seconds_total, r.steps, r.cfg_scale, r.sampler, r.seed, r.output_format, r.webhook_url, r.priority
              FROM unnest(
                ${column((item) => item.id)}::uuid[], ${column((_, i) => start + i + 1)}::int[], ${column((item) => item.prompt)}::text[],
                ${column((item) => item.negativePrompt ?? null)}::text[], ${column((item) => item.secondsStart)}::float8[],
                ${column((item) => item.secondsTotal)}::float8[], ${column((item) => item.steps)}::int[], ${column((item) => item.cfgScale)}::float8[],
                ${column((item) => item.sampler)}::"sampler"[], ${column((item) => String(item.seed))}::int8[], ${column((item) => item.outputFormat)}::"output_format"[],
                ${column((item) => item.webhookUrl ?? null)}::text[], ${column((item) => item.priority)}::int[]
              ) AS r(id, batch_index, prompt, negative_prompt, seconds_start, seconds_total, steps, cfg_scale, sampler, seed, output_format, webhook_url, priority)`;
          await new Promise((resolve) => setImmediate(resolve));
        }
        return batch;
      },
      { timeout: 120_000, maxWait: 10_000 },
    );
  }

  findForTenant(tenantId: string, id: string): Promise<Batch | null> {
    if (!isUuid(id)) return Promise.resolve(null);
    return this.prisma.batch.findFirst({ where: { id, tenantId } });
  }

  findById(id: string): Promise<Batch | null> {
    return this.prisma.batch.findUnique({ where: { id } });
  }

  async countByStatus(batchId: string): Promise<StatusCounts> {
    const groups = await this.prisma.generation.groupBy({ by: ['status'], where: { batchId }, _count: { _all: true } });
    const counts = Object.fromEntries(GENERATION_STATUSES.map((status) => [status, 0])) as StatusCounts;
    for (const group of groups) counts[group.status] = group._count._all;
    return counts;
  }

  /** The batch's generations in row order, `limit` rows after row `afterRow`. */
  async items(batchId: string, afterRow: number, limit: number): Promise<Generation[]> {
    const rows = await this.prisma.generation.findMany({
      where: { batchId, batchIndex: { gt: afterRow } },
      orderBy: { batchIndex: 'asc' },
      take: limit,
    });
    return rows.map(toGeneration);
  }

  /**
   * Cancels every queued item at once (no worker may start them any more) and asks the running
   * ones to stop. Returns the ids of both, so the caller can remove jobs and broadcast cancels.
   */
  async cancel(batchId: string): Promise<{ canceled: Generation[]; running: string[] }> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`UPDATE "batches" SET "canceled_at" = COALESCE("canceled_at", now()) WHERE "id" = ${batchId}::uuid`;
      const canceled = await tx.$queryRaw<{ id: string }[]>`
        UPDATE "generations"
           SET "status" = 'canceled', "finished_at" = now(), "cancel_requested_at" = COALESCE("cancel_requested_at", now())
         WHERE "batch_id" = ${batchId}::uuid AND "status" = 'queued'
         RETURNING "id"`;
      const running = await tx.$queryRaw<{ id: string }[]>`
        UPDATE "generations" SET "cancel_requested_at" = COALESCE("cancel_requested_at", now())
         WHERE "batch_id" = ${batchId}::uuid AND "status" = 'running'
         RETURNING "id"`;
      const rows = canceled.length
        ? await tx.generation.findMany({ where: { id: { in: canceled.map((row) => row.id) } } })
        : [];
      return { canceled: rows.map(toGeneration), running: running.map((row) => row.id) };
    }, { timeout: 60_000 });
  }

  /**
   * Marks the batch finished once none of its items is queued or running. Exactly one caller
   * gets the batch back (the conditional UPDATE decides), so its event is announced once.
   */
  async finishIfDone(batchId: string): Promise<Batch | null> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      UPDATE "batches" b
         SET "finished_at" = now(), "status" = CASE WHEN b."canceled_at" IS NULL THEN 'completed' ELSE 'canceled' END
       WHERE b."id" = ${batchId}::uuid AND b."finished_at" IS NULL
         AND NOT EXISTS (SELECT 1 FROM "generations" g WHERE g."batch_id" = b."id" AND g."status" IN ('queued', 'running'))
       RETURNING b."id"`;
    return rows.length ? this.findById(batchId) : null;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function isUuid(value: string): boolean {
  return UUID.test(value);
}
