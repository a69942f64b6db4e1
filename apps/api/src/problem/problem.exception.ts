import { HttpException } from '@nestjs/common';
import { problemType, type ErrorCode, type FieldError, type ProblemDocument } from '@chorus/contracts';

const TITLES: Record<ErrorCode, string> = {
  validation_error: 'Your request is not valid',
  invalid_json: 'The request body is not valid JSON',
  unsupported_media_type: 'The request body must be application/json',
  unauthorized: 'A valid API key is required',
  not_found: 'Not found',
  payload_too_large: 'The request body is too large',
  headers_too_large: "The request's headers are too large",
  request_timeout: 'The request took too long to arrive',
  not_cancelable: 'The generation can no longer be canceled',
  audio_not_ready: 'The generation has no audio',
  rate_limited: 'Too many requests',
  quota_exceeded: 'Quota exceeded',
  idempotency_key_reused: 'The Idempotency-Key was used with a different request',
  idempotency_key_in_use: 'A request with this Idempotency-Key is still in progress',
  service_unavailable: 'The service is briefly unavailable',
  internal_error: 'Internal server error',
};

/** An error the API answers on purpose, as a problem document with the given status. */
export class ProblemException extends HttpException {
  constructor(
    readonly code: ErrorCode,
    status: number,
    detail?: string,
    readonly errors?: FieldError[],
    /** Response headers that belong to the problem, e.g. Retry-After on a 429. */
    readonly headers?: Record<string, string>,
  ) {
    super(detail ?? TITLES[code], status);
  }

  toProblem(instance?: string): ProblemDocument {
    return problemDocument(this.code, this.getStatus(), this.detail, this.errors, instance);
  }

  get detail(): string | undefined {
    return this.message === TITLES[this.code] ? undefined : this.message;
  }
}

export function problemDocument(
  code: ErrorCode,
  status: number,
  detail?: string,
  errors?: FieldError[],
  instance?: string,
): ProblemDocument {
  return {
    type: problemType(code),
    title: TITLES[code],
    status,
    ...(detail ? { detail } : {}),
    code,
    ...(errors ? { errors } : {}),
    ...(instance ? { instance } : {}),
  };
}

export const validationProblem = (errors: FieldError[]) =>
  new ProblemException('validation_error', 400, errors.map((e) => `${e.field} ${e.message}`).join('; '), errors);

export const notFound = (what: string) => new ProblemException('not_found', 404, `${what} was not found`);
