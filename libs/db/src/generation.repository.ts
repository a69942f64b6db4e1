import { Inject, Injectable } from '@nestjs/common';
import type { GenerationStatus, OutputFormat, SamplerName } from '@chorus/contracts';
import type { Generation as GenerationRow, Prisma, Sampler } from './generated/client';
import type { PrismaClient } from './prisma-client';
import { PRISMA } from './tokens';

/**
 * A generation row; `seed` is a plain number (0 ≤ seed < 2³², stored as int8) and `sampler` the
 * wire name, which is also what the `sampler` enum stores (Prisma's client names `dpmpp-2m` `dpmpp_2m`).
 */
export type Generation = Omit<GenerationRow, 'seed' | 'sampler'> & { seed: number; sampler: SamplerName };

/** Prisma's name of each `sampler` enum value → the value itself, which is the wire name. */
export const SAMPLER_NAMES: Readonly<Record<Sampler, SamplerName>> = {
  euler: 'euler',
  dpmpp_2m: 'dpmpp-2m',
  dpmpp_3m_sde: 'dpmpp-3m-sde',
  pingpong: 'pingpong',
};

// "Is this status terminal" is defined once, in the contract; repositories' callers ask it here too.
export { TERMINAL_STATUSES, isTerminalStatus as isTerminal } from '@chorus/contracts';

/** A request with its defaults resolved (seed included), ready to queue. */
export interface NewGeneration {
  tenantId: string;
  batchId?: string | null;
  prompt: string;
  negativePrompt?: string | null;
  secondsStart: number;
  secondsTotal: number;
  steps: number;
  cfgScale: number;
  sampler: SamplerName;
  seed: number;
  outputFormat: OutputFormat;
  webhookUrl?: string | null;
  priority: number;
}

export interface GenerationListQuery {
  status?: GenerationStatus | GenerationStatus[];
  /** Case-insensitive substring of the prompt, every character literal (`%` and `_` too). */
  prompt?: string;
  /** One batch's rows; they are then listed in row order (batch_index), not newest first. */
  batchId?: string;
  /** Page size; default 50. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface GenerationPage {
  items: Generation[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** What a worker records once the audio is in object storage. */
export interface GenerationOutput {
  outputKey: string;
  outputBytes: number;
  outputSeconds: number;
  sampleRate: number;
  channels: number;
  inferenceMs: number;
  encodeMs: number;
  uploadMs: number;
}

export interface RunningOn {
  workerId: string;
  modelName: string;
  modelVersion: string;
}

/** A list cursor that this repository did not make. */
export class InvalidCursorError extends Error {
  constructor() {
    super('cursor is not one this API returned');
    this.name = 'InvalidCursorError';
  }
}

const DEFAULT_PAGE_SIZE = 50;

/**
 * Generation rows and their status transitions. Every transition is one conditional UPDATE, so two
 * actors racing (a worker finishing, the API canceling) cannot both win. Timestamps come from the
 * database clock, so durations never mix two machines' clocks.
 */
@Injectable()
export class GenerationRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /** Inserts a queued generation (a repeated request is the Idempotency-Key interceptor's to answer). */
  async createQueued(input: NewGeneration): Promise<Generation> {
    // One raw statement: every submit runs it, and Prisma's create costs it twice the CPU (bench/PROFILE.md).
    const rows = await this.prisma.$queryRaw<Record<string, unknown>[]>`
      INSERT INTO "generations" ("tenant_id", "batch_id", "prompt", "negative_prompt", "seconds_start",
        "seconds_total", "steps", "cfg_scale", "sampler", "seed", "output_format", "webhook_url", "priority")
      VALUES (${input.tenantId}::uuid, ${input.batchId ?? null}::uuid, ${input.prompt},
        ${input.negativePrompt ?? null}, ${input.secondsStart}, ${input.secondsTotal}, ${input.steps}, ${input.cfgScale},
        ${input.sampler}::"sampler", ${BigInt(input.seed)}, ${input.outputFormat}::"output_format", ${input.webhookUrl ?? null}, ${input.priority})
      RETURNING *`;
    return fromColumns(rows[0]);
  }

  /** Any tenant's generation: for workers and the reconciler, never for API answers. */
  async findById(id: string): Promise<Generation | null> {
    if (!isUuid(id)) return null;
    const row = await this.prisma.generation.findUnique({ where: { id } });
    return row && toGeneration(row);
  }

  /** The tenant's generation, or null when it does not exist or belongs to another tenant. */
  async findForTenant(tenantId: string, id: string): Promise<Generation | null> {
    if (!isUuid(id)) return null;
    const row = await this.prisma.generation.findFirst({ where: { id, tenantId } });
    return row && toGeneration(row);
  }

