import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Tenant } from './generated/client';
import { isUniqueViolation } from './prisma-errors';
import { PRISMA } from './tokens';
import type { PrismaClient } from './prisma-client';

export type { Tenant };

/** What an API key looks like: `chorus_` then 32 random bytes in base64url. */
export const API_KEY_PREFIX = 'chorus_';
const KEY_PREFIX_DISPLAY_LENGTH = API_KEY_PREFIX.length + 6;

export interface NewTenant {
  name: string;
  defaultPriority?: number;
  requestsPerMinute?: number | null;
  maxConcurrent?: number | null;
  audioSecondsPerDay?: number | null;
  /** Its keys read farm-wide statistics. */
  operator?: boolean;
}

export interface CreatedApiKey {
  id: string;
  /** The key itself: shown to the user once, never stored. */
  key: string;
  prefix: string;
}

/** A tenant with that name exists already. */
export class TenantExistsError extends Error {
  constructor(readonly tenantName: string) {
    super(`a tenant named "${tenantName}" already exists`);
    this.name = 'TenantExistsError';
  }
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Tenants and their API keys. Keys are stored only as sha256 hashes. */
@Injectable()
export class TenantRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /** Creates a tenant with its first API key (and a webhook signing secret). */
  async create(input: NewTenant): Promise<{ tenant: Tenant; apiKey: CreatedApiKey }> {
    return this.prisma
      .$transaction(async (tx) => {
      const tenant = await tx.tenant.create({
        data: {
          name: input.name,
          defaultPriority: input.defaultPriority,
          requestsPerMinute: input.requestsPerMinute,
          maxConcurrent: input.maxConcurrent,
          audioSecondsPerDay: input.audioSecondsPerDay,
          operator: input.operator,
          webhookSecret: randomBytes(32).toString('base64url'),
        },
      });
      const key = newApiKey();
      const row = await tx.apiKey.create({ data: { tenantId: tenant.id, keyHash: hashApiKey(key), prefix: displayPrefix(key) } });
      return { tenant, apiKey: { id: row.id, key, prefix: row.prefix } };
      })
      .catch((error: unknown) => {
        if (isUniqueViolation(error)) throw new TenantExistsError(input.name);
        throw error;
      });
  }

  async createApiKey(tenantId: string): Promise<CreatedApiKey> {
    const key = newApiKey();
    const row = await this.prisma.apiKey.create({ data: { tenantId, keyHash: hashApiKey(key), prefix: displayPrefix(key) } });
    return { id: row.id, key, prefix: row.prefix };
  }

  /** Stops a key from authenticating. Returns false when the tenant has no such live key. */
  async revokeApiKey(tenantId: string, apiKeyId: string): Promise<boolean> {
    const { count } = await this.prisma.apiKey.updateMany({
      where: { id: apiKeyId, tenantId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    return count === 1;
  }

  /** The tenant owning a live (not revoked) key, or null. */
  async findByApiKey(key: string): Promise<Tenant | null> {
    if (!key.startsWith(API_KEY_PREFIX)) return null;
    const hash = hashApiKey(key);
    const row = await this.prisma.apiKey.findUnique({ where: { keyHash: hash }, include: { tenant: true } });
    if (!row || row.revokedAt) return null;
    // The index lookup already matched; compare again in constant time so that no code path
    // decides on a secret with an early-exit string comparison.
    if (!timingSafeEqual(Buffer.from(row.keyHash, 'hex'), Buffer.from(hash, 'hex'))) return null;
    return row.tenant;
  }

  /**
   * Changes a tenant's quotas: a number sets one, null removes it (unlimited), an absent field
   * keeps it. Returns the tenant as it now is, or null when there is no such tenant.
   */
  async setLimits(id: string, limits: Partial<Pick<Tenant, 'requestsPerMinute' | 'maxConcurrent' | 'audioSecondsPerDay' | 'defaultPriority'>>): Promise<Tenant | null> {
    const { count } = await this.prisma.tenant.updateMany({ where: { id }, data: limits });
    return count === 1 ? this.findById(id) : null;
  }

  findById(id: string): Promise<Tenant | null> {
    return this.prisma.tenant.findUnique({ where: { id } });
  }

  findByName(name: string): Promise<Tenant | null> {
    return this.prisma.tenant.findUnique({ where: { name } });
  }
}

function newApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

function displayPrefix(key: string): string {
  return key.slice(0, KEY_PREFIX_DISPLAY_LENGTH);
}
