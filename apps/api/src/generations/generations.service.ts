import { Injectable } from '@nestjs/common';
import {
  LIST_LIMIT_DEFAULT,
  withModelWindow,
  type GenerationList,
  type GenerationResource,
  type ListGenerationsQuery,
} from '@chorus/contracts';
import { GenerationRepository, InvalidCursorError, isTerminal, type Generation } from '@chorus/db';
import { ObjectStore } from '@chorus/storage';
import { CancelBroadcast, GenerationEventPublisher, GenerationQueue, GenerationScheduler } from '@chorus/queue';
import { OutcomeNotifier } from '@chorus/webhooks';
import { PinoLogger } from 'nestjs-pino';
import type { AuthenticatedTenant } from '../auth/authenticated-tenant';
import { TenantLimitsService } from '../limits/tenant-limits.service';
import { ModelCatalog } from '../models/served-model';
import { WebhookUrlPolicy } from '../webhooks/webhook-url-policy';
import { priorityError, resolveGeneration } from './generation-defaults';
import { ProblemException, notFound, validationProblem } from '../problem/problem.exception';
import { parseOrThrow } from '../validation/parse';
import { toGenerationResource } from './generation-view';

/** Submitting, reading, listing and canceling a tenant's generations. */
@Injectable()
export class GenerationsService {
  private readonly requestSchema: ReturnType<typeof withModelWindow>;

  constructor(
    private readonly repository: GenerationRepository,
    private readonly queue: GenerationQueue,
    private readonly cancels: CancelBroadcast,
    private readonly events: GenerationEventPublisher,
    private readonly store: ObjectStore,
    private readonly catalog: ModelCatalog,
    private readonly logger: PinoLogger,
    private readonly scheduler: GenerationScheduler,
    private readonly limits: TenantLimitsService,
    private readonly webhookUrls: WebhookUrlPolicy,
    private readonly notifier: OutcomeNotifier,
  ) {
    logger.setContext(GenerationsService.name);
    this.requestSchema = withModelWindow({
      secondsTotal: { min: catalog.model.secondsTotalMin, max: catalog.model.windowSeconds },
      secondsStartMax: catalog.model.secondsStartMax,
      samplers: catalog.model.samplers,
    });
  }

  /**
   * Validates the body against the served model, resolves defaults and the seed, writes the row
   * and only then queues the job: Postgres is the record, and the reconciler re-queues a row
   * whose job never reached Redis.
   */
  async create(tenant: AuthenticatedTenant, body: unknown): Promise<GenerationResource> {
    const request = parseOrThrow(this.requestSchema, body);
    const problems = [priorityError(request.priority, tenant)];
    const webhookRefusal = request.webhook_url ? await this.webhookUrls.refusal(request.webhook_url) : null;
    if (webhookRefusal) problems.push({ field: 'webhook_url', message: webhookRefusal });
    if (problems.some(Boolean)) throw validationProblem(problems.filter((problem) => problem !== null));
    const resolved = resolveGeneration(request, this.catalog.model, tenant);
    const admission = await this.limits.admit(tenant, { openGenerations: 1, audioSeconds: resolved.secondsTotal });
    let generation: Generation;
    try {
      generation = await this.repository.createQueued({ ...resolved, tenantId: tenant.id });
    } catch (error) {
      await admission.cancel();
      throw error;
    }
    const log = { generation_id: generation.id, tenant_id: tenant.id };
    await admission.bind([generation]);
    try {
      // Fair share across tenants; the request's own level only orders it within its tenant.
      await this.scheduler.enqueue(tenant, 'interactive', [generation]);
      this.logger.info({ ...log, seconds_total: generation.secondsTotal, steps: generation.steps }, 'generation queued');
    } catch (error) {
      // The row stands; the reconciler queues it once Redis answers again.
      this.logger.error({ ...log, err: error }, 'queueing the job failed; the reconciler will retry');
    }
    return this.view(generation);
  }

  async get(tenant: AuthenticatedTenant, id: string): Promise<GenerationResource> {
    return this.view(await this.find(tenant, id));
  }

