import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

/** The tenant whose API key signed the request. */
export interface AuthenticatedTenant {
  id: string;
  name: string;
  /** Priority given to its generations that ask for none. */
  defaultPriority: number;
  /** Its quotas (`tenants` columns); null or absent is unlimited. */
  limits?: TenantLimits;
  /** An operator's keys read farm-wide statistics; absent is false. */
  operator?: boolean;
}

export interface TenantLimits {
  requestsPerMinute: number | null;
  maxConcurrent: number | null;
  audioSecondsPerDay: number | null;
}

export type AuthenticatedRequest = Request & { tenant?: AuthenticatedTenant };

/** Resolves API keys to tenants; the database-backed one lives in the infrastructure module. */
export abstract class ApiKeyResolver {
  abstract resolve(apiKey: string): Promise<AuthenticatedTenant | null>;
}

/** Injects the authenticated tenant into a route handler: `@CurrentTenant() tenant`. */
export const CurrentTenant = createParamDecorator((_data: unknown, context: ExecutionContext): AuthenticatedTenant => {
  const tenant = context.switchToHttp().getRequest<AuthenticatedRequest>().tenant;
  if (!tenant) throw new Error('CurrentTenant used on a route the API key guard does not cover');
  return tenant;
});
