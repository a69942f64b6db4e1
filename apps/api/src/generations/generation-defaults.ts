import { randomInt } from 'node:crypto';
import { LIMITS, type FieldError, type GenerationRequestBody } from '@chorus/contracts';
import type { NewGeneration } from '@chorus/db';
import type { AuthenticatedTenant } from '../auth/authenticated-tenant';
import type { ServedModel } from '../models/served-model';

export type ResolvedGeneration = Omit<NewGeneration, 'tenantId' | 'batchId'>;

/** A valid request with every default filled in from the model and the tenant, the seed included. */
export function resolveGeneration(request: GenerationRequestBody, model: ServedModel, tenant: AuthenticatedTenant): ResolvedGeneration {
  return {
    prompt: request.prompt,
    negativePrompt: request.negative_prompt ?? null,
    secondsStart: request.seconds_start ?? 0,
    secondsTotal: request.seconds_total ?? model.windowSeconds,
    steps: request.steps ?? model.defaults.steps,
    cfgScale: request.cfg_scale ?? model.defaults.cfgScale,
    sampler: request.sampler ?? model.defaults.sampler,
    // Chosen here, not by the worker, so the record says which seed reproduces the file.
    seed: request.seed ?? randomInt(0, LIMITS.seedMax + 1),
    outputFormat: request.output_format ?? 'wav',
    webhookUrl: request.webhook_url ?? null,
    priority: request.priority ?? tenant.defaultPriority,
  };
}

/** A request may lower its priority below the tenant's default (a larger number), never raise it. */
export function priorityError(requested: number | undefined, tenant: AuthenticatedTenant, field = 'priority'): FieldError | null {
  if (requested === undefined || requested >= tenant.defaultPriority) return null;
  return {
    field,
    message: `must be between ${tenant.defaultPriority} (this tenant's default) and ${LIMITS.priorityMax}: a request may lower its priority, not raise it`,
  };
}
