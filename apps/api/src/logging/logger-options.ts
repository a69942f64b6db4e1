import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { DestinationStream } from 'pino';
import type { Params } from 'nestjs-pino';
import type { AuthenticatedRequest } from '../auth/authenticated-tenant';

/**
 * JSON request logs. Headers are never logged (they carry the API key); request lines carry
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
          req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
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
