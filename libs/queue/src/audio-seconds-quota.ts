import type { Redis } from 'ioredis';
import { createRedis, prefixedKey, type QueueConnection } from './connection';

// Audio seconds asked for today. KEYS: 1 day counter. ARGV: 1 limit, 2 seconds wanted, 3 ttl s.
// Returns {1, used} when charged, {0, used} when it would exceed the limit. Floats travel as strings.
const CHARGE_LUA = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local wanted = tonumber(ARGV[2])
if used + wanted > tonumber(ARGV[1]) then return {0, tostring(used)} end
local total = redis.call('INCRBYFLOAT', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return {1, tostring(total)}
`;

// Gives back what one generation was charged, once. KEYS: 1 its charge ("<day>|<seconds>").
// ARGV: 1 the day counters' key without the day. Returns the seconds given back ('0' for none).
// The day counter is named from the charge; the tenant's hash tag keeps both on one cluster slot.
const REFUND_GENERATION_LUA = `
local charge = redis.call('GET', KEYS[1])
if not charge then return '0' end
redis.call('DEL', KEYS[1])
local sep = string.find(charge, '|', 1, true)
local day = ARGV[1] .. string.sub(charge, 1, sep - 1)
local seconds = string.sub(charge, sep + 1)
-- A day counter that has expired has nothing left to give back to.
if redis.call('EXISTS', day) == 0 then return '0' end
redis.call('INCRBYFLOAT', day, '-' .. seconds)
return seconds
`;

type QuotaRedis = Redis & {
  chorusChargeAudio(day: string, limit: number, seconds: number, ttlSeconds: number): Promise<[number, string]>;
  chorusRefundGenerationAudio(charge: string, dayPrefix: string): Promise<string>;
};

type QuotaPipeline = ReturnType<Redis['pipeline']> & {
  chorusRefundGenerationAudio(charge: string, dayPrefix: string): QuotaPipeline;
};

/** A day counter outlives its day, so late refunds and clock skew between API instances still find it. */
const DAY_TTL_SECONDS = 2 * 24 * 3600;

/**
 * A tenant's audio seconds per UTC day (`audio_seconds_per_day`), counted in Redis. The API charges
 * a submission when it accepts it and records what each generation it created was charged; a
 * generation that then ends without audio (canceled, failed for good) gives its seconds back to
 * the day it was charged to, once, whoever ends it: the API or a worker.
 */
export class AudioSecondsQuota {
  private redis?: QuotaRedis;

  constructor(private readonly connection: QueueConnection) {}

  /** Charges `seconds` to the UTC day of `now`; false when the day's total would pass `limit`. */
  async charge(tenantId: string, seconds: number, limit: number, now: Date): Promise<boolean> {
    const [allowed] = await this.client().chorusChargeAudio(this.dayKey(tenantId, utcDay(now)), limit, seconds, DAY_TTL_SECONDS);
    return allowed === 1;
  }

  /** Gives back seconds charged at `chargedAt` for a submission that then created nothing. */
  async refund(tenantId: string, seconds: number, chargedAt: Date): Promise<void> {
    await this.client().incrbyfloat(this.dayKey(tenantId, utcDay(chargedAt)), String(-seconds));
  }

  /** Records what each generation of a charge made at `chargedAt` cost, so each can be given back on its own. */
  async recordCharges(tenantId: string, chargedAt: Date, generations: readonly { id: string; secondsTotal: number }[]): Promise<void> {
    if (generations.length === 0) return;
    const day = utcDay(chargedAt);
    const pipeline = this.client().pipeline();
    for (const generation of generations) {
      pipeline.set(this.chargeKey(tenantId, generation.id), `${day}|${generation.secondsTotal}`, 'EX', DAY_TTL_SECONDS);
    }
    await pipeline.exec();
  }

  /**
   * Generations that ended without audio (canceled, or failed for good) give back what they were
   * charged, to the day they were charged to; succeeded ones keep it. Only the first call for a
   * generation gives anything back, so a cancel racing a failure refunds once. Returns the seconds
   * given back: nothing for a generation never charged (no quota) or already refunded.
   */
  async refundUnrendered(generations: readonly { id: string; tenantId: string; status: string }[]): Promise<number> {
    const unrendered = generations.filter((generation) => generation.status === 'canceled' || generation.status === 'failed');
    if (unrendered.length === 0) return 0;
    const pipeline = this.client().pipeline() as unknown as QuotaPipeline;
    for (const { id, tenantId } of unrendered) pipeline.chorusRefundGenerationAudio(this.chargeKey(tenantId, id), this.dayKey(tenantId, ''));
    const results = (await pipeline.exec()) ?? [];
    let refunded = 0;
    for (const [error, seconds] of results) {
      if (error) throw error;
      refunded += Number(seconds);
    }
    return refunded;
  }

  /** Seconds charged to a UTC day so far. */
  async used(tenantId: string, day: Date): Promise<number> {
    return Number((await this.client().get(this.dayKey(tenantId, utcDay(day)))) ?? 0);
  }

  async close(): Promise<void> {
    await this.redis?.quit();
    this.redis = undefined;
  }

  private client(): QuotaRedis {
    if (!this.redis) {
      const redis = createRedis(this.connection) as QuotaRedis;
      redis.defineCommand('chorusChargeAudio', { numberOfKeys: 1, lua: CHARGE_LUA });
      redis.defineCommand('chorusRefundGenerationAudio', { numberOfKeys: 1, lua: REFUND_GENERATION_LUA });
      this.redis = redis;
    }
    return this.redis;
  }

  // The hash tag keeps a tenant's keys on one Redis Cluster slot (the same layout as the API's other limit counters).
  private dayKey(tenantId: string, day: string): string {
    return prefixedKey(this.connection, 'limits', `{${tenantId}}`, `audio-seconds:${day}`);
  }

  private chargeKey(tenantId: string, generationId: string): string {
    return prefixedKey(this.connection, 'limits', `{${tenantId}}`, 'audio-charge', generationId);
  }
}

function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}
