import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Injectable } from '@nestjs/common';
import { withModelWindow, fieldErrors, LIMITS, type BatchManifestLine, type BatchResource, type FieldError, type GenerationStatus } from '@chorus/contracts';
import { BatchRepository, type Batch, type Generation } from '@chorus/db';
import { CancelBroadcast, GenerationEventPublisher, GenerationQueue, GenerationScheduler } from '@chorus/queue';
import { ObjectStore } from '@chorus/storage';
import { OutcomeNotifier } from '@chorus/webhooks';
import { PinoLogger } from 'nestjs-pino';
import type { AuthenticatedTenant } from '../auth/authenticated-tenant';
import { priorityError, resolveGeneration, type ResolvedGeneration } from '../generations/generation-defaults';
import { TenantLimitsService } from '../limits/tenant-limits.service';
import { ModelCatalog } from '../models/served-model';
import { notFound, ProblemException, validationProblem } from '../problem/problem.exception';
import { WebhookUrlPolicy } from '../webhooks/webhook-url-policy';
import type { ParsedRows } from './batch-rows';
import { toBatchResource } from './batch-view';

/** Rows one batch may hold. */
export const BATCH_MAX_ROWS = 10_000;
/** Problems listed in one 400 answer; the detail says how many more there were. */
const MAX_LISTED_ERRORS = 1_000;
/** Rows validated or read between two yields to the event loop. */
const CHUNK = 250;
/** Jobs added to BullMQ per addBulk. */
const QUEUE_CHUNK = 250;

export interface BatchOptions {
  webhookUrl?: string;
  /** Default priority of rows that give none. */
  priority?: number;
}

/**
 * Batches of generations from a JSON list, a CSV or a JSONL file: every row is checked before
 * anything is created, then all rows are written in one transaction and queued in chunks on the
 * batch lane of the tenant's fair share.
 */
@Injectable()
export class BatchesService {
  private readonly rowSchema: ReturnType<typeof withModelWindow>;

  constructor(
    private readonly batches: BatchRepository,
    private readonly scheduler: GenerationScheduler,
    private readonly queue: GenerationQueue,
    private readonly cancels: CancelBroadcast,
    private readonly events: GenerationEventPublisher,
    private readonly store: ObjectStore,
    private readonly catalog: ModelCatalog,
    private readonly limits: TenantLimitsService,
    private readonly webhookUrls: WebhookUrlPolicy,
    private readonly notifier: OutcomeNotifier,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext(BatchesService.name);
    this.rowSchema = withModelWindow({
      secondsTotal: { min: catalog.model.secondsTotalMin, max: catalog.model.windowSeconds },
      secondsStartMax: catalog.model.secondsStartMax,
      samplers: catalog.model.samplers,
    });
  }

  async create(tenant: AuthenticatedTenant, parsed: ParsedRows, options: BatchOptions): Promise<BatchResource> {
    const resolved = await this.validate(tenant, parsed, options);
    const audioSeconds = resolved.reduce((sum, item) => sum + item.secondsTotal, 0);
    const admission = await this.limits.admit(tenant, { openGenerations: 0, audioSeconds });
    let batch: Batch;
    const items = resolved.map((item) => ({ ...item, id: randomUUID() }));
    try {
      batch = await this.batches.create({ tenantId: tenant.id, webhookUrl: options.webhookUrl ?? null, items });
    } catch (error) {
      await admission.cancel();
      throw error;
    }
    await admission.bind(items);
    const log = { batch_id: batch.id, tenant_id: tenant.id, rows: items.length };
    try {
      for (let start = 0; start < items.length; start += QUEUE_CHUNK) {
        const chunk = items.slice(start, start + QUEUE_CHUNK).map((item) => ({ ...item, tenantId: tenant.id }));
        await this.scheduler.enqueue(tenant, 'batch', chunk);
        await yieldToEventLoop();
      }
      this.logger.info(log, 'batch queued');
    } catch (error) {
      // The rows stand; the reconciler queues what did not reach Redis.
      this.logger.error({ ...log, err: error }, 'queueing the batch failed part-way; the reconciler will finish it');
    }
    return toBatchResource(batch, { queued: items.length, running: 0, succeeded: 0, failed: 0, canceled: 0 });
  }

