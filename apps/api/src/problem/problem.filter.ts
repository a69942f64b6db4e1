import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import { PROBLEM_CONTENT_TYPE, type ErrorCode, type ProblemDocument } from '@chorus/contracts';
import { isDatabaseUnavailable } from '@chorus/db';
import type { Request, Response } from 'express';
import { PinoLogger } from 'nestjs-pino';
import { redactUrl } from '../logging/logger-options';
import { INVALID_UTF8 } from '../validation/utf8';
import { ProblemException, problemDocument } from './problem.exception';

/** Seconds a client should wait before retrying while the database is out of reach. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

const CODE_BY_STATUS: Partial<Record<number, ErrorCode>> = {
  400: 'validation_error',
  401: 'unauthorized',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/**
 * Every error leaves as `application/problem+json`. A database out of reach is a 503 with
 * Retry-After. Errors we did not mean to raise become a 500 whose body says nothing about the
 * cause; the cause goes to the log.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(private readonly logger: PinoLogger) {
    logger.setContext(ProblemFilter.name);
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const problem = this.toProblem(exception, request);
    if (response.headersSent) {
      // An SSE stream or a redirect already started; all we can do is end it.
      response.end();
      return;
    }
    if (problem.status === 401) response.setHeader('WWW-Authenticate', 'Bearer realm="chorus"');
    if (exception instanceof ProblemException && exception.headers) response.set(exception.headers);
    if (problem.status === 503) response.setHeader('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    response.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
  }

  private toProblem(exception: unknown, request: Request): ProblemDocument {
    if (exception instanceof ProblemException) return exception.toProblem();
    const bodyParserProblem = fromBodyParser(exception);
    if (bodyParserProblem) return bodyParserProblem;
    if (exception instanceof HttpException && exception.getStatus() < 500) {
      // Nest's own 4xx, e.g. 404 for a route that does not exist.
      const status = exception.getStatus();
      const code = CODE_BY_STATUS[status] ?? 'validation_error';
      return { ...problemDocument(code, status, exception.message), title: titleOf(exception) };
    }
    if (isDatabaseUnavailable(exception)) {
      // An outage of the moment, not a bug: the client retries, the pool reconnects by itself.
      this.logger.warn({ err: exception, method: request.method, url: redactUrl(request.originalUrl) }, 'database unavailable; answering 503');
      return problemDocument('service_unavailable', HttpStatus.SERVICE_UNAVAILABLE, 'the database is not reachable right now; retry shortly');
    }
    this.logger.error({ err: exception, method: request.method, url: redactUrl(request.originalUrl) }, 'unhandled error');
    return problemDocument('internal_error', HttpStatus.INTERNAL_SERVER_ERROR);
  }
}

/** body-parser marks its errors with `type` and `status`; map the ones a client causes, in our words. */
export function fromBodyParser(exception: unknown): ProblemDocument | undefined {
  // Nest's own exceptions carry a `status` too; they are not the body parser's.
  if (typeof exception !== 'object' || exception === null || exception instanceof HttpException) return undefined;
  const { type, statusCode, limit, charset, encoding } = exception as {
    type?: unknown;
    statusCode?: unknown;
    limit?: unknown;
    charset?: unknown;
    encoding?: unknown;
  };
  if (type === 'entity.too.large') {
    return problemDocument('payload_too_large', 413, `the body may be at most ${limit} bytes`);
  }
  if (type === INVALID_UTF8) {
    return problemDocument('validation_error', 400, 'the body is not valid UTF-8', [
      { field: 'body', message: 'must be UTF-8 text: it holds bytes that are not valid UTF-8 (text is stored as given, never repaired)' },
    ]);
  }
  if (type === 'entity.parse.failed') {
    return problemDocument('invalid_json', 400, 'the body could not be parsed as JSON');
  }
  if (type === 'charset.unsupported') {
    return problemDocument('unsupported_media_type', 415, `the body's charset must be utf-8, not ${String(charset)}`);
  }
  if (type === 'encoding.unsupported') {
    return problemDocument('unsupported_media_type', 415, `Content-Encoding must be identity, gzip, deflate or br, not ${String(encoding)}`);
  }
  if (type === 'request.aborted') {
    return problemDocument('validation_error', 400, 'the request was aborted before its whole body arrived');
  }
  if (type === 'request.size.invalid') {
    return problemDocument('validation_error', 400, 'the body is not as long as its Content-Length says');
  }
  // http-errors (body-parser's) sets statusCode beside status.
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    // A compressed body that does not decompress (zlib's error carries no `type`), or a type added later.
    return problemDocument('validation_error', 400, 'the body could not be read: send it whole, uncompressed or as valid gzip, deflate or br');
  }
  return undefined;
}

function titleOf(exception: HttpException): string {
  const body = exception.getResponse();
  if (typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'string') return body.error;
  return exception.message;
}
