import { ConfigError, DEFAULT_DATABASE_URL, LIMITS, parseEnv } from '@chorus/contracts';
import { TenantExistsError, TenantRepository, createPrismaClient } from '@chorus/db';
import { Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';

const envSchema = z.object({ DATABASE_URL: z.string().url().default(DEFAULT_DATABASE_URL) });

const TENANT_NAME = /^[\w][\w .@-]{0,99}$/;

/** `chorus tenants create NAME [--operator] [--json]`: a tenant and its first API key, straight in Postgres. */
export function register(program: Command): void {
  const tenants = program.command('tenants').description('manage the tenants of a farm (talks to Postgres: DATABASE_URL)');

  tenants
    .command('create')
    .description('create a tenant and print its new API key (shown once, stored only as a hash)')
    .argument('<name>', 'unique tenant name: letters, digits, space, _ . @ -, at most 100 characters', parseTenantName)
    .option('--priority <level>', `default priority of its generations, ${LIMITS.priorityMin} (most urgent) to ${LIMITS.priorityMax}`, parsePriority)
    .option('--operator', "an operator's keys read farm-wide statistics (GET /v1/stats, the dashboard's Farm view)")
    .option('--json', 'print {"tenant_id", "api_key"} as JSON')
    .action(async (name: string, options: { priority?: number; operator?: boolean; json?: boolean }) => {
      let databaseUrl: string;
      try {
        databaseUrl = parseEnv(envSchema).DATABASE_URL;
      } catch (error) {
        if (error instanceof ConfigError) program.error(`chorus: ${error.message}`, { exitCode: 1 });
        throw error;
      }
      const prisma = createPrismaClient(databaseUrl, { maxConnections: 1 });
      try {
        const { tenant, apiKey } = await new TenantRepository(prisma).create({ name, defaultPriority: options.priority, operator: options.operator });
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ tenant_id: tenant.id, api_key: apiKey.key })}\n`);
        } else {
          process.stdout.write(
            `created ${tenant.operator ? 'operator ' : ''}tenant "${tenant.name}" (${tenant.id})\n` +
              `API key, shown only this once; keep it secret:\n${apiKey.key}\n`,
          );
        }
      } catch (error) {
        if (error instanceof TenantExistsError) program.error(`chorus: ${error.message}`, { exitCode: 1 });
        throw error;
      } finally {
        await prisma.$disconnect();
      }
    });
}

function parseTenantName(value: string): string {
  if (!TENANT_NAME.test(value)) {
    throw new InvalidArgumentError('must start with a letter, digit or _ and use only letters, digits, space, _ . @ - (at most 100 characters)');
  }
  return value;
}

function parsePriority(value: string): number {
  const level = Number(value);
  if (!/^\d+$/.test(value) || level < LIMITS.priorityMin || level > LIMITS.priorityMax) {
    throw new InvalidArgumentError(`must be an integer from ${LIMITS.priorityMin} to ${LIMITS.priorityMax}`);
  }
  return level;
}
