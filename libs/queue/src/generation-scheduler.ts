import { FairShare, type Flow, type Lane } from './fair-share';
import { GenerationQueue } from './generation-queue';

/** The share of a default-steps generation's work that does not depend on its steps. */
const FIXED_COST_SHARE = 0.5;

/** What scheduling needs to know of a tenant: whose flows, and their weight. */
export interface SchedulingTenant {
  id: string;
  /** Its default priority level, 1 (most urgent) … 10: the weight of its flows. */
  defaultPriority: number;
}

/** What scheduling needs to know of a generation. */
export interface ScheduledGeneration {
  id: string;
  tenantId: string;
  steps: number;
  /** The request's own level; it orders the generation within its flow. */
  priority: number;
}

/** Batch rows run on their tenant's batch lane, everything else on its interactive lane. */
export function laneOf(generation: { batchId: string | null }): Lane {
  return generation.batchId === null ? 'interactive' : 'batch';
}

/**
 * Puts generations on the queue with fair-share priorities (fair-share.ts): each tenant's
 * interactive requests and batch items are flows sharing the workers fairly, weighted by the
 * tenant's default priority, and a request's own lower priority delays it within its flow. The
 * API submits through it and the workers' reconciler re-adds lost jobs through it, so a job gets
 * the same priority whichever of them queues it.
 */
export class GenerationScheduler {
  /** @param defaultSteps the served model's default steps: the work of one standard job */
  constructor(
    private readonly queue: GenerationQueue,
    private readonly fairShare: FairShare,
    private readonly defaultSteps: number,
  ) {}

  async enqueue(tenant: SchedulingTenant, lane: Lane, generations: readonly ScheduledGeneration[]): Promise<void> {
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
  async forget(tenant: SchedulingTenant, lane: Lane, generations: readonly Pick<ScheduledGeneration, 'steps'>[]): Promise<void> {
    await this.fairShare.refund(
      this.flow(tenant, lane),
      generations.map((generation) => ({ cost: this.costOf(generation) })),
    );
  }

  private flow(tenant: SchedulingTenant, lane: Lane): Flow {
    return { tenantId: tenant.id, lane, tenantPriority: tenant.defaultPriority };
  }

  /**
   * Work in standard jobs (1 = the model's default steps). About half of a default job is fixed
   * whatever the steps (text encoding, decoding the full window, encoding, upload), half is the
   * sampler's steps; so a 1-step job still costs about half a standard one.
   */
  private costOf(generation: Pick<ScheduledGeneration, 'steps'>): number {
    return FIXED_COST_SHARE + (1 - FIXED_COST_SHARE) * (generation.steps / this.defaultSteps);
  }
}
