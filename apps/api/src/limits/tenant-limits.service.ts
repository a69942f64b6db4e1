import { Inject, Injectable } from '@nestjs/common';
import { GenerationRepository, type Generation } from '@chorus/db';
import { AudioSecondsQuota } from '@chorus/queue';
import type { AuthenticatedTenant, TenantLimits } from '../auth/authenticated-tenant';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { ProblemException } from '../problem/problem.exception';
import { msUntilNextUtcDay, TenantLimitCounters, type SlotReservation } from './tenant-limit-counters';

/** What a submission asks of the tenant's quotas. */
export interface SubmissionCost {
  /** Interactive generations it opens (counted against max_concurrent). Batch items are not. */
  openGenerations: number;
  /** Seconds of audio it asks for (counted against audio_seconds_per_day). */
  audioSeconds: number;
}

/** A submission let in: bind it to the generations it created, or cancel it when creating failed. */
export interface Admission {
  bind(generations: readonly Pick<Generation, 'id' | 'secondsTotal'>[]): Promise<void>;
  cancel(): Promise<void>;
}

/** Retry-After for the concurrency limit: generations take seconds, so try again in a few. */
const CONCURRENCY_RETRY_MS = 2_000;

/**
 * The tenant's limits (columns of `tenants`, changed with `chorus tenants limits`; null is
 * unlimited): requests per window, open interactive generations, and audio seconds per UTC day.
 * A refusal is a 429 problem with Retry-After.
 */
@Injectable()
export class TenantLimitsService {
  constructor(
    private readonly counters: TenantLimitCounters,
    private readonly audioSeconds: AudioSecondsQuota,
    private readonly generations: GenerationRepository,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  async checkRequest(tenant: AuthenticatedTenant): Promise<void> {
    const limit = tenant.limits?.requestsPerMinute;
    if (limit == null) return;
    const windowMs = this.config.RATE_LIMIT_WINDOW_MS;
    const verdict = await this.counters.takeRequest(tenant.id, limit, windowMs);
    if (!verdict.allowed) {
      throw tooManyRequests('rate_limited', `at most ${limit} requests per ${windowMs / 1000} s for this tenant`, verdict.retryAfterMs);
    }
  }

  async admit(tenant: AuthenticatedTenant, cost: SubmissionCost): Promise<Admission> {
    const limits: Partial<TenantLimits> = tenant.limits ?? {};
    let reservation: SlotReservation | null = null;
    if (limits.maxConcurrent != null && cost.openGenerations > 0) {
      reservation = await this.reserveSlots(tenant.id, limits.maxConcurrent, cost.openGenerations);
      if (!reservation) {
        throw tooManyRequests(
          'rate_limited',
          `at most ${limits.maxConcurrent} generations may be queued or running at once for this tenant`,
          CONCURRENCY_RETRY_MS,
        );
      }
    }
    const chargedAt = new Date();
    const charged = limits.audioSecondsPerDay != null && cost.audioSeconds > 0;
    if (charged) {
      if (!(await this.audioSeconds.charge(tenant.id, cost.audioSeconds, limits.audioSecondsPerDay!, chargedAt))) {
        if (reservation) await this.counters.releaseReservation(tenant.id, reservation);
        throw tooManyRequests(
          'quota_exceeded',
          `this request asks for ${round(cost.audioSeconds)} s of audio; the daily quota of ${limits.audioSecondsPerDay} s (UTC day) would be exceeded`,
          msUntilNextUtcDay(chargedAt),
        );
      }
    }
    const held = reservation;
    return {
      bind: async (generations) => {
        // Batch rows hold no slots (cost.openGenerations is 0 for them).
        if (held) await this.counters.bindSlots(tenant.id, held, generations.map((generation) => generation.id));
        if (charged) await this.audioSeconds.recordCharges(tenant.id, chargedAt, generations);
      },
      cancel: async () => {
        if (held) await this.counters.releaseReservation(tenant.id, held);
        if (charged) await this.audioSeconds.refund(tenant.id, cost.audioSeconds, chargedAt);
      },
    };
  }

  /** Gives back the audio seconds of generations that ended without audio (AudioSecondsQuota.refundUnrendered). */
  async refundUnrendered(generations: readonly Pick<Generation, 'id' | 'tenantId' | 'status'>[]): Promise<void> {
    await this.audioSeconds.refundUnrendered(generations);
  }

  /**
   * Redis counts the generations it let in; Postgres knows which have ended. When the count says
   * full, the ended ones are dropped from it and the reservation is tried once more.
   */
  private async reserveSlots(tenantId: string, limit: number, slots: number): Promise<SlotReservation | null> {
    const first = await this.counters.reserveSlots(tenantId, limit, slots);
    if (first) return first;
    const counted = await this.counters.openGenerations(tenantId);
    const stillOpen = new Set(await this.generations.stillOpen(counted));
    await this.counters.closeGenerations(tenantId, counted.filter((id) => !stillOpen.has(id)));
    return this.counters.reserveSlots(tenantId, limit, slots);
  }
}

export function tooManyRequests(code: 'rate_limited' | 'quota_exceeded', detail: string, retryAfterMs: number): ProblemException {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new ProblemException(code, 429, `${detail}; retry in ${seconds} s`, undefined, { 'Retry-After': String(seconds) });
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
