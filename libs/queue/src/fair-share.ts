import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * Fair sharing of one BullMQ queue across tenants, built on the open-source edition's job
 * priorities (BullMQ Pro's groups are not available).
 *
 * The scheme is start-time fair queuing (Goyal, Vin & Cheng, SIGCOMM 1996). Each *flow* — a
 * tenant's interactive lane or its batch lane — keeps a virtual finish time F. A job of cost c in
 * a flow of weight w gets the start tag S = max(V, F), and F becomes S + c/w. Jobs run in order
 * of S, which becomes the job's BullMQ priority. V, the system's virtual time, is read atomically
 * from the queue: just short of the tag of the job that runs next or, when nothing waits, the
 * latest tag issued. So a flow that was idle starts ahead of everything queued — one tenant's
 * 5,000 batch items delay another tenant's single request by no more than the jobs already
 * running — while a busy flow's later jobs fall behind in proportion to the work it has queued.
 * The interactive and batch lanes of a tenant are separate flows, so an interactive request
 * starts ahead of its own tenant's queued batch.
 *
 * Weights come from priority levels (1 most urgent … 10 least, like BullMQ and `nice`): a
 * tenant's default level sets the weight of its flows, batch lanes weigh a quarter of that, and
 * a request that lowers its own level is started as many of its flow's jobs later as levels it
 * dropped.
 *
 * Tags are assigned when a job is added and never change afterwards, which is what lets a plain
 * BullMQ priority carry them. Priorities count from an epoch base that moves up whenever the
 * queue is empty; a queue that never empties for long enough to exhaust BullMQ's range has its
 * latest jobs clamped to the last priority, where they run first-in first-out.
 */

export type Lane = 'interactive' | 'batch';

/** A tenant's lane, scheduled as one flow. */
export interface Flow {
  tenantId: string;
  lane: Lane;
  /** The tenant's default priority level, 1 (most urgent) … 10. */
  tenantPriority: number;
}

/** One job to place on the queue. */
export interface FairShareJob {
  /** Relative work, in standard jobs (1 = a job at the model's default steps). Defaults to 1. */
  cost?: number;
  /** The request's own level; it may only be the tenant's level or lower (a larger number). */
  priority?: number;
}

export const PRIORITY_LEVELS = { mostUrgent: 1, leastUrgent: 10 } as const;
/** BullMQ's priority range: 1 runs first; larger numbers would lose precision in its sorted-set scores. */
export const BULLMQ_MAX_PRIORITY = 2_097_151;
/** A batch item weighs this fraction of its tenant's interactive weight. */
export const BATCH_WEIGHT_FACTOR = 0.25;
/** BullMQ priority steps per unit of virtual time (one standard job at weight 1). */
const TICKS_PER_UNIT = 8;
/** How far below the first tag a fresh epoch starts, so "just ahead of the head" stays >= 1. */
const EPOCH_MARGIN_UNITS = 4;
/** Jobs per script call, so one huge batch does not block Redis for long. */
const MAX_JOBS_PER_CALL = 1000;
/** A reservation whose jobs were never confirmed added (a crashed caller) stops counting after this. */
const RESERVATION_TTL_SECONDS = 60;

/** The share a level earns when tenants compete: level 1 weighs 10, level 10 weighs 1. */
export function levelWeight(level: number): number {
  return PRIORITY_LEVELS.leastUrgent + 1 - clampLevel(level);
}

export function flowWeight(flow: Flow): number {
  const weight = levelWeight(flow.tenantPriority);
  return flow.lane === 'batch' ? weight * BATCH_WEIGHT_FACTOR : weight;
}

function clampLevel(level: number): number {
  if (!Number.isFinite(level)) return PRIORITY_LEVELS.leastUrgent;
  return Math.min(PRIORITY_LEVELS.leastUrgent, Math.max(PRIORITY_LEVELS.mostUrgent, Math.round(level)));
}

// KEYS: 1 state hash, 2 reservations hash, 3 BullMQ prioritized zset, 4 BullMQ wait list.
// ARGV: 1 flow field, 2 reservation id, 3 ticks per unit, 4 max priority, 5 epoch margin,
// 6 reservation ttl (s), then pairs (delay, advance) per job.
// State: v = virtual time, base = virtual time of BullMQ priority 1, last = latest tag issued,
// f:<flow> = the flow's virtual finish time. Reservations: id -> "<lowest tag>|<issued at>", the
// tags handed out whose jobs may not have reached BullMQ yet. Numbers keep 17 significant digits.
const ASSIGN_LUA = `
local ticks = tonumber(ARGV[3])
local maxPriority = tonumber(ARGV[4])
local margin = tonumber(ARGV[5])
local ttl = tonumber(ARGV[6])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local fields = redis.call('HMGET', KEYS[1], 'v', 'base', 'last', ARGV[1])
local v = tonumber(fields[1] or '0')
local base = tonumber(fields[2] or '0')
local last = tonumber(fields[3] or '0')
local f = tonumber(fields[4] or '0')

local inFlight = nil
local reservations = redis.call('HGETALL', KEYS[2])
for i = 1, #reservations, 2 do
  local value = reservations[i + 1]
  local sep = string.find(value, '|', 1, true)
  local tag = tonumber(string.sub(value, 1, sep - 1))
  if now - tonumber(string.sub(value, sep + 1)) > ttl then
    redis.call('HDEL', KEYS[2], reservations[i])
  elseif inFlight == nil or tag < inFlight then
    inFlight = tag
  end
end

local head = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
if #head > 0 then
  -- Time is just short of the job that runs next. BullMQ scores it priority * 2^32 + counter.
  local headPriority = math.floor(tonumber(head[2]) / 4294967296)
  if headPriority < maxPriority then
    local justAhead = base + (headPriority - 2) / ticks
    if justAhead > v then v = justAhead end
  end
else
  -- Nothing waits, so every job issued has started, except those still on their way to BullMQ.
  local reached = last
  if inFlight ~= nil and inFlight - 1 / ticks < reached then reached = inFlight - 1 / ticks end
  if reached > v then v = reached end
  -- An empty queue with nothing in flight is the one moment priorities can be renumbered
  -- without reordering anything.
  if inFlight == nil and redis.call('LLEN', KEYS[4]) == 0 then base = v - margin end
end

local out = {}
local lowest = nil
for i = 1, (#ARGV - 6) / 2 do
  local delay = tonumber(ARGV[5 + 2 * i])
  local advance = tonumber(ARGV[6 + 2 * i])
  local s = f
  if v > s then s = v end
  local tag = s + delay
  -- A flow that has caught up with virtual time (idle, or new) starts a tick ahead of work
  -- queued at that same time, rather than after it: the single request beats the batch's next row.
  if f <= v then tag = tag - 1 / ticks end
  f = s + advance
  if tag > last then last = tag end
  if lowest == nil or tag < lowest then lowest = tag end
  local p = 1 + math.floor((tag - base) * ticks)
  if p < 1 then p = 1 elseif p > maxPriority then p = maxPriority end
  out[i] = p
end

local fmt = '%.17g'
redis.call('HSET', KEYS[1], 'v', string.format(fmt, v), 'base', string.format(fmt, base),
  'last', string.format(fmt, last), ARGV[1], string.format(fmt, f))
if lowest ~= nil then
  redis.call('HSET', KEYS[2], ARGV[2], string.format(fmt, lowest) .. '|' .. string.format(fmt, now))
end
return out
`;

// KEYS: 1 state hash. ARGV: 1 flow field, 2 virtual time to give back.
const REFUND_LUA = `
local fields = redis.call('HMGET', KEYS[1], 'v', ARGV[1])
if not fields[2] then return 0 end
local v = tonumber(fields[1] or '0')
local f = tonumber(fields[2]) - tonumber(ARGV[2])
if f < v then f = v end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%.17g', f))
return 1
`;

type FairShareRedis = Redis & {
  chorusFairShareAssign(state: string, reservations: string, prioritized: string, wait: string, ...args: (string | number)[]): Promise<number[]>;
  chorusFairShareRefund(state: string, flow: string, amount: number): Promise<number>;
};

/** Assigns BullMQ priorities to a queue's jobs so that tenants share the workers fairly. */
export class FairShare {
  private readonly redis: FairShareRedis;
  private readonly stateKey: string;
  private readonly reservationsKey: string;

  /**
   * @param redis any connection to the queue's Redis (the scripts are defined on it once)
   * @param queue the queue whose jobs get the priorities; its keys are read atomically with the tags
   */
  constructor(redis: Redis, private readonly queue: Pick<Queue, 'keys' | 'toKey'>) {
    const client = redis as FairShareRedis;
    if (typeof client.chorusFairShareAssign !== 'function') {
      client.defineCommand('chorusFairShareAssign', { numberOfKeys: 4, lua: ASSIGN_LUA });
      client.defineCommand('chorusFairShareRefund', { numberOfKeys: 1, lua: REFUND_LUA });
    }
    this.redis = client;
    // Same prefix and queue name as BullMQ's keys, so a Redis Cluster hash tag covers them all.
    this.stateKey = queue.toKey('fair-share');
    this.reservationsKey = queue.toKey('fair-share:reservations');
  }

  /**
   * Gives one flow's jobs their BullMQ priorities and lets `add` put them on the queue, in chunks
   * of at most 1,000: `add(priorities, offset)` adds `jobs[offset … offset + priorities.length)`.
   * Until `add` returns, the tags count as in flight, so nobody else's clock runs past them.
   */
  async schedule<T>(
    flow: Flow,
    jobs: readonly FairShareJob[],
    add: (priorities: number[], offset: number) => Promise<T>,
  ): Promise<T[]> {
    const results: T[] = [];
    for (let offset = 0; offset < jobs.length; offset += MAX_JOBS_PER_CALL) {
      const reservation = randomUUID();
      try {
        const priorities = await this.assign(flow, jobs.slice(offset, offset + MAX_JOBS_PER_CALL), reservation);
        results.push(await add(priorities, offset));
      } finally {
        await this.redis.hdel(this.reservationsKey, reservation);
      }
    }
    return results;
  }

  /**
   * Gives a flow back the virtual time of jobs removed before they ran (a canceled batch), so the
   * tenant's next work is not queued behind work that will never happen.
   */
  async refund(flow: Flow, jobs: readonly FairShareJob[]): Promise<void> {
    const weight = flowWeight(flow);
    const amount = jobs.reduce((sum, job) => sum + jobCost(job) / weight, 0);
    if (amount > 0) await this.redis.chorusFairShareRefund(this.stateKey, flowField(flow), amount);
  }

  private async assign(flow: Flow, jobs: readonly FairShareJob[], reservation: string): Promise<number[]> {
    const weight = flowWeight(flow);
    const args: number[] = [];
    for (const job of jobs) {
      const advance = jobCost(job) / weight;
      // A request lowered by k levels starts k of its flow's jobs later, without being charged for them.
      const levelsLowered = Math.max(0, clampLevel(job.priority ?? flow.tenantPriority) - clampLevel(flow.tenantPriority));
      args.push(levelsLowered * advance, advance);
    }
    const priorities = await this.redis.chorusFairShareAssign(
      this.stateKey,
      this.reservationsKey,
      this.queue.keys.prioritized,
      this.queue.keys.wait,
      flowField(flow),
      reservation,
      TICKS_PER_UNIT,
      BULLMQ_MAX_PRIORITY,
      EPOCH_MARGIN_UNITS,
      RESERVATION_TTL_SECONDS,
      ...args,
    );
    return priorities.map(Number);
  }
}

function jobCost(job: FairShareJob): number {
  const cost = job.cost ?? 1;
  return Number.isFinite(cost) && cost > 0 ? cost : 1;
}

function flowField(flow: Flow): string {
  return `f:${flow.tenantId}:${flow.lane}`;
}
