import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { CREDENTIAL_PARAMETER } from '../logging/logger-options';
import { ProblemException } from '../problem/problem.exception';
import { ApiKeyResolver, type AuthenticatedRequest } from './authenticated-tenant';

/** Everything under /v1 belongs to a tenant; probes, metrics, docs and the dashboard's files do not. */
export const TENANT_PATH_PREFIX = '/v1/';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Installed globally: a request under /v1 needs `Authorization: Bearer <api key>` naming a
 * tenant, and the tenant is attached to the request for the handlers.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly keys: ApiKeyResolver) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (!request.path.startsWith(TENANT_PATH_PREFIX)) return true;
    const header = request.headers.authorization;
    const match = header ? BEARER.exec(header) : null;
    if (!match) {
      const inUrl = Object.keys(request.query ?? {}).some((name) => CREDENTIAL_PARAMETER.test(name));
      throw new ProblemException(
        'unauthorized',
        401,
        inUrl
          ? 'an API key in the URL is refused (URLs are logged and cached): send the header Authorization: Bearer <api key>'
          : 'send the header Authorization: Bearer <api key>',
      );
    }
    const tenant = await this.keys.resolve(match[1]);
    if (!tenant) throw new ProblemException('unauthorized', 401, 'the API key is not valid');
    request.tenant = tenant;
    return true;
  }
}
