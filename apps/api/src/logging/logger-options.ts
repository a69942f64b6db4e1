import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { DestinationStream } from 'pino';
import type { Params } from 'nestjs-pino';
import type { AuthenticatedRequest } from '../auth/authenticated-tenant';

/** Query parameter names that carry a secret (`api_key`, `access_token`, `X-Amz-Signature`, `password`, …). */
export const CREDENTIAL_PARAMETER = /key|token|secret|passw|pwd|auth|signature|credential|session|cookie|bearer/i;

/**
 * The URL as logged: the value of every query parameter whose name looks like a credential is
 * replaced, so a key sent as `?api_key=…` (which the API refuses) never reaches the logs.
 */
export function redactUrl(url: string): string {
  const query = url.indexOf('?');
  if (query === -1) return url;
  const parameters = url
    .slice(query + 1)
    .split('&')
    .map((parameter) => {
      const equals = parameter.indexOf('=');
      const rawName = equals === -1 ? parameter : parameter.slice(0, equals);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // A malformed escape: judge the name as sent.
      }
      return CREDENTIAL_PARAMETER.test(name) && equals !== -1 ? `${rawName}=[redacted]` : parameter;
    });
  return `${url.slice(0, query)}?${parameters.join('&')}`;
}

/**
 * JSON request logs. Headers are never logged (they carry the API key), nor the values of query
 * parameters named like credentials (`redactUrl`); request lines carry
 * the tenant once the key guard has identified it.
 */
export function loggerParams(level: string, destination?: DestinationStream): Params {
  return {
    pinoHttp: [
      {
        level,
        genReqId: (req: IncomingMessage) => {
          const given = req.headers['x-request-id'];
          return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
        },
        serializers: {
          req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: redactUrl(req.url) }),
          res: (res: { statusCode: number }) => ({ status: res.statusCode }),
        },
        // Belt and braces: should a serializer ever pass headers through, the key still stays out.
        redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'], censor: '[redacted]' },
        customProps: (req: IncomingMessage) => {
          const tenant = (req as AuthenticatedRequest).tenant;
          return tenant ? { tenant_id: tenant.id } : {};
        },
        autoLogging: { ignore: (req: IncomingMessage) => /^\/(health|metrics)(\/|$)/.test(req.url ?? '') },
      },
      destination ?? (process.stdout as unknown as DestinationStream),
    ],
  };
}
