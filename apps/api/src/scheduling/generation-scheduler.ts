import { Injectable } from '@nestjs/common';
import type { Generation } from '@chorus/db';
import { FairShare, GenerationQueue, type Flow, type Lane } from '@chorus/queue';
import type { AuthenticatedTenant } from '../auth/authenticated-tenant';
import { ModelCatalog } from '../models/served-model';

/** The share of a default-steps generation's work that does not depend on its steps. */
const FIXED_COST_SHARE = 0.5;

/** What scheduling needs to know of a generation. */
export type ScheduledGeneration = Pick<Generation, 'id' | 'tenantId' | 'steps' | 'priority'>;

/**
 * Puts generations on the queue with fair-share priorities (libs/queue/src/fair-share.ts): each
 * tenant's interactive requests and batch items are flows sharing the workers fairly, weighted
 * by the tenant's default priority, and a request's own lower priority delays it within its flow.
 */
@Injectable()
export class GenerationScheduler {
  constructor(
    private readonly queue: GenerationQueue,
    private readonly fairShare: FairShare,
    private readonly catalog: ModelCatalog,
  ) {}

  async enqueue(tenant: AuthenticatedTenant, lane: Lane, generations: readonly ScheduledGeneration[]): Promise<void> {
    const jobs = generations.map((generation) => ({ cost: this.costOf(generation), priority: generation.priority }));
    await this.fairShare.schedule(this.flow(tenant, lane), jobs, (priorities, offset) =>
      this.queue.addBulk(
        priorities.map((priority, i) => {
          const generation = generations[offset + i];
          return { data: { generationId: generation.id, tenantId: generation.tenantId }, priority };
        }),
      ),
    );
  }

  /** Gives back the fair-share time of generations removed before they ran. */
  async forget(tenant: AuthenticatedTenant, lane: Lane, generations: readonly Pick<Generation, 'steps'>[]): Promise<void> {
    await this.fairShare.refund(
      this.flow(tenant, lane),
      generations.map((generation) => ({ cost: this.costOf(generation) })),
    );
  }

  private flow(tenant: AuthenticatedTenant, lane: Lane): Flow {
    return { tenantId: tenant.id, lane, tenantPriority: tenant.defaultPriority };
  }

  /**
   * Work in standard jobs (1 = the model's default steps). About half of a default job is fixed
   * whatever the steps (text encoding, decoding the full window, encoding, upload), half is the
   * sampler's steps; so a 1-step job still costs about half a standard one.
   */
  private costOf(generation: Pick<Generation, 'steps'>): number {
    return FIXED_COST_SHARE + (1 - FIXED_COST_SHARE) * (generation.steps / this.catalog.model.defaults.steps);
  }
}
