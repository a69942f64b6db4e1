import { DEFAULT_DATABASE_URL, LIMITS, parseEnv } from '@chorus/contracts';
import { TenantRepository, createPrismaClient, isUuid, type Tenant } from '@chorus/db';
import { Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';

const envSchema = z.object({ DATABASE_URL: z.string().url().default(DEFAULT_DATABASE_URL) });

/** A limit option: a number, or NONE to remove the limit. */
type LimitValue = number | typeof NONE;
// commander turns a parser's null into '', so "no limit" travels as this marker.
const NONE = 'none';

interface LimitOptions {
  rpm?: LimitValue;
  concurrent?: LimitValue;
  audioSecondsPerDay?: LimitValue;
  priority?: number;
  json?: boolean;
}

/**
 * `chorus tenants limits TENANT [--rpm N] [--concurrent N] [--audio-seconds-per-day S] [--priority L]`:
 * shows, and with options changes, a tenant's quotas ("none" removes one). The API reads them with
 * each request's key, so a change holds from the next request on. Registered under `tenants`.
 */
export function register(program: Command): void {
  const tenants = program.commands.find((command) => command.name() === 'tenants') ?? program.command('tenants');
  tenants
    .command('limits')
    .description("show or change a tenant's quotas and default priority (talks to Postgres: DATABASE_URL)")
    .argument('<tenant>', 'tenant name or id')
    .option('--rpm <n>', 'requests per minute, or "none"', limit('--rpm', true))
    .option('--concurrent <n>', 'generations queued or running at once (batch items excepted), or "none"', limit('--concurrent', true))
    .option('--audio-seconds-per-day <s>', 'seconds of audio asked for per UTC day, or "none"', limit('--audio-seconds-per-day', false))
    .option('--priority <level>', `default priority, ${LIMITS.priorityMin} (most urgent) to ${LIMITS.priorityMax}`, priorityLevel)
    .option('--json', 'print the limits as JSON')
    .action(async (name: string, options: LimitOptions) => {
      const { DATABASE_URL } = parseEnv(envSchema);
      const prisma = createPrismaClient(DATABASE_URL, { maxConnections: 1 });
      try {
        const repository = new TenantRepository(prisma);
        const tenant = (isUuid(name) ? await repository.findById(name) : null) ?? (await repository.findByName(name));
        if (!tenant) program.error(`chorus: no tenant named or with id "${name}"`, { exitCode: 1 });
        const changes = {
          ...(options.rpm !== undefined ? { requestsPerMinute: orNull(options.rpm) } : {}),
          ...(options.concurrent !== undefined ? { maxConcurrent: orNull(options.concurrent) } : {}),
          ...(options.audioSecondsPerDay !== undefined ? { audioSecondsPerDay: orNull(options.audioSecondsPerDay) } : {}),
          ...(options.priority !== undefined ? { defaultPriority: options.priority } : {}),
        };
        const updated = Object.keys(changes).length ? await repository.setLimits(tenant!.id, changes) : tenant;
        process.stdout.write(options.json ? `${JSON.stringify(limitsJson(updated!))}\n` : describe(updated!));
      } finally {
        await prisma.$disconnect();
      }
    });
}

function limitsJson(tenant: Tenant) {
  return {
    tenant_id: tenant.id,
    name: tenant.name,
    default_priority: tenant.defaultPriority,
    requests_per_minute: tenant.requestsPerMinute,
    max_concurrent: tenant.maxConcurrent,
    audio_seconds_per_day: tenant.audioSecondsPerDay,
  };
}

function describe(tenant: Tenant): string {
  const show = (value: number | null, unit: string) => (value === null ? 'unlimited' : `${value} ${unit}`);
  return (
    `tenant "${tenant.name}" (${tenant.id})\n` +
    `  default priority       ${tenant.defaultPriority}\n` +
    `  requests per minute    ${show(tenant.requestsPerMinute, '')}\n` +
    `  concurrent generations ${show(tenant.maxConcurrent, '')}\n` +
    `  audio seconds per day  ${show(tenant.audioSecondsPerDay, 's')}\n`
  );
}

function orNull(value: LimitValue): number | null {
  return value === NONE ? null : value;
}

function limit(flag: string, integer: boolean) {
  return (value: string): LimitValue => {
    if (value === 'none' || value === 'unlimited') return NONE;
    const number = Number(value);
    const valid = integer ? /^\d+$/.test(value) && number >= 1 && number <= 1_000_000_000 : Number.isFinite(number) && number > 0;
    if (!valid) throw new InvalidArgumentError(`${flag} must be ${integer ? 'a whole number from 1' : 'a number above 0'}, or "none"`);
    return number;
  };
}

function priorityLevel(value: string): number {
  const level = Number(value);
  if (!/^\d+$/.test(value) || level < LIMITS.priorityMin || level > LIMITS.priorityMax) {
    throw new InvalidArgumentError(`must be an integer from ${LIMITS.priorityMin} to ${LIMITS.priorityMax}`);
  }
  return level;
}
