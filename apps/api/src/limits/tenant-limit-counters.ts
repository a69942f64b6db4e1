import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

// Sliding-window log of one tenant's requests. KEYS: 1 log zset. ARGV: 1 limit, 2 now ms, 3 window ms, 4 member.
// Returns {1, 0} when the request is let in (and logged), {0, ms until the oldest logged request leaves the window}.
const TAKE_REQUEST_LUA = `
local limit = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, math.max(1, tonumber(oldest[2]) + window - now)}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}
`;

// Open-generation slots. KEYS: 1 open generations zset, 2 reservations zset.
// ARGV: 1 limit, 2 now ms, 3 reservation ttl ms, 4 reservation token, 5 slots wanted.
// Returns {1, open} when the slots are reserved, {0, open} when they would exceed the limit.
const RESERVE_SLOTS_LUA = `
local limit = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local wanted = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local reserved = 0
-- Members are "<token>|<slots>".
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  reserved = reserved + tonumber(string.match(member, '|(%d+)$'))
end
local open = redis.call('ZCARD', KEYS[1]) + reserved
if open + wanted > limit then return {0, open} end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[4] .. '|' .. wanted)
return {1, open + wanted}
`;

type CountersRedis = Redis & {
  chorusTakeRequest(log: string, limit: number, now: number, windowMs: number, member: string): Promise<[number, number]>;
  chorusReserveSlots(open: string, reservations: string, limit: number, now: number, ttlMs: number, token: string, wanted: number): Promise<[number, number]>;
};

export interface Verdict {
  allowed: boolean;
  /** How long until asking again can succeed; 0 when allowed. */
  retryAfterMs: number;
}

/** A reservation of open-generation slots, to be bound to the generations it created or given back. */
export interface SlotReservation {
  token: string;
  slots: number;
}

/** How long a reservation holds slots if its request dies before binding them. */
const RESERVATION_TTL_MS = 60_000;

/**
 * Per-tenant limit counters in Redis. Every check-and-count is one Lua script, so API instances
 * sharing the Redis never let two requests through on the same last unit of a limit. Audio
 * seconds are counted by AudioSecondsQuota (libs/queue), which the workers refund as well.
 */
export class TenantLimitCounters {
  private readonly redis: CountersRedis;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    const client = redis as CountersRedis;
    if (typeof client.chorusTakeRequest !== 'function') {
      client.defineCommand('chorusTakeRequest', { numberOfKeys: 1, lua: TAKE_REQUEST_LUA });
      client.defineCommand('chorusReserveSlots', { numberOfKeys: 2, lua: RESERVE_SLOTS_LUA });
    }
    this.redis = client;
  }

  async takeRequest(tenantId: string, limit: number, windowMs: number): Promise<Verdict> {
    const [allowed, retryAfterMs] = await this.redis.chorusTakeRequest(this.key(tenantId, 'requests'), limit, Date.now(), windowMs, randomUUID());
    return { allowed: allowed === 1, retryAfterMs: Number(retryAfterMs) };
  }

  /** Reserves `slots` open generations under `limit`; null when that would exceed it. */
  async reserveSlots(tenantId: string, limit: number, slots: number): Promise<SlotReservation | null> {
    const token = randomUUID();
    const [allowed] = await this.redis.chorusReserveSlots(this.key(tenantId, 'open'), this.key(tenantId, 'reserved'), limit, Date.now(), RESERVATION_TTL_MS, token, slots);
    return allowed === 1 ? { token, slots } : null;
  }

  /** The reservation becomes the generations it created. */
  async bindSlots(tenantId: string, reservation: SlotReservation, generationIds: string[]): Promise<void> {
    const now = Date.now();
    const multi = this.redis.multi().zrem(this.key(tenantId, 'reserved'), `${reservation.token}|${reservation.slots}`);
    if (generationIds.length) multi.zadd(this.key(tenantId, 'open'), ...generationIds.flatMap((id) => [now, id]));
    await multi.exec();
  }

  async releaseReservation(tenantId: string, reservation: SlotReservation): Promise<void> {
    await this.redis.zrem(this.key(tenantId, 'reserved'), `${reservation.token}|${reservation.slots}`);
  }

  openGenerations(tenantId: string): Promise<string[]> {
    return this.redis.zrange(this.key(tenantId, 'open'), '0', '-1');
  }

  async closeGenerations(tenantId: string, generationIds: string[]): Promise<void> {
    if (generationIds.length) await this.redis.zrem(this.key(tenantId, 'open'), ...generationIds);
  }

  private key(tenantId: string, ...parts: string[]): string {
    // The hash tag keeps a tenant's keys on one Redis Cluster slot.
    return [this.prefix, 'limits', `{${tenantId}}`, ...parts].join(':');
  }
}

export function msUntilNextUtcDay(now: Date): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return next - now.getTime();
}