  async get(tenant: AuthenticatedTenant, id: string): Promise<BatchResource> {
    const batch = await this.find(tenant, id);
    return toBatchResource(batch, await this.batches.countByStatus(batch.id));
  }

  /** The manifest, one line per row in row order, read from Postgres a page at a time. */
  async *manifest(tenant: AuthenticatedTenant, id: string): AsyncGenerator<BatchManifestLine> {
    const batch = await this.find(tenant, id);
    let afterRow = 0;
    for (;;) {
      const page = await this.batches.items(batch.id, afterRow, CHUNK);
      if (page.length === 0) return;
      for (const generation of page) yield await this.manifestLine(generation);
      afterRow = page[page.length - 1].batchIndex ?? afterRow + page.length;
    }
  }

  /**
   * Cancels what has not finished: queued items end at once (their jobs are removed), running
   * ones are asked to stop between two sampler steps. Finished items keep their results. As for a
   * generation, a batch already canceled is answered unchanged and one that completed is a 409.
   */
  async cancel(tenant: AuthenticatedTenant, id: string): Promise<BatchResource> {
    const batch = await this.find(tenant, id);
    const before = await this.batches.countByStatus(batch.id);
    if (batch.canceledAt && batch.finishedAt) return toBatchResource(batch, before);
    // Every row ended without a cancel (finishedAt may lag the last row by a moment): nothing is left to cancel.
    if (!batch.canceledAt && (batch.finishedAt || before.queued + before.running === 0)) {
      throw new ProblemException('not_cancelable', 409, `batch ${id} has already completed; its rows keep their results`);
    }
    const { canceled, running } = await this.batches.cancel(batch.id);
    const log = { batch_id: batch.id, tenant_id: tenant.id, canceled: canceled.length, running: running.length };
    for (let start = 0; start < canceled.length; start += CHUNK) {
      const chunk = canceled.slice(start, start + CHUNK);
      await Promise.all(
        chunk.map(async (generation) => {
          await this.queue.remove(generation.id).catch(() => false);
          await this.events.publish({ id: generation.id, status: 'canceled', progress: generation.progress });
          if (generation.webhookUrl) await this.notifier.generationFinished(generation);
        }),
      );
      await yieldToEventLoop();
    }
    await this.scheduler.forget(tenant, 'batch', canceled);
    await this.limits.refundUnrendered(canceled).catch((error: unknown) => {
      this.logger.warn({ ...log, err: error }, 'could not give back the audio seconds of the canceled rows');
    });
    await Promise.all(running.map((generationId) => this.cancels.publish(generationId)));
    // With nothing running, the batch ends now; otherwise when its last running item stops.
    await this.notifier.batchMayBeFinished(batch.id);
    this.logger.info(log, 'batch canceled');
    const after = (await this.batches.findById(batch.id)) ?? batch;
    return toBatchResource(after, await this.batches.countByStatus(batch.id));
  }

  private async find(tenant: AuthenticatedTenant, id: string): Promise<Batch> {
    const batch = await this.batches.findForTenant(tenant.id, id);
    if (!batch) throw notFound(`batch ${id}`);
    return batch;
  }

