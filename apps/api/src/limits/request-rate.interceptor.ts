import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { from, switchMap, type Observable } from 'rxjs';
import type { AuthenticatedRequest } from '../auth/authenticated-tenant';
import { TenantLimitsService } from './tenant-limits.service';

/** Counts every authenticated request against its tenant's requests-per-window limit. */
@Injectable()
export class RequestRateInterceptor implements NestInterceptor {
  constructor(private readonly limits: TenantLimitsService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const tenant = context.switchToHttp().getRequest<AuthenticatedRequest>().tenant;
    if (!tenant) return next.handle();
    return from(this.limits.checkRequest(tenant)).pipe(switchMap(() => next.handle()));
  }
}
