import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { IdempotencyKeyRepository } from '@chorus/db';
import type { Response } from 'express';
import { from, of, switchMap, tap, type Observable } from 'rxjs';
import type { AuthenticatedRequest } from '../auth/authenticated-tenant';
import { ProblemException } from '../problem/problem.exception';

/** How long a key remembers its response. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** How long a request waits for a concurrent one with the same key to answer. */
const WAIT_FOR_FIRST_MS = 15_000;
const POLL_MS = 50;

const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

type IdempotentRequest = AuthenticatedRequest & { file?: { buffer: Buffer } };

/**
 * `Idempotency-Key` on a POST that creates something. The first request with a key claims it
 * with a primary-key insert in Postgres and runs; its response (body, Location) is kept for 24
 * hours and replayed to any retry with the same key and the same request, with 200 and
 * `Idempotent-Replayed: true` where the original created something (201/202). The same key
 * with a different request answers 409. A retry arriving while the first is still running waits
 * for its answer, so two concurrent requests create one thing. A failed request (4xx/5xx) frees
 * its key.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(private readonly keys: IdempotencyKeyRepository) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<IdempotentRequest>();
    const response = http.getResponse<Response>();
    const key = request.header('idempotency-key');
    if (key === undefined || !request.tenant) return next.handle();
    if (!KEY_FORMAT.test(key)) {
      throw new ProblemException('validation_error', 400, 'header.idempotency-key must be 1 to 255 visible ASCII characters', [
        { field: 'header.idempotency-key', message: 'must be 1 to 255 visible ASCII characters' },
      ]);
    }
    const tenantId = request.tenant.id;
    const fingerprint = fingerprintOf(request);
    return from(this.claimOrReplay(tenantId, key, fingerprint, response)).pipe(
      switchMap((replay) => {
        if (replay !== undefined) return of(replay.body);
        let body: unknown;
        response.once('finish', () => {
          const done = response.statusCode < 400
            ? this.keys.complete(tenantId, key, { statusCode: response.statusCode, body: body ?? null, location: headerOf(response, 'location') })
            : this.keys.release(tenantId, key);
          done.catch(() => this.keys.release(tenantId, key).catch(() => undefined));
        });
        response.once('close', () => {
          // The client went away before the answer was sent: free the key for its retry.
          if (!response.writableFinished) void this.keys.release(tenantId, key).catch(() => undefined);
        });
        return next.handle().pipe(tap((value) => (body = value)));
      }),
    );
  }

  /** undefined: this request holds the key and runs. Otherwise the stored answer, already applied to the response. */
  private async claimOrReplay(tenantId: string, key: string, fingerprint: string, response: Response): Promise<{ body: unknown } | undefined> {
    const deadline = Date.now() + WAIT_FOR_FIRST_MS;
    for (;;) {
      if (await this.keys.claim(tenantId, key, fingerprint, IDEMPOTENCY_TTL_MS)) return undefined;
      const row = await this.keys.find(tenantId, key);
      if (row) {
        if (row.fingerprint !== fingerprint) {
          throw new ProblemException('idempotency_key_reused', 409, `Idempotency-Key ${key} was already used with a different request; use a new key`);
        }
        if (row.statusCode !== null) {
          // 200, not the original 201/202: this answer created nothing. The body is the original's.
          response.status(row.statusCode === 201 || row.statusCode === 202 ? 200 : row.statusCode).setHeader('Idempotent-Replayed', 'true');
          if (row.location) response.location(row.location);
          return { body: row.body };
        }
      }
      // Another request holds the key and has not answered yet (or just gave it up): wait.
      if (Date.now() > deadline) {
        throw new ProblemException('idempotency_key_in_use', 409, `a request with Idempotency-Key ${key} is still being processed; retry shortly`);
      }
      await sleep(POLL_MS);
    }
  }
}

/**
 * What makes two requests "the same": method, path with query, and body (JSON compared by value,
 * key order ignored; an uploaded file by its bytes, with the form's other fields).
 */
function fingerprintOf(request: IdempotentRequest): string {
  const hash = createHash('sha256').update(`${request.method} ${request.originalUrl}\n`);
  if (request.file) hash.update(request.file.buffer).update(JSON.stringify(canonical(request.body ?? null)));
  else if (typeof request.body === 'string' || Buffer.isBuffer(request.body)) hash.update(request.body);
  else hash.update(JSON.stringify(canonical(request.body ?? null)));
  return hash.digest('hex');
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical((value as Record<string, unknown>)[key])]));
  }
  return value;
}

function headerOf(response: Response, name: string): string | null {
  const value = response.getHeader(name);
  return typeof value === 'string' ? value : null;
}