  /**
   * Newest first, keyset-paginated on (created_at desc, id); one batch's rows in row order instead,
   * keyset-paginated on batch_index (a batch's rows share one created_at, so newest-first would leave
   * their order to the uuids).
   */
  async list(tenantId: string, query: GenerationListQuery = {}): Promise<GenerationPage> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const where: Prisma.GenerationWhereInput = { tenantId };
    if (query.status !== undefined) where.status = Array.isArray(query.status) ? { in: query.status } : query.status;
    if (query.prompt) where.prompt = { contains: escapeLike(query.prompt), mode: 'insensitive' };
    const inBatch = query.batchId !== undefined;
    if (inBatch) where.batchId = query.batchId;
    if (query.cursor && inBatch) {
      where.batchIndex = { gt: decodeBatchCursor(query.cursor) };
    } else if (query.cursor) {
      const after = decodeCursor(query.cursor);
      where.OR = [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { gt: after.id } }];
    }
    const rows = await this.prisma.generation.findMany({
      where,
      orderBy: inBatch ? [{ batchIndex: 'asc' }] : [{ createdAt: 'desc' }, { id: 'asc' }],
      take: limit + 1,
    });
    const items = rows.slice(0, limit).map(toGeneration);
    const last = items.at(-1);
    const more = rows.length > limit && last;
    return { items, nextCursor: more ? (inBatch ? encodeBatchCursor(last) : encodeCursor(last)) : null };
  }

  /**
   * A worker takes the generation: running, one more attempt, queue time measured. Returns null when
   * it may not run: already finished, canceled, or cancel requested. A `running` row may be taken
   * again, because that is how a stalled job (its worker died) is retried.
   */
  async markRunning(id: string, on: RunningOn): Promise<Generation | null> {
    // RETURNING * instead of reading the row back: this and markSucceeded run for every job (bench/PROFILE.md, worker hot path).
    const rows = await this.prisma.$queryRaw<Record<string, unknown>[]>`
      UPDATE "generations"
         SET "status" = 'running', "attempts" = "attempts" + 1, "progress" = 0,
             "worker_id" = ${on.workerId}, "model_name" = ${on.modelName}, "model_version" = ${on.modelVersion},
             "started_at" = now(),
             "queue_ms" = GREATEST(0, round(extract(epoch FROM (now() - "queued_at")) * 1000))::int
       WHERE "id" = ${id}::uuid AND "status" IN ('queued', 'running') AND "cancel_requested_at" IS NULL
      RETURNING *`;
    return rows.length === 1 ? fromColumns(rows[0]) : null;
  }

  /** Sampler progress, 0..1; ignored unless the generation is running. */
  async updateProgress(id: string, progress: number): Promise<void> {
    await this.prisma.generation.updateMany({
      where: { id, status: 'running' },
      data: { progress: Math.min(1, Math.max(0, progress)) },
    });
  }

  /** Call only once the object is in storage. Returns null when the row was no longer running. */
  async markSucceeded(id: string, output: GenerationOutput): Promise<Generation | null> {
    const rows = await this.prisma.$queryRaw<Record<string, unknown>[]>`
      UPDATE "generations"
         SET "status" = 'succeeded', "progress" = 1, "error" = NULL, "finished_at" = now(),
             "output_key" = ${output.outputKey}, "output_bytes" = ${output.outputBytes},
             "output_seconds" = ${output.outputSeconds}, "sample_rate" = ${output.sampleRate},
             "channels" = ${output.channels}, "inference_ms" = ${Math.round(output.inferenceMs)},
             "encode_ms" = ${Math.round(output.encodeMs)}, "upload_ms" = ${Math.round(output.uploadMs)}
       WHERE "id" = ${id}::uuid AND "status" = 'running'
      RETURNING *`;
    return rows.length === 1 ? fromColumns(rows[0]) : null;
  }

  /** An attempt failed and another will follow: back to queued, keeping the error for the record. */
  async markRetrying(id: string, error: string): Promise<Generation | null> {
    const count = await this.prisma.$executeRaw`
      UPDATE "generations" SET "status" = 'queued', "progress" = 0, "error" = ${error}
       WHERE "id" = ${id}::uuid AND "status" IN ('queued', 'running')`;
    return count === 1 ? this.findById(id) : null;
  }

  /** The last attempt failed. */
  async markFailed(id: string, error: string): Promise<Generation | null> {
    const count = await this.prisma.$executeRaw`
      UPDATE "generations" SET "status" = 'failed', "error" = ${error}, "finished_at" = now()
       WHERE "id" = ${id}::uuid AND "status" IN ('queued', 'running')`;
    return count === 1 ? this.findById(id) : null;
  }

  /** Ends a queued or running generation as canceled. Returns null when it had already ended. */
  async markCanceled(id: string): Promise<Generation | null> {
    const count = await this.prisma.$executeRaw`
      UPDATE "generations"
         SET "status" = 'canceled', "finished_at" = now(), "cancel_requested_at" = COALESCE("cancel_requested_at", now())
       WHERE "id" = ${id}::uuid AND "status" IN ('queued', 'running')`;
    return count === 1 ? this.findById(id) : null;
  }

  /**
   * Records that the tenant asked to cancel (workers check it before starting). Returns the
   * generation as it now is, or null when the tenant has no such generation; a finished one is
   * returned unchanged.
   */
  async requestCancel(tenantId: string, id: string): Promise<Generation | null> {
    if (!isUuid(id)) return null;
    await this.prisma.$executeRaw`
      UPDATE "generations" SET "cancel_requested_at" = COALESCE("cancel_requested_at", now())
       WHERE "id" = ${id}::uuid AND "tenant_id" = ${tenantId}::uuid AND "status" IN ('queued', 'running')`;
    return this.findForTenant(tenantId, id);
  }

  /** Of these ids, the generations still queued or running (the limits' concurrency count checks itself against it). */
  async stillOpen(ids: readonly string[]): Promise<string[]> {
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return [];
    const rows = await this.prisma.generation.findMany({ where: { id: { in: valid }, status: { in: ['queued', 'running'] } }, select: { id: true } });
    return rows.map((row) => row.id);
  }

  /** Rows still queued after `ageMs`, oldest first: the reconciler checks that Redis holds their jobs. */
  async findQueuedOlderThan(ageMs: number, limit = 500): Promise<Generation[]> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT "id" FROM "generations"
       WHERE "status" = 'queued' AND "queued_at" < now() - make_interval(secs => ${ageMs / 1000})
       ORDER BY "queued_at" LIMIT ${limit}`;
    if (rows.length === 0) return [];
    const full = await this.prisma.generation.findMany({
      where: { id: { in: rows.map((row) => row.id) } },
      orderBy: { queuedAt: 'asc' },
    });
    return full.map(toGeneration);
  }

  /**
   * Rows running since before `ageMs`, oldest first: the reconciler checks that Redis still holds
   * their jobs (a flushed Redis leaves them running with no worker able to finish them).
   */
  async findRunningStartedBefore(ageMs: number, limit = 500): Promise<Generation[]> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT "id" FROM "generations"
       WHERE "status" = 'running' AND "started_at" < now() - make_interval(secs => ${ageMs / 1000})
       ORDER BY "started_at" LIMIT ${limit}`;
    if (rows.length === 0) return [];
    const full = await this.prisma.generation.findMany({
      where: { id: { in: rows.map((row) => row.id) } },
      orderBy: { startedAt: 'asc' },
    });
    return full.map(toGeneration);
  }
}