  async find(tenant: AuthenticatedTenant, id: string): Promise<Generation> {
    const generation = await this.repository.findForTenant(tenant.id, id);
    if (!generation) throw notFound(`generation ${id}`);
    return generation;
  }

  async list(tenant: AuthenticatedTenant, query: ListGenerationsQuery): Promise<GenerationList> {
    try {
      const page = await this.repository.list(tenant.id, {
        status: query.status,
        prompt: query.q,
        batchId: query.batch_id,
        limit: query.limit ?? LIST_LIMIT_DEFAULT,
        cursor: query.cursor,
      });
      return { data: await Promise.all(page.items.map((item) => this.view(item))), next_cursor: page.nextCursor };
    } catch (error) {
      if (error instanceof InvalidCursorError) {
        throw validationProblem([{ field: 'cursor', message: 'must be a next_cursor returned by this API' }]);
      }
      throw error;
    }
  }

  /**
   * A queued generation is canceled at once and its job removed. A running one is asked to stop:
   * the request is recorded (so no worker starts it again) and broadcast to every worker, and the
   * one holding it stops between two sampler steps.
   */
  async cancel(tenant: AuthenticatedTenant, id: string): Promise<GenerationResource> {
    const generation = await this.repository.requestCancel(tenant.id, id);
    if (!generation) throw notFound(`generation ${id}`);
    const log = { generation_id: id, tenant_id: tenant.id };
    if (generation.status === 'canceled') return this.view(generation);
    if (isTerminal(generation.status)) {
      throw new ProblemException('not_cancelable', 409, `generation ${id} has already ${generation.status}`);
    }
    if (generation.status === 'queued') {
      // With the cancel recorded, no worker can mark it running any more, so ending it here is safe.
      const canceled = await this.repository.markCanceled(id);
      await this.queue.remove(id).catch((error: unknown) => {
        this.logger.warn({ ...log, err: error }, 'removing the queued job failed; the worker will skip it');
      });
      if (canceled) {
        // Best effort: the cancel stands whether or not Redis takes the refund.
        await this.limits.refundUnrendered([canceled]).catch((error: unknown) => {
          this.logger.warn({ ...log, err: error }, 'could not give back the audio seconds');
        });
        await this.events.publish({ id, status: 'canceled', progress: canceled.progress });
        await this.notifier.generationFinished(canceled);
        this.logger.info(log, 'queued generation canceled');
        return this.view(canceled);
      }
    }
    await this.cancels.publish(id);
    this.logger.info(log, 'cancel broadcast to the workers');
    return this.view((await this.repository.findForTenant(tenant.id, id)) ?? generation);
  }

  /**
   * The presigned URL of a succeeded generation's audio; 409 while it has none. `download` asks
   * the store to send it as an attachment (`<id>.<format>`), so a browser saves it.
   */
  async audioUrl(tenant: AuthenticatedTenant, id: string, download = false): Promise<string> {
    const generation = await this.find(tenant, id);
    if (generation.status !== 'succeeded' || !generation.outputKey) {
      throw new ProblemException('audio_not_ready', 409, `generation ${id} is ${generation.status}; audio exists once it has succeeded`);
    }
    return this.store.presignedGetUrl(generation.outputKey, download ? { attachmentName: audioFileName(generation) } : {});
  }

  async view(generation: Generation): Promise<GenerationResource> {
    if (generation.status !== 'succeeded' || !generation.outputKey) return toGenerationResource(generation, undefined, this.catalog.model);
    const [url, downloadUrl] = await Promise.all([
      this.store.presignedGetUrl(generation.outputKey),
      this.store.presignedGetUrl(generation.outputKey, { attachmentName: audioFileName(generation) }),
    ]);
    return toGenerationResource(generation, { url, downloadUrl }, this.catalog.model);
  }
}

/** The name a downloaded file gets: `<generation id>.<format>`. */
const audioFileName = (generation: Generation) => `${generation.id}.${generation.outputFormat}`;