  /**
   * Every row checked, all problems collected in one answer: rows that cannot be read (bad JSON) and
   * rows with bad fields, in row order; 400 listing them if there is any.
   */
  private async validate(tenant: AuthenticatedTenant, parsed: ParsedRows, options: BatchOptions): Promise<ResolvedGeneration[]> {
    const { rows } = parsed;
    const errors: FieldError[] = [];
    const total = rows.length + parsed.errors.length;
    if (total === 0) errors.push({ field: 'items', message: 'must hold at least one row' });
    if (total > BATCH_MAX_ROWS) errors.push({ field: 'items', message: `must hold at most ${BATCH_MAX_ROWS} rows, not ${total}` });
    if (errors.length) throw validationProblem(errors);
    errors.push(...parsed.errors);

    const optionProblems: FieldError[] = [];
    if (options.priority !== undefined) {
      if (!Number.isInteger(options.priority) || options.priority < LIMITS.priorityMin || options.priority > LIMITS.priorityMax) {
        optionProblems.push({ field: 'priority', message: `must be an integer from ${LIMITS.priorityMin} to ${LIMITS.priorityMax}` });
      } else {
        const problem = priorityError(options.priority, tenant);
        if (problem) optionProblems.push(problem);
      }
    }
    if (options.webhookUrl !== undefined) {
      const refusal = await this.webhookUrls.refusal(options.webhookUrl);
      if (refusal) optionProblems.push({ field: 'webhook_url', message: refusal });
    }
    if (optionProblems.length) throw validationProblem(optionProblems);

    const refusals = new Map<string, Promise<string | null>>();
    const resolved: ResolvedGeneration[] = [];
    for (let start = 0; start < rows.length; start += CHUNK) {
      for (const { row, body } of rows.slice(start, start + CHUNK)) {
        const withDefaults = options.priority !== undefined && isObject(body) && body.priority === undefined ? { ...body, priority: options.priority } : body;
        const parsed = this.rowSchema.safeParse(withDefaults);
        if (!parsed.success) {
          errors.push(...fieldErrors(parsed.error).map((error) => ({ ...error, row })));
          continue;
        }
        const problem = priorityError(parsed.data.priority, tenant);
        if (problem) errors.push({ ...problem, row });
        if (parsed.data.webhook_url) {
          const url = parsed.data.webhook_url;
          if (!refusals.has(url)) refusals.set(url, this.webhookUrls.refusal(url));
          const refusal = await refusals.get(url);
          if (refusal) errors.push({ row, field: 'webhook_url', message: refusal });
        }
        resolved.push(resolveGeneration(parsed.data, this.catalog.model, tenant));
      }
      await yieldToEventLoop();
    }
    if (errors.length) {
      errors.sort((a, b) => (a.row ?? 0) - (b.row ?? 0));
      const listed = errors.slice(0, MAX_LISTED_ERRORS);
      const rowsWithErrors = new Set(errors.map((error) => error.row)).size;
      const more = errors.length > listed.length ? ` (the first ${listed.length} of ${errors.length} problems are listed)` : '';
      throw new ProblemException(
        'validation_error',
        400,
        `${rowsWithErrors} of ${total} ${total === 1 ? 'row' : 'rows'} ${rowsWithErrors === 1 ? 'is' : 'are'} not valid; nothing was created${more}: ` +
          listed.slice(0, 5).map((error) => `row ${error.row}: ${error.field} ${error.message}`).join('; '),
        listed,
      );
    }
    return resolved;
  }

  private async manifestLine(generation: Generation): Promise<BatchManifestLine> {
    const audio =
      generation.status === 'succeeded' && generation.outputKey
        ? {
            url: await this.store.presignedGetUrl(generation.outputKey),
            key: generation.outputKey,
            format: generation.outputFormat,
            bytes: generation.outputBytes,
            seconds: generation.outputSeconds,
          }
        : null;
    return {
      row: generation.batchIndex ?? 0,
      id: generation.id,
      status: generation.status as GenerationStatus,
      params: {
        prompt: generation.prompt,
        negative_prompt: generation.negativePrompt,
        seconds_start: generation.secondsStart,
        seconds_total: generation.secondsTotal,
        steps: generation.steps,
        cfg_scale: generation.cfgScale,
        sampler: generation.sampler,
        output_format: generation.outputFormat,
      },
      seed: generation.seed,
      model: { name: generation.modelName, version: generation.modelVersion },
      audio,
      error: generation.error,
    };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