export function toGeneration(row: GenerationRow): Generation {
  return { ...row, seed: Number(row.seed), sampler: SAMPLER_NAMES[row.sampler] };
}

const fieldNames = new Map<string, string>();

/**
 * A `generations` row from raw SQL (snake_case columns) with Prisma's field names; every column maps
 * by case alone, and raw SQL reads enums as the stored (wire) names.
 */
function fromColumns(row: Record<string, unknown>): Generation {
  const fields: Record<string, unknown> = {};
  for (const column in row) {
    let field = fieldNames.get(column);
    if (field === undefined) {
      field = column.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
      fieldNames.set(column, field);
    }
    fields[field] = row[column];
  }
  fields.seed = Number(fields.seed);
  return fields as Generation;
}

function encodeCursor(generation: Generation): string {
  return Buffer.from(JSON.stringify([generation.createdAt.toISOString(), generation.id])).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const date = new Date(createdAt);
    if (typeof id !== 'string' || !isUuid(id) || Number.isNaN(date.getTime())) throw new InvalidCursorError();
    return { createdAt: date, id };
  } catch {
    throw new InvalidCursorError();
  }
}

/** A batch page's cursor: the last batch_index it held. */
function encodeBatchCursor(generation: Generation): string {
  return Buffer.from(JSON.stringify(['batch_index', generation.batchIndex])).toString('base64url');
}

function decodeBatchCursor(cursor: string): number {
  try {
    const [kind, index] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (kind !== 'batch_index' || !Number.isSafeInteger(index)) throw new InvalidCursorError();
    return index as number;
  } catch {
    throw new InvalidCursorError();
  }
}

/** LIKE's wildcards (`%`, `_`) and its escape character (`\\`, Postgres' default) as literal characters. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are uuids; anything else cannot exist, and Postgres would reject it as uuid input. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
